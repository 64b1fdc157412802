/**
 * A FAKE of the GitHub REST API's issue-comment endpoints, for the staging workflow's comment
 * script. It is not GitHub: it keeps the comments of one repository in memory and answers with
 * the documented shapes of (docs.github.com/en/rest/issues/comments)
 *   GET   /repos/{owner}/{repo}/issues/{issue_number}/comments   (200 list, oldest first;
 *         `per_page` at most 100, `page` from 1, a `Link` header with rel="next" while more remain)
 *   POST  /repos/{owner}/{repo}/issues/{issue_number}/comments   (201 the new comment)
 *   PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}     (200 the updated comment)
 * A comment carries `id`, `body`, `user: {login, type}` and `created_at`/`updated_at`. Requests
 * with the configured token act as `github-actions[bot]` (type "Bot"), as the GITHUB_TOKEN of a
 * workflow run does; any other token gets 401 "Bad credentials". Another repository, or an
 * unknown comment, gets 404 "Not Found"; a body that is not a string, 422 "Validation Failed".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  issue_number: number;
  body: string;
  user: { login: string; type: 'User' | 'Bot' };
  created_at: string;
  updated_at: string;
}

export interface FakeCommentsApi {
  url: string;
  comments: FakeComment[];
  /** Every request as `METHOD path?query`. */
  requests: string[];
  /** Adds a comment as someone else (for example a person, or another app). */
  add(issue: number, body: string, user: FakeComment['user']): FakeComment;
  close(): Promise<void>;
}

/** Starts the fake for repository `owner/repo`, accepting `token` as github-actions[bot]. */
export async function startFakeCommentsApi(
  owner: string,
  repo: string,
  token: string,
): Promise<FakeCommentsApi> {
  const comments: FakeComment[] = [];
  const requests: string[] = [];
  let nextId = 5000;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = () => new Date((clock += 1000)).toISOString();
  const add = (issue: number, body: string, user: FakeComment['user']): FakeComment => {
    const at = now();
    const c = { id: nextId++, issue_number: issue, body, user, created_at: at, updated_at: at };
    comments.push(c);
    return c;
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  let base = '';
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    requests.push(`${req.method} ${req.url}`);
    const auth = req.headers.authorization;
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) {
      return send(res, 401, { message: 'Bad credentials' });
    }
    const url = new URL(req.url ?? '/', base);
    const m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(?:(\d+)\/comments|comments\/(\d+))$/.exec(
      url.pathname,
    );
    if (!m || m[1] !== owner || m[2] !== repo) return send(res, 404, { message: 'Not Found' });
    const body = raw ? (JSON.parse(raw) as { body?: unknown }) : {};
    if (m[3] && req.method === 'GET') {
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = comments.filter((c) => c.issue_number === Number(m[3]));
      const items = all.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < all.length) {
        const next = new URL(url);
        next.searchParams.set('page', String(page + 1));
        next.searchParams.set('per_page', String(perPage));
        headers.link = `<${next.href}>; rel="next"`;
      }
      return send(res, 200, items, headers);
    }
    if (typeof body.body !== 'string') {
      return send(res, 422, { message: 'Validation Failed' });
    }
    const bot = { login: 'github-actions[bot]', type: 'Bot' as const };
    if (m[3] && req.method === 'POST') return send(res, 201, add(Number(m[3]), body.body, bot));
    const c = comments.find((x) => x.id === Number(m[4]));
    if (!m[4] || req.method !== 'PATCH' || !c) return send(res, 404, { message: 'Not Found' });
    // A token with write access may edit anyone's comment, so the fake allows it too: the
    // script alone must keep its hands off comments that are not its own.
    c.body = body.body;
    c.updated_at = now();
    return send(res, 200, c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    comments,
    requests,
    add,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A FAKE of the GitHub REST API's deployments endpoints, for tests. It is not GitHub: it keeps
 * deployments in memory and answers with the documented shapes of
 *   POST /repos/{owner}/{repo}/deployments                       (201 Deployment)
 *   POST /repos/{owner}/{repo}/deployments/{id}/statuses         (201 Deployment status)
 *   GET  /repos/{owner}/{repo}/deployments/{id}/statuses         (200 list, newest first)
 * per docs.github.com/en/rest/deployments/deployments and /rest/deployments/statuses:
 * 401 "Bad credentials" for a wrong token, 404 "Not Found" for another repository or an unknown
 * deployment, 422 "Validation Failed" for an unknown state or a description over 140 characters,
 * 409 "Conflict: Commit status checks failed" when `required_contexts` is omitted (the API then
 * checks statuses; this fake's commits have failing ones) and 202 with a message when auto-merge
 * is requested (`auto_merge` defaults to true).
 *
 * Also, for the release workflow's preflight and approval:
 *   GET /repos/{owner}/{repo}/environments/{environment_name}      (200 Environment, 404)
 *   GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals       (200 list of reviews)
 * per docs.github.com/en/rest/deployments/environments#get-an-environment (`protection_rules`:
 * `required_reviewers` with `reviewers: [{type, reviewer}]`, `wait_timer` with minutes,
 * `branch_policy`; `can_admins_bypass`) and /rest/actions/workflow-runs#get-the-review-history-
 * for-a-workflow-run (`state` approved or rejected, `environments`, `user`, `comment`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDeployment {
  id: number;
  ref: string;
  environment: string;
  description: string | null;
  payload: unknown;
  production_environment: boolean;
  transient_environment: boolean;
  statuses: {
    id: number;
    state: string;
    log_url: string;
    environment_url: string;
    description: string;
  }[];
}

/** An environment as the fake serves it (the documented response fields it uses). */
export interface FakeEnvironment {
  protection_rules: Record<string, unknown>[];
  can_admins_bypass?: boolean;
}

/** One review of a run's environments. */
export interface FakeApproval {
  state: 'approved' | 'rejected';
  environments: string[];
  user: string;
  comment?: string;
}

export interface FakeGitHub {
  url: string;
  deployments: FakeDeployment[];
  /** Environments by name; others answer 404. */
  environments: Record<string, FakeEnvironment>;
  /** Reviews by run id. */
  approvals: Record<number, FakeApproval[]>;
  close(): Promise<void>;
}

const STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];

/** Starts the fake for repository `owner/repo`, accepting `token`. */
export async function startFakeGitHub(
  owner: string,
  repo: string,
  token: string,
): Promise<FakeGitHub> {
  const deployments: FakeDeployment[] = [];
  const environments: Record<string, FakeEnvironment> = {};
  const approvals: Record<number, FakeApproval[]> = {};
  let nextId = 1000;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (
      req.headers.authorization !== `token ${token}` &&
      req.headers.authorization !== `Bearer ${token}`
    ) {
      return send(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const env = /^\/repos\/([^/]+)\/([^/]+)\/environments\/([^/]+)$/.exec(path);
    if (env && req.method === 'GET') {
      const e =
        env[1] === owner && env[2] === repo ? environments[decodeURIComponent(env[3])] : undefined;
      if (!e)
        return send(res, 404, {
          message: 'Not Found',
          documentation_url:
            'https://docs.github.com/rest/deployments/environments#get-an-environment',
        });
      let id = 1;
      return send(res, 200, {
        id: 161088068,
        name: decodeURIComponent(env[3]),
        url: `https://api.github.com/repos/${owner}/${repo}/environments/${env[3]}`,
        can_admins_bypass: e.can_admins_bypass ?? true,
        protection_rules: e.protection_rules.map((r) => ({
          id: id++,
          node_id: `MDQ6R2F0ZTM3${id}`,
          ...r,
        })),
        deployment_branch_policy: null,
      });
    }
    const runApprovals = /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/approvals$/.exec(path);
    if (runApprovals && req.method === 'GET') {
      if (runApprovals[1] !== owner || runApprovals[2] !== repo)
        return send(res, 404, { message: 'Not Found' });
      return send(
        res,
        200,
        [...(approvals[Number(runApprovals[3])] ?? [])].reverse().map((a) => ({
          state: a.state,
          comment: a.comment ?? '',
          environments: a.environments.map((name, i) => ({ id: i + 1, name })),
          user: { login: a.user, id: 1, type: 'User' },
        })),
      );
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)\/deployments(?:\/(\d+)\/statuses)?$/.exec(path);
    if (!m || m[1] !== owner || m[2] !== repo) return send(res, 404, { message: 'Not Found' });
    const body = raw ? JSON.parse(raw) : {};
    if (!m[3] && req.method === 'POST') {
      if (body.auto_merge !== false) {
        return send(res, 202, { message: 'Auto-merged main into topic branch.' });
      }
      if (!Array.isArray(body.required_contexts)) {
        return send(res, 409, { message: 'Conflict: Commit status checks failed for main.' });
      }
      const d: FakeDeployment = {
        id: nextId++,
        ref: body.ref,
        environment: body.environment ?? 'production',
        description: body.description ?? null,
        payload: body.payload ?? {},
        production_environment: body.production_environment ?? body.environment === 'production',
        transient_environment: body.transient_environment ?? false,
        statuses: [],
      };
      deployments.push(d);
      return send(res, 201, {
        id: d.id,
        ref: d.ref,
        environment: d.environment,
        payload: d.payload,
      });
    }
    const d = deployments.find((x) => x.id === Number(m[3]));
    if (!d) return send(res, 404, { message: 'Not Found' });
    if (req.method === 'GET') return send(res, 200, [...d.statuses].reverse());
    if (!STATES.includes(body.state) || (body.description ?? '').length > 140) {
      return send(res, 422, {
        message: 'Validation Failed',
        errors: [{ resource: 'DeploymentStatus', code: 'invalid' }],
      });
    }
    const s = {
      id: nextId++,
      state: body.state,
      log_url: body.log_url ?? '',
      environment_url: body.environment_url ?? '',
      description: body.description ?? '',
    };
    d.statuses.push(s);
    return send(res, 201, s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deployments,
    environments,
    approvals,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

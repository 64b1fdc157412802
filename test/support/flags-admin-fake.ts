/**
 * FAKE of a home-grown feature-flag admin API, the kind the Paket 7 deploy plan's
 * `scripts/deploy/flag-toggle.sh enable|disable|status FLAG --tenant ID` calls with
 * `VIDEO_KIT_ADMIN_TOKEN` and `TARGET_ENV` (seed 000_11c1372215f0a6bc). Not a real server.
 *
 * It follows the request shapes documented as the `http` backend's defaults in
 * `src/flags/backends/http.ts`, and standard HTTP semantics: bearer authentication (RFC 6750:
 * 401 with `WWW-Authenticate: Bearer`), `ETag`/`If-Match` preconditions (RFC 9110 sections 8.8.3
 * and 13.1.1: 412 when the tag does not match), 429 with `Retry-After` (RFC 6585 section 4).
 *
 *   GET /v1/admin/flags/{flag}?env=E                  → 200 {flag, env, global, tenants} + ETag
 *   PUT /v1/admin/flags/{flag}?env=E                  {enabled, comment} → 200 + new ETag
 *   PUT /v1/admin/flags/{flag}/tenants/{tenant}?env=E {enabled, comment} → 200 + new ETag
 *   PUT /v1/admin/flags/{flag}/rollout?env=E          {percentage, comment} → 200 + new ETag
 *                                                     (400 unless 0 ≤ percentage ≤ 100)
 *
 * The read carries `percentage` (the rollout, 0–100) unless the fake is started with
 * `{percentage: false}` (an admin API without rollouts).
 *
 * Faults for tests: `failNext(status, times, headers)`, `ignoreWrites`, `locked` (409),
 * `failWritesAfter(n, status)` (the write after `n` successful ones fails: a half-applied change).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FlagRecord {
  global: boolean;
  tenants: Set<string>;
  percentage: number;
  version: number;
}

/** One request the fake received (headers lower-cased). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface AdminFake {
  url: string;
  token: string;
  requests: RecordedRequest[];
  /** Creates a flag in environment `env`. */
  createFlag(flag: string, env: string, state?: { global?: boolean; tenants?: string[] }): void;
  state(
    flag: string,
    env: string,
  ): { global: boolean; tenants: string[]; percentage: number } | undefined;
  /** After `n` more successful writes, the next write answers `status` (once). */
  failWritesAfter(n: number, status?: number): void;
  /** The next `times` requests answer `status` with `headers`. */
  /** The next `times` requests (only non-GET ones when `writesOnly`) answer `status`. */
  failNext(
    status: number,
    times?: number,
    headers?: Record<string, string>,
    writesOnly?: boolean,
  ): void;
  /** Writes answer 200 but change nothing (a broken server). */
  ignoreWrites: boolean;
  /** Writes answer 409 (the flag is locked by a change freeze). */
  locked: boolean;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** Starts the fake on 127.0.0.1 (any free port). */
export async function startAdminFake(
  token = 'vk-admin-7f3c9e2a1b',
  features: { percentage?: boolean } = {},
): Promise<AdminFake> {
  const withPercentage = features.percentage ?? true;
  let writeFault: { after: number; status: number } | undefined;
  const flags = new Map<string, FlagRecord>();
  const faults: { status: number; headers: Record<string, string>; writesOnly: boolean }[] = [];
  const requests: RecordedRequest[] = [];
  const fake = {} as AdminFake;
  const send = (
    res: import('node:http').ServerResponse,
    status: number,
    payload: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(payload === undefined ? '' : JSON.stringify(payload));
  };
  const server: Server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    const b = await body(req);
    requests.push({
      method: req.method ?? '',
      path: `${u.pathname}${u.search}`,
      headers: req.headers,
      body: b,
    });
    const fault =
      faults[0] && (!faults[0].writesOnly || req.method !== 'GET') ? faults.shift() : undefined;
    if (fault)
      return send(res, fault.status, { message: `injected ${fault.status}` }, fault.headers);
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(
        res,
        401,
        { message: 'invalid admin token' },
        { 'WWW-Authenticate': 'Bearer realm="admin"' },
      );
    }
    const env = u.searchParams.get('env');
    if (!env) return send(res, 400, { message: 'env query parameter is required' });
    const m = /^\/v1\/admin\/flags\/([^/]+)(?:\/tenants\/([^/]+)|\/(rollout))?$/.exec(u.pathname);
    if (!m || (m[3] && !withPercentage)) return send(res, 404, { message: 'no such route' });
    const flag = decodeURIComponent(m[1]);
    const tenant = m[2] ? decodeURIComponent(m[2]) : undefined;
    const rollout = m[3] === 'rollout';
    const view = (r: FlagRecord) => ({
      flag,
      env,
      global: r.global,
      tenants: [...r.tenants].sort(),
      ...(withPercentage ? { percentage: r.percentage } : {}),
    });
    const rec = flags.get(`${env}/${flag}`);
    if (!rec) return send(res, 404, { message: `flag ${flag} does not exist in ${env}` });
    const etag = `"v${rec.version}"`;
    if (req.method === 'GET' && !tenant && !rollout)
      return send(res, 200, view(rec), { ETag: etag });
    if (req.method !== 'PUT') return send(res, 405, { message: 'method not allowed' });
    if (fake.locked)
      return send(res, 409, { message: `flag ${flag} is locked by a change freeze` });
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== etag)
      return send(res, 412, { message: 'precondition failed: flag changed' });
    if (writeFault) {
      if (writeFault.after-- <= 0) {
        const st = writeFault.status;
        writeFault = undefined;
        return send(res, st, { message: `internal error applying the change` });
      }
    }
    const pct = (b as { percentage?: unknown })?.percentage;
    if (rollout) {
      if (typeof pct !== 'number' || pct < 0 || pct > 100)
        return send(res, 400, { message: 'percentage must be a number from 0 to 100' });
      if (!fake.ignoreWrites) {
        rec.percentage = pct;
        rec.version++;
      }
      return send(res, 200, view(rec), { ETag: `"v${rec.version}"` });
    }
    const enabled = (b as { enabled?: unknown })?.enabled;
    if (typeof enabled !== 'boolean')
      return send(res, 400, { message: 'enabled must be a boolean' });
    if (!fake.ignoreWrites) {
      if (tenant) {
        if (enabled) rec.tenants.add(tenant);
        else rec.tenants.delete(tenant);
      } else rec.global = enabled;
      rec.version++;
    }
    return send(res, 200, view(rec), { ETag: `"v${rec.version}"` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    ignoreWrites: false,
    locked: false,
    createFlag(flag: string, env: string, s: { global?: boolean; tenants?: string[] } = {}) {
      flags.set(`${env}/${flag}`, {
        global: s.global ?? false,
        tenants: new Set(s.tenants ?? []),
        percentage: 0,
        version: 1,
      });
    },
    state(flag: string, env: string) {
      const r = flags.get(`${env}/${flag}`);
      return r
        ? { global: r.global, tenants: [...r.tenants].sort(), percentage: r.percentage }
        : undefined;
    },
    failWritesAfter(n: number, status = 422) {
      writeFault = { after: n, status };
    },
    failNext(status: number, times = 1, headers: Record<string, string> = {}, writesOnly = false) {
      for (let i = 0; i < times; i++) faults.push({ status, headers, writesOnly });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
  return fake;
}

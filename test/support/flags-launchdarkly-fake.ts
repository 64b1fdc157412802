/**
 * FAKE of the LaunchDarkly REST API v2 feature-flag endpoints, for tests only. Not LaunchDarkly.
 *
 * Follows the documented shapes:
 * - "Get feature flag": `GET /api/v2/flags/{projectKey}/{featureFlagKey}?env=...` returns the
 *   flag with `variations[{_id, value}]` and `environments.{key}.{on, fallthrough{variation},
 *   offVariation, targets, contextTargets, rules, _version}`
 *   (https://launchdarkly.com/docs/api/feature-flags/get-feature-flag).
 * - "Update feature flag" with a semantic patch: `PATCH /api/v2/flags/{projectKey}/{flagKey}`,
 *   `Content-Type: application/json; domain-model=launchdarkly.semanticpatch`, body
 *   `{environmentKey, comment, instructions[]}`; instructions `turnFlagOn`, `turnFlagOff`,
 *   `addTargets`/`removeTargets` (`contextKind`, `values`, `variationId`),
 *   `updateFallthroughVariationOrRollout` (`variationId`, or `rolloutWeights` {variationId:
 *   weight in thousandths of a percent, adding up to 100000} and `rolloutBucketBy`) and
 *   `updateOffVariation` (`variationId`); all
 *   instructions apply or none; without the domain-model the body is read as a JSON patch and
 *   rejected with 400 (https://launchdarkly.com/docs/api/feature-flags/patch-feature-flag and
 *   https://launchdarkly.com/docs/api, "Updates using semantic patch").
 * - Authentication: the access token is the whole `Authorization` header value; errors are
 *   `{code, message}` with 401 `unauthorized`, 404 `not_found`, 409 `conflict`, 429
 *   `rate_limited` with `X-Ratelimit-Reset` in epoch milliseconds
 *   (https://launchdarkly.com/docs/api, "Authentication", "Errors", "Rate limiting").
 * Individual targets of context kind `user` live in `targets`, other kinds in `contextTargets`.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

interface Target {
  values: string[];
  variation: number;
  contextKind?: string;
}
export interface FakeLdEnvironment {
  on: boolean;
  fallthrough: { variation?: number; rollout?: unknown };
  offVariation: number;
  targets: Target[];
  contextTargets: Target[];
  rules: { _id: string; clauses: unknown[]; variation?: number }[];
  _version: number;
}
export interface FakeLdFlag {
  key: string;
  kind: 'boolean';
  variations: { _id: string; value: boolean }[];
  environments: Record<string, FakeLdEnvironment>;
}

/** A semantic patch the fake accepted. */
export interface RecordedPatch {
  contentType: string;
  body: { environmentKey?: string; comment?: string; instructions: Record<string, unknown>[] };
}

export interface LaunchDarklyFake {
  url: string;
  token: string;
  patches: RecordedPatch[];
  /** Every request line (`GET /api/v2/...`) and its Authorization header. */
  requests: { line: string; authorization?: string }[];
  /** Creates a boolean flag, off in every environment, fallthrough and off variation `false`. */
  createFlag(project: string, key: string, environments: string[]): FakeLdFlag;
  flag(project: string, key: string): FakeLdFlag | undefined;
  /** The next `times` requests (only non-GET ones when `writesOnly`) answer `status`. */
  failNext(
    status: number,
    times?: number,
    headers?: Record<string, string>,
    writesOnly?: boolean,
  ): void;
  ignoreWrites: boolean;
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1. */
export async function startLaunchDarklyFake(
  token = 'api-3c1d9a7e-ld-token',
): Promise<LaunchDarklyFake> {
  const flags = new Map<string, FakeLdFlag>();
  const faults: { status: number; headers: Record<string, string>; writesOnly: boolean }[] = [];
  const fake = {
    patches: [] as RecordedPatch[],
    requests: [] as { line: string; authorization?: string }[],
  } as LaunchDarklyFake;
  const send = (
    res: ServerResponse,
    status: number,
    payload: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(payload));
  };
  const error = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) => send(res, status, { code, message, id: randomUUID() }, headers);

  const apply = (
    flag: FakeLdFlag,
    env: FakeLdEnvironment,
    ins: Record<string, unknown>,
  ): string | undefined => {
    const idx = (id: unknown) => flag.variations.findIndex((v) => v._id === id);
    switch (ins.kind) {
      case 'turnFlagOn':
        env.on = true;
        return;
      case 'turnFlagOff':
        env.on = false;
        return;
      case 'updateFallthroughVariationOrRollout': {
        if (ins.rolloutWeights && typeof ins.rolloutWeights === 'object') {
          const weights = Object.entries(ins.rolloutWeights as Record<string, number>);
          if (weights.some(([id]) => idx(id) < 0)) return 'unknown variationId in rolloutWeights';
          if (weights.reduce((sum, [, w]) => sum + w, 0) !== 100000)
            return 'rolloutWeights must add up to 100000';
          env.fallthrough = {
            rollout: {
              variations: weights.map(([id, weight]) => ({ variation: idx(id), weight })),
              ...(typeof ins.rolloutBucketBy === 'string' ? { bucketBy: ins.rolloutBucketBy } : {}),
            },
          };
          return;
        }
        const i = idx(ins.variationId);
        if (i < 0) return `unknown variationId ${String(ins.variationId)}`;
        env.fallthrough = { variation: i };
        return;
      }
      case 'updateOffVariation': {
        const i = idx(ins.variationId);
        if (i < 0) return `unknown variationId ${String(ins.variationId)}`;
        env.offVariation = i;
        return;
      }
      case 'addTargets':
      case 'removeTargets': {
        const i = idx(ins.variationId);
        const kind = ins.contextKind as string | undefined;
        const values = ins.values as unknown;
        if (i < 0) return `unknown variationId ${String(ins.variationId)}`;
        if (!kind) return 'contextKind is required';
        if (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))
          return 'values must be an array of strings';
        const list = kind === 'user' ? env.targets : env.contextTargets;
        let entry = list.find(
          (t) => t.variation === i && (kind === 'user' || t.contextKind === kind),
        );
        if (ins.kind === 'addTargets') {
          for (const other of list) {
            if (other !== entry && (kind === 'user' || other.contextKind === kind)) {
              other.values = other.values.filter((v) => !values.includes(v));
            }
          }
          if (!entry)
            list.push(
              (entry = {
                values: [],
                variation: i,
                ...(kind === 'user' ? {} : { contextKind: kind }),
              }),
            );
          entry.values = [...new Set([...entry.values, ...(values as string[])])];
        } else if (entry) {
          entry.values = entry.values.filter((v) => !values.includes(v));
        }
        return;
      }
      default:
        return `unknown instruction kind '${String(ins.kind)}'`;
    }
  };

  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const u = new URL(req.url ?? '/', 'http://fake');
    fake.requests.push({
      line: `${req.method} ${u.pathname}${u.search}`,
      authorization: req.headers.authorization,
    });
    const fault =
      faults[0] && (!faults[0].writesOnly || req.method !== 'GET') ? faults.shift() : undefined;
    if (fault)
      return error(
        res,
        fault.status,
        fault.status === 429 ? 'rate_limited' : 'conflict',
        `injected ${fault.status}`,
        fault.headers,
      );
    if (req.headers.authorization !== token)
      return error(res, 401, 'unauthorized', 'Invalid access token');
    const m = /^\/api\/v2\/flags\/([^/]+)\/([^/]+)$/.exec(u.pathname);
    if (!m) return error(res, 404, 'not_found', 'Invalid resource identifier');
    const [project, key] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    const flag = flags.get(`${project}/${key}`);
    if (!flag) return error(res, 404, 'not_found', 'Unknown feature flag');
    if (req.method === 'GET') {
      const env = u.searchParams.get('env');
      const environments = env
        ? Object.fromEntries(Object.entries(flag.environments).filter(([k]) => k === env))
        : flag.environments;
      return send(res, 200, { ...flag, environments });
    }
    if (req.method !== 'PATCH') return error(res, 405, 'method_not_allowed', 'Method not allowed');
    const contentType = req.headers['content-type'] ?? '';
    if (!/domain-model=launchdarkly\.semanticpatch/.test(contentType)) {
      return error(
        res,
        400,
        'invalid_request',
        'Invalid JSON patch: expected an array of operations',
      );
    }
    let body: RecordedPatch['body'];
    try {
      body = JSON.parse(text);
    } catch {
      return error(res, 400, 'invalid_request', 'Request body is not valid JSON');
    }
    if (!Array.isArray(body.instructions) || body.instructions.length === 0) {
      return error(res, 400, 'invalid_request', 'instructions are required');
    }
    const envKey = body.environmentKey;
    if (!envKey || !flag.environments[envKey])
      return error(res, 400, 'invalid_request', 'environmentKey is required and must exist');
    const copy: FakeLdEnvironment = structuredClone(flag.environments[envKey]);
    for (const ins of body.instructions) {
      const problem = apply(flag, copy, ins);
      if (problem) return error(res, 400, 'invalid_request', problem);
    }
    fake.patches.push({ contentType, body });
    if (!fake.ignoreWrites) {
      copy._version++;
      flag.environments[envKey] = copy;
    }
    return send(res, 200, flag);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    ignoreWrites: false,
    createFlag(project: string, key: string, environments: string[]) {
      const f: FakeLdFlag = {
        key,
        kind: 'boolean',
        variations: [
          { _id: randomUUID(), value: true },
          { _id: randomUUID(), value: false },
        ],
        environments: Object.fromEntries(
          environments.map((e) => [
            e,
            {
              on: false,
              fallthrough: { variation: 1 },
              offVariation: 1,
              targets: [],
              contextTargets: [],
              rules: [],
              _version: 1,
            },
          ]),
        ),
      };
      flags.set(`${project}/${key}`, f);
      return f;
    },
    flag: (project: string, key: string) => flags.get(`${project}/${key}`),
    failNext(status: number, times = 1, headers: Record<string, string> = {}, writesOnly = false) {
      for (let i = 0; i < times; i++) faults.push({ status, headers, writesOnly });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
  return fake;
}

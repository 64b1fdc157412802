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
 * - `addTargets` for a key already targeted by another variation of the same context kind fails
 *   with 400: "Returns an error if this causes the flag to target the same context key in
 *   multiple variations" (Update feature flag, `addTargets`).
 * - `LD-API-Version`: recorded; a value other than `20240415`, `20220603`, `20210729`,
 *   `20191212`, `20160426` or `beta` is answered with 400 (docs: "Versioning").
 * - Approvals: an environment created with `requireApprovals` answers a flag PATCH with 405.
 *   `POST /api/v2/projects/{p}/flags/{f}/environments/{e}/approval-requests` creates a request
 *   (`{description, instructions, comment}` → 201 `{_id, reviewStatus: 'pending', status:
 *   'pending', instructions}`), `GET .../approval-requests/{id}` reads it, `POST
 *   .../approval-requests/{id}/reviews` with `{kind: 'approve'|'decline'|'comment'}` reviews it
 *   (a member other than the requester; here: any request carrying the `reviewerToken`), and
 *   `POST .../approval-requests/{id}/apply` applies an approved request (400 otherwise), setting
 *   `status: 'completed'` (docs: "Approvals": "Create approval request for a flag", "Review
 *   approval request for a flag", "Apply approval request for a flag").
 * - Evaluation: `POST /api/v2/projects/{p}/environments/{e}/flags/evaluate` with a context
 *   `{kind, key}` → `{items: [{key, name, _value, reason: {kind}}]}` following the evaluation
 *   order individual targets → rules without clauses → fallthrough (a rollout buckets the
 *   context key by SHA-1 of `flagKey.salt.key`, as the SDKs do) → off variation when off
 *   (docs: "Evaluate flags for context instance"; "Percentage rollouts").
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';

const API_VERSIONS = ['20240415', '20220603', '20210729', '20191212', '20160426', 'beta'];

/** An approval request held by the fake. */
export interface FakeApprovalRequest {
  _id: string;
  project: string;
  flag: string;
  environmentKey: string;
  description: string;
  instructions: Record<string, unknown>[];
  reviewStatus: 'pending' | 'approved' | 'declined';
  status: 'pending' | 'completed' | 'failed';
}

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
  /** Every request line (`GET /api/v2/...`), its Authorization and LD-API-Version headers. */
  requests: { line: string; authorization?: string; apiVersion?: string }[];
  approvals: FakeApprovalRequest[];
  /** Environments (`project/flag/env` or `env` for all flags) that require approval. */
  requireApprovals: Set<string>;
  /** A second member's token that may review (approve/decline) approval requests. */
  reviewerToken: string;
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
    requests: [] as { line: string; authorization?: string; apiVersion?: string }[],
    approvals: [] as FakeApprovalRequest[],
    requireApprovals: new Set<string>(),
    reviewerToken: `${token}-reviewer`,
  } as LaunchDarklyFake;
  const salts = new Map<string, string>();
  /** The SDKs' bucket of a context key in [0, 1): SHA-1 of `flagKey.salt.key`, 15 hex digits. */
  const bucket = (flag: FakeLdFlag, key: string) => {
    const salt = salts.get(flag.key) ?? flag.key;
    const hex = createHash('sha1').update(`${flag.key}.${salt}.${key}`).digest('hex').slice(0, 15);
    return parseInt(hex, 16) / 2 ** 60; // the SDKs divide by 0xFFFFFFFFFFFFFFF (2^60 - 1)
  };
  const evaluate = (flag: FakeLdFlag, env: FakeLdEnvironment, kind: string, key: string) => {
    if (!env.on) return { value: flag.variations[env.offVariation]?.value, reason: 'OFF' };
    const list = kind === 'user' ? env.targets : env.contextTargets;
    const hit = list.find(
      (t) => (kind === 'user' || t.contextKind === kind) && t.values.includes(key),
    );
    if (hit) return { value: flag.variations[hit.variation].value, reason: 'TARGET_MATCH' };
    const rule = env.rules.find((r) => r.clauses.length === 0 && r.variation !== undefined);
    if (rule) return { value: flag.variations[rule.variation!].value, reason: 'RULE_MATCH' };
    const ft = env.fallthrough as {
      variation?: number;
      rollout?: { variations: { variation: number; weight: number }[] };
    };
    if (ft.variation !== undefined)
      return { value: flag.variations[ft.variation].value, reason: 'FALLTHROUGH' };
    const b = bucket(flag, key) * 100000;
    let sum = 0;
    for (const v of ft.rollout?.variations ?? []) {
      sum += v.weight;
      if (b < sum) return { value: flag.variations[v.variation].value, reason: 'FALLTHROUGH' };
    }
    return { value: flag.variations[env.offVariation]?.value, reason: 'FALLTHROUGH' };
  };
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
              ...(typeof ins.rolloutContextKind === 'string'
                ? { contextKind: ins.rolloutContextKind }
                : {}),
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
              const clash = other.values.filter((v) => values.includes(v));
              if (clash.length)
                return `Cannot target context key(s) ${clash.join(', ')} in multiple variations: already targeted by variation ${other.variation}`;
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
    const apiVersion = req.headers['ld-api-version'] as string | undefined;
    fake.requests.push({
      line: `${req.method} ${u.pathname}${u.search}`,
      authorization: req.headers.authorization,
      apiVersion,
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
    const reviewer = req.headers.authorization === fake.reviewerToken;
    if (req.headers.authorization !== token && !reviewer)
      return error(res, 401, 'unauthorized', 'Invalid access token');
    if (apiVersion !== undefined && !API_VERSIONS.includes(apiVersion))
      return error(res, 400, 'invalid_request', `Invalid API version ${apiVersion}`);
    const parse = (): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(text || '{}');
      } catch {
        return undefined;
      }
    };
    const ev = /^\/api\/v2\/projects\/([^/]+)\/environments\/([^/]+)\/flags\/evaluate$/.exec(
      u.pathname,
    );
    if (ev && req.method === 'POST') {
      const [project, envKey] = [decodeURIComponent(ev[1]), decodeURIComponent(ev[2])];
      const ctx = parse() as { kind?: string; key?: string } | undefined;
      if (!ctx?.key) return error(res, 400, 'invalid_request', 'context key is required');
      const q = /query equals (.+)$/.exec(u.searchParams.get('filter') ?? '')?.[1]?.trim();
      const items = [...flags.entries()]
        .filter(([k, f]) => k.startsWith(`${project}/`) && f.environments[envKey])
        .filter(([, f]) => !q || f.key === q)
        .map(([, f]) => {
          const r = evaluate(f, f.environments[envKey], ctx.kind ?? 'user', ctx.key!);
          return { key: f.key, name: f.key, _value: r.value, reason: { kind: r.reason } };
        });
      return send(res, 200, { items, totalCount: items.length });
    }
    const ap =
      /^\/api\/v2\/projects\/([^/]+)\/flags\/([^/]+)\/environments\/([^/]+)\/approval-requests(?:\/([^/]+)(?:\/(reviews|apply))?)?$/.exec(
        u.pathname,
      );
    if (ap) {
      const [project, key, envKey] = [ap[1], ap[2], ap[3]].map(decodeURIComponent);
      const flag = flags.get(`${project}/${key}`);
      if (!flag || !flag.environments[envKey])
        return error(res, 404, 'not_found', 'Unknown feature flag or environment');
      if (!ap[4]) {
        if (req.method !== 'POST')
          return error(res, 405, 'method_not_allowed', 'Method not allowed');
        const body = parse();
        if (!body || typeof body.description !== 'string' || !body.description)
          return error(res, 400, 'invalid_request', 'description is required');
        if (!Array.isArray(body.instructions) || body.instructions.length === 0)
          return error(res, 400, 'invalid_request', 'instructions are required');
        const ar: FakeApprovalRequest = {
          _id: randomUUID().replace(/-/g, '').slice(0, 24),
          project,
          flag: key,
          environmentKey: envKey,
          description: body.description,
          instructions: body.instructions as Record<string, unknown>[],
          reviewStatus: 'pending',
          status: 'pending',
        };
        fake.approvals.push(ar);
        return send(res, 201, ar);
      }
      const ar = fake.approvals.find((a) => a._id === ap[4] && a.flag === key);
      if (!ar) return error(res, 404, 'not_found', 'Unknown approval request');
      if (!ap[5] && req.method === 'GET') return send(res, 200, ar);
      if (ap[5] === 'reviews' && req.method === 'POST') {
        if (!reviewer)
          return error(res, 403, 'forbidden', 'You cannot review your own approval request');
        const kind = parse()?.kind;
        if (kind === 'approve') ar.reviewStatus = 'approved';
        else if (kind === 'decline') ar.reviewStatus = 'declined';
        else if (kind !== 'comment')
          return error(res, 400, 'invalid_request', 'kind must be approve, decline or comment');
        return send(res, 200, ar);
      }
      if (ap[5] === 'apply' && req.method === 'POST') {
        if (ar.reviewStatus !== 'approved' || ar.status !== 'pending')
          return error(res, 400, 'invalid_request', 'Approval request must be approved to apply');
        const copy: FakeLdEnvironment = structuredClone(flag.environments[envKey]);
        for (const ins of ar.instructions) {
          const problem = apply(flag, copy, ins);
          if (problem) {
            ar.status = 'failed';
            return error(res, 400, 'invalid_request', problem);
          }
        }
        copy._version++;
        flag.environments[envKey] = copy;
        ar.status = 'completed';
        return send(res, 200, ar);
      }
      return error(res, 405, 'method_not_allowed', 'Method not allowed');
    }
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
    if (
      fake.requireApprovals.has(envKey) ||
      fake.requireApprovals.has(`${project}/${key}/${envKey}`)
    )
      return error(
        res,
        405,
        'method_not_allowed',
        'This environment requires approval for flag changes: create an approval request',
      );
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

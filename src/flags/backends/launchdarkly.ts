/**
 * The `launchdarkly` backend: LaunchDarkly REST API v2.
 *
 * - Read: `GET /api/v2/flags/{projectKey}/{flagKey}?env={environmentKey}` (docs: "Get feature
 *   flag", launchdarkly.com/docs/api/feature-flags/get-feature-flag).
 * - Write: one `PATCH /api/v2/flags/{projectKey}/{flagKey}` semantic patch with
 *   `Content-Type: application/json; domain-model=launchdarkly.semanticpatch`, body
 *   `{environmentKey, comment, instructions}` using `addTargets` / `removeTargets`
 *   (`contextKind`, `values`, `variationId`), `updateFallthroughVariationOrRollout`,
 *   `updateOffVariation`, `turnFlagOn`, `turnFlagOff` (docs: "Update feature flag",
 *   launchdarkly.com/docs/api/feature-flags/patch-feature-flag). A semantic patch applies all of
 *   its instructions or none.
 * - Auth: the access token as the `Authorization` header value; every request sends
 *   `LD-API-Version: 20240415` (docs: launchdarkly.com/docs/api, "Versioning"; the `20220603`
 *   version ends on 2026-12-31). 429: waits for `Retry-After` or `X-Ratelimit-Reset` (epoch
 *   milliseconds) (docs: launchdarkly.com/docs/api, "Rate limiting").
 * - Approvals: an environment that requires approval answers the semantic patch with 405. The
 *   same instructions then go into an approval request, `POST /api/v2/projects/{projectKey}/flags/
 *   {flagKey}/environments/{environmentKey}/approval-requests` (`{description, instructions,
 *   comment}`, docs: "Create approval request for a flag"), which is polled with `GET
 *   .../approval-requests/{id}` until its `reviewStatus` is `approved` (then `POST
 *   .../approval-requests/{id}/apply`, docs: "Apply approval request for a flag", unless its
 *   `status` is already `completed`) or `declined`, or until the approval timeout; the job
 *   summary links the request.
 * - Percentage rollouts: the fallthrough (default rule) as a rollout, `rolloutWeights`
 *   `{trueVariationId: percent × 1000, falseVariationId: rest}` bucketed by the tenant context
 *   kind (`rolloutContextKind`).
 * - Verify by evaluation: `POST /api/v2/projects/{projectKey}/environments/{environmentKey}/
 *   flags/evaluate` with a context `{kind, key}` → `items[{key, _value}]` (docs: "Evaluate flags
 *   for context instance").
 * - A tenant individually targeted to another variation (a deny list) cannot be added: the API
 *   rejects targeting one context key in several variations; the write is refused before it is
 *   sent, naming the tenant.
 *
 * Meaning of "global" in the environment: the flag is on and its fallthrough (default rule)
 * serves the `true` variation (or a rollout giving it 100%), or a rule with no clauses serves
 * it; or the flag is off and its off variation is `true`. A fallthrough rollout giving `true`
 * less than 100% is the percentage, not global. A tenant is enabled when the flag is on
 * and the tenant key is an individual target of the `true` variation for the context kind
 * (`contextTargets`; `targets` for kind `user`). Enabling tenants turns the flag on with the
 * fallthrough and off variation set to `false`. Turning an off flag on also activates its
 * targeting rules: when a rule with clauses serves `true`, the write is refused under the guard
 * `global-must-be: off` (those contexts would get the flag) and warned about otherwise.
 */
import type { Logger } from '../../errors.js';
import { requestJson, type HttpClientOptions, type RetryOptions } from '../http.js';
import {
  BackendError,
  type DesiredState,
  type FlagBackend,
  type FlagChange,
  type FlagState,
} from './types.js';

/** Options of {@link LaunchDarklyBackend}. */
export interface LaunchDarklyOptions {
  /** Default `https://app.launchdarkly.com`. */
  baseUrl: string;
  token: string;
  /** Environment key, e.g. `production`. */
  environment: string;
  /** Project key. */
  project: string;
  /** Context kind of tenant targets. Default `tenant`. */
  contextKind: string;
  retry?: RetryOptions;
  /** How long to wait for an approval request to be reviewed, milliseconds. Default 1800000. */
  approvalTimeoutMs?: number;
  /** How often to poll the approval request, milliseconds. Default 10000. */
  approvalPollMs?: number;
}

/** The REST API version sent as `LD-API-Version`. */
export const LD_API_VERSION = '20240415';

/** An approval request this backend created for a write (for the job summary). */
export interface ApprovalRequestInfo {
  id: string;
  /** The request in the LaunchDarkly UI. */
  url: string;
  /** `applied`, `declined`, `timed-out`, `failed`. */
  outcome: string;
  /** Waited, milliseconds. */
  waitedMs: number;
}

interface VariationOrRollout {
  variation?: number;
  rollout?: { variations?: { variation: number; weight: number }[] };
}
interface LdTarget {
  values: string[];
  variation: number;
  contextKind?: string;
}
interface LdEnvironment {
  on: boolean;
  fallthrough?: VariationOrRollout;
  offVariation?: number;
  targets?: LdTarget[];
  contextTargets?: LdTarget[];
  rules?: (VariationOrRollout & { _id?: string; clauses?: unknown[] })[];
  _version?: number;
}
interface LdFlag {
  key: string;
  variations: { _id: string; value: unknown }[];
  environments?: Record<string, LdEnvironment>;
}

/** The share of `vr` serving variation `idx`, in percent (variation → 100 or 0, rollout weight / 1000). */
function percentServing(vr: VariationOrRollout | undefined, idx: number): number {
  if (!vr) return 0;
  if (vr.variation !== undefined) return vr.variation === idx ? 100 : 0;
  const w = (vr.rollout?.variations ?? [])
    .filter((v) => v.variation === idx)
    .reduce((sum, v) => sum + v.weight, 0);
  return Math.round(w) / 1000;
}

function serves(vr: VariationOrRollout | undefined, idx: number): boolean {
  if (!vr) return false;
  if (vr.variation !== undefined) return vr.variation === idx;
  return (vr.rollout?.variations ?? []).some((v) => v.variation === idx && v.weight > 0);
}

/**
 * A fallthrough in a comparable form: `{variation}` or `{rollout: {variations (by variation
 * index, weights in thousandths of a percent), bucketBy}}`; `null` when there is none.
 */
function canonicalFallthrough(vr: unknown): string {
  const v = vr as VariationOrRollout & { rollout?: { bucketBy?: string } };
  if (!v || typeof v !== 'object') return 'null';
  if (typeof v.variation === 'number') return JSON.stringify({ variation: v.variation });
  const variations = [...(v.rollout?.variations ?? [])]
    .map((x) => ({ variation: x.variation, weight: x.weight }))
    .sort((a, b) => a.variation - b.variation);
  return JSON.stringify({ rollout: { variations, bucketBy: v.rollout?.bucketBy ?? null } });
}

function describeFallthrough(vr: unknown): string {
  const v = vr as VariationOrRollout;
  if (typeof v?.variation === 'number') return `variation ${v.variation}`;
  const parts = (v?.rollout?.variations ?? []).map(
    (x) => `variation ${x.variation}: ${x.weight / 1000}%`,
  );
  return parts.length ? `rollout ${parts.join(', ')}` : 'none';
}

/** LaunchDarkly flags; tenants are individual targets of a context kind. */
export class LaunchDarklyBackend implements FlagBackend {
  readonly name = 'launchdarkly' as const;
  readonly globalMeaning =
    'the flag is on in the environment and its default rule (fallthrough) or a clause-less rule serves true, or it is off with off variation true';
  private readonly client: HttpClientOptions;
  /** The approval request of the last write, when the environment required one. */
  lastApproval?: ApprovalRequestInfo;

  constructor(
    private readonly o: LaunchDarklyOptions,
    private readonly logger: Logger,
  ) {
    this.client = { service: 'LaunchDarkly', secrets: [o.token], retry: o.retry, logger };
  }

  private request(req: Parameters<typeof requestJson>[0]) {
    return requestJson(
      {
        ...req,
        headers: { Authorization: this.o.token, 'LD-API-Version': LD_API_VERSION, ...req.headers },
      },
      this.client,
    );
  }

  private get base(): string {
    return this.o.baseUrl.replace(/\/+$/, '');
  }

  private approvalsUrl(flag: string, rest = ''): string {
    return `${this.base}/api/v2/projects/${encodeURIComponent(this.o.project)}/flags/${encodeURIComponent(flag)}/environments/${encodeURIComponent(this.o.environment)}/approval-requests${rest}`;
  }

  private url(flag: string, query = ''): string {
    return `${this.o.baseUrl.replace(/\/+$/, '')}/api/v2/flags/${encodeURIComponent(this.o.project)}/${encodeURIComponent(flag)}${query}`;
  }

  private async fetchFlag(
    flag: string,
  ): Promise<{ ld: LdFlag; env: LdEnvironment; trueIdx: number; falseIdx: number }> {
    const res = await this.request({
      method: 'GET',
      url: this.url(flag, `?env=${encodeURIComponent(this.o.environment)}`),
    });
    const ld = res.json as LdFlag;
    const trueIdx = ld?.variations?.findIndex((v) => v.value === true) ?? -1;
    const falseIdx = ld?.variations?.findIndex((v) => v.value === false) ?? -1;
    if (trueIdx < 0 || falseIdx < 0) {
      throw new BackendError(
        `LaunchDarkly flag ${flag} is not a boolean flag (no true and false variations)`,
      );
    }
    const env = ld.environments?.[this.o.environment];
    if (!env) {
      throw new BackendError(
        `LaunchDarkly flag ${flag} has no environment '${this.o.environment}' in project ${this.o.project}`,
        404,
      );
    }
    return { ld, env, trueIdx, falseIdx };
  }

  private targeted(env: LdEnvironment, idx: number): string[] {
    const kind = this.o.contextKind;
    const out = new Set<string>();
    for (const t of env.contextTargets ?? []) {
      if ((t.contextKind ?? 'user') === kind && t.variation === idx)
        t.values.forEach((v) => out.add(v));
    }
    if (kind === 'user')
      for (const t of env.targets ?? [])
        if (t.variation === idx) t.values.forEach((v) => out.add(v));
    return [...out].sort();
  }

  async read(flag: string): Promise<FlagState> {
    const { env, trueIdx } = await this.fetchFlag(flag);
    const fallthroughPct = percentServing(env.fallthrough, trueIdx);
    const fallthroughTrue = fallthroughPct >= 100;
    const everyoneRule = (env.rules ?? []).some(
      (r) => (!r.clauses || r.clauses.length === 0) && serves(r, trueIdx),
    );
    const offTrue = env.offVariation === trueIdx;
    const global =
      (env.on && (fallthroughTrue || everyoneRule)) || (!env.on && offTrue) ? 'on' : 'off';
    const targeted = this.targeted(env, trueIdx);
    return {
      flag,
      global,
      tenants: env.on ? targeted : [],
      percentage: global === 'on' ? 100 : env.on ? fallthroughPct : 0,
      backend: 'launchdarkly',
      exists: true,
      backendDetail: {
        on: env.on,
        targeted,
        fallthroughTrue,
        offVariationTrue: offTrue,
        fallthrough: env.fallthrough ?? null,
        offVariation: env.offVariation ?? null,
        version: env._version,
      },
    };
  }

  /**
   * For `restore`: what differs between the current state and the restored one beyond global
   * and tenants: the flag's `on` switch, its default rule (fallthrough, including a percentage
   * rollout), its off variation, and individual targets kept while the flag was off. Empty when
   * the restored state carries no such detail (a state from an older version).
   */
  detailChanges(current: FlagState, to: DesiredState): string[] {
    const want = to.detail;
    if (!want) return [];
    const have = current.backendDetail ?? {};
    const out: string[] = [];
    if (typeof want.on === 'boolean' && want.on !== have.on)
      out.push(`turn the flag ${want.on ? 'on' : 'off'} in the environment`);
    if (
      want.fallthrough !== undefined &&
      canonicalFallthrough(want.fallthrough) !== canonicalFallthrough(have.fallthrough)
    )
      out.push(
        `set the default rule (fallthrough) back to ${describeFallthrough(want.fallthrough)}`,
      );
    if (typeof want.offVariation === 'number' && want.offVariation !== have.offVariation)
      out.push(`set the off variation back to variation ${want.offVariation}`);
    if (want.on === false && Array.isArray(want.targeted) && Array.isArray(have.targeted)) {
      const a = [...(want.targeted as string[])].sort().join(', ');
      const b = [...(have.targeted as string[])].sort().join(', ');
      if (a !== b) out.push(`set the individual targets kept while off back to [${a}]`);
    }
    return out;
  }

  /**
   * Sends one semantic patch that moves the environment to the desired state. For `restore`
   * (`to.detail` from a previous read) it also puts back the flag's `on` switch, default rule
   * and off variation, so the environment is the one read before, not only equivalent to it.
   * @throws BackendError when a clause-less rule serves true and global should be off
   */
  async write(change: FlagChange): Promise<void> {
    const { flag, to } = change;
    const { ld, env, trueIdx, falseIdx } = await this.fetchFlag(flag);
    const trueId = ld.variations[trueIdx]._id;
    const falseId = ld.variations[falseIdx]._id;
    const kind = this.o.contextKind;
    const targeted = this.targeted(env, trueIdx);
    const currentPct = percentServing(env.fallthrough, trueIdx);
    const fallthroughTrue = currentPct >= 100;
    const wantPct =
      to.global === 'on' ? 100 : (to.percentage ?? (fallthroughTrue ? 0 : currentPct));
    const detail = to.detail ?? {};
    const restoreFallthrough =
      detail.fallthrough !== undefined && detail.fallthrough !== null
        ? (detail.fallthrough as VariationOrRollout & { rollout?: { bucketBy?: string } })
        : undefined;
    const restoreOffVariation =
      typeof detail.offVariation === 'number' && ld.variations[detail.offVariation]
        ? detail.offVariation
        : undefined;
    const finalOn =
      typeof detail.on === 'boolean'
        ? detail.on || to.tenants.length > 0
        : to.global === 'on' || to.tenants.length > 0 || wantPct > 0;
    const restoreTargets = Array.isArray(to.detail?.targeted)
      ? (to.detail!.targeted as string[])
      : undefined;
    const disabled = change.from.tenants.filter((t) => !to.tenants.includes(t));
    const want =
      restoreTargets ?? (finalOn ? to.tenants : targeted.filter((t) => !disabled.includes(t)));
    const instructions: Record<string, unknown>[] = [];
    const remove = targeted.filter((t) => !want.includes(t));
    const add = want.filter((t) => !targeted.includes(t));
    if (remove.length)
      instructions.push({
        kind: 'removeTargets',
        contextKind: kind,
        values: remove,
        variationId: trueId,
      });
    const elsewhere = add
      .map((t) => ({ t, v: this.targetedVariation(env, t, trueIdx) }))
      .filter((x) => x.v !== undefined);
    if (elsewhere.length) {
      throw new BackendError(
        `LaunchDarkly flag ${flag} in ${this.o.environment}: ${elsewhere.map((x) => `tenant ${x.t} is individually targeted to variation ${x.v} (${JSON.stringify(ld.variations[x.v!]?.value)})`).join('; ')}: LaunchDarkly does not target one context key in two variations (a deny list entry?). Remove it there first; nothing was written`,
        409,
      );
    }
    if (add.length)
      instructions.push({
        kind: 'addTargets',
        contextKind: kind,
        values: add,
        variationId: trueId,
      });
    if (
      restoreFallthrough &&
      canonicalFallthrough(restoreFallthrough) !== canonicalFallthrough(env.fallthrough)
    ) {
      const vr = restoreFallthrough;
      if (typeof vr.variation === 'number' && ld.variations[vr.variation]) {
        instructions.push({
          kind: 'updateFallthroughVariationOrRollout',
          variationId: ld.variations[vr.variation]._id,
        });
      } else if (vr.rollout?.variations?.length) {
        const rolloutWeights: Record<string, number> = {};
        for (const x of vr.rollout.variations)
          if (ld.variations[x.variation]) rolloutWeights[ld.variations[x.variation]._id] = x.weight;
        instructions.push({
          kind: 'updateFallthroughVariationOrRollout',
          rolloutWeights,
          ...(vr.rollout.bucketBy ? { rolloutBucketBy: vr.rollout.bucketBy } : {}),
        });
      }
    } else if (!restoreFallthrough && wantPct !== currentPct && (finalOn || wantPct === 0)) {
      if (wantPct >= 100)
        instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: trueId });
      else if (wantPct <= 0)
        instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: falseId });
      else {
        const w = Math.round(wantPct * 1000);
        instructions.push({
          kind: 'updateFallthroughVariationOrRollout',
          rolloutWeights: { [trueId]: w, [falseId]: 100_000 - w },
          rolloutContextKind: kind,
        });
      }
    }
    if (restoreOffVariation !== undefined && restoreOffVariation !== env.offVariation) {
      instructions.push({
        kind: 'updateOffVariation',
        variationId: ld.variations[restoreOffVariation]._id,
      });
    }
    if (to.global === 'off') {
      const everyone = (env.rules ?? []).find(
        (r) => (!r.clauses || r.clauses.length === 0) && serves(r, trueIdx),
      );
      if (everyone && finalOn) {
        throw new BackendError(
          `LaunchDarkly flag ${flag}: rule ${everyone._id ?? ''} has no clauses and serves true to everyone; remove it before targeting tenants`,
        );
      }
      if (env.offVariation === trueIdx && restoreOffVariation === undefined)
        instructions.push({ kind: 'updateOffVariation', variationId: falseId });
    }
    if (finalOn && !env.on) {
      const dormant = (env.rules ?? []).filter(
        (r) => r.clauses && r.clauses.length > 0 && serves(r, trueIdx),
      );
      if (dormant.length) {
        const names = dormant.map((r, i) => r._id ?? `#${i + 1}`).join(', ');
        const what = `turning ${flag} on in ${this.o.environment} also activates ${dormant.length} targeting rule${dormant.length > 1 ? 's' : ''} (${names}) that serve true to contexts other than the listed tenants`;
        if (change.globalMustBe === 'off') {
          throw new BackendError(
            `LaunchDarkly: refused under guard global-must-be: off: ${what}; nothing was written. Remove or change those rules first, or run without the guard`,
          );
        }
        this.logger.warning(`LaunchDarkly: ${what}`);
      }
      instructions.push({ kind: 'turnFlagOn' });
    }
    if (!finalOn && env.on) instructions.push({ kind: 'turnFlagOff' });
    if (instructions.length === 0) return;
    this.lastApproval = undefined;
    try {
      await this.request({
        method: 'PATCH',
        url: this.url(flag),
        headers: { 'Content-Type': 'application/json; domain-model=launchdarkly.semanticpatch' },
        body: { environmentKey: this.o.environment, comment: change.comment, instructions },
        // declarative instructions (add/remove targets, set rule, on/off): applying twice = once
        idempotent: true,
      });
    } catch (e) {
      if (!(e instanceof BackendError) || e.status !== 405) throw e;
      await this.throughApproval(flag, change.comment, instructions);
    }
  }

  /**
   * The environment requires approval (405): creates an approval request with the semantic patch
   * instructions, waits for its review, and applies it.
   * @throws BackendError when the request is declined, fails to apply, or is not reviewed within
   *   `approvalTimeoutMs` (it then stays pending: nothing is applied unless someone applies it)
   */
  private async throughApproval(
    flag: string,
    comment: string,
    instructions: Record<string, unknown>[],
  ): Promise<void> {
    const started = Date.now();
    const timeoutMs = this.o.approvalTimeoutMs ?? 1_800_000;
    const pollMs = this.o.approvalPollMs ?? 10_000;
    this.logger.info(
      `LaunchDarkly: ${this.o.environment} requires approval for changes to ${flag}: creating an approval request`,
    );
    const created = await this.request({
      method: 'POST',
      url: this.approvalsUrl(flag),
      headers: { 'Content-Type': 'application/json' },
      body: { description: comment.slice(0, 5000), comment, instructions },
    });
    const id = String((created.json as { _id?: unknown })?._id ?? '');
    if (!id) throw new BackendError(`LaunchDarkly: the approval request has no _id`);
    const url = `${this.base}/projects/${encodeURIComponent(this.o.project)}/flags/${encodeURIComponent(flag)}/approvals/${encodeURIComponent(id)}?env=${encodeURIComponent(this.o.environment)}`;
    const info: ApprovalRequestInfo = { id, url, outcome: 'pending', waitedMs: 0 };
    this.lastApproval = info;
    this.logger.info(`LaunchDarkly: approval request ${id} waits for review: ${url}`);
    for (;;) {
      const res = await this.request({
        method: 'GET',
        url: this.approvalsUrl(flag, `/${encodeURIComponent(id)}`),
      });
      const ar = res.json as { reviewStatus?: string; status?: string };
      info.waitedMs = Date.now() - started;
      if (ar?.status === 'completed') {
        info.outcome = 'applied';
        return;
      }
      if (ar?.reviewStatus === 'declined') {
        info.outcome = 'declined';
        throw new BackendError(
          `LaunchDarkly: approval request ${id} was declined (${url}); nothing was applied`,
        );
      }
      if (ar?.status === 'failed') {
        info.outcome = 'failed';
        throw new BackendError(`LaunchDarkly: approval request ${id} failed to apply (${url})`);
      }
      if (ar?.reviewStatus === 'approved') {
        await this.request({
          method: 'POST',
          url: this.approvalsUrl(flag, `/${encodeURIComponent(id)}/apply`),
          headers: { 'Content-Type': 'application/json' },
          body: { comment },
        });
        info.outcome = 'applied';
        this.logger.info(`LaunchDarkly: approval request ${id} approved and applied`);
        return;
      }
      if (Date.now() - started + pollMs > timeoutMs) {
        info.outcome = 'timed-out';
        throw new BackendError(
          `LaunchDarkly: approval request ${id} was not reviewed within ${Math.round(timeoutMs / 1000)} s (${url}); nothing was applied. It stays pending: a reviewer can still approve and apply it, or delete it`,
          408,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private targetedVariation(env: LdEnvironment, key: string, trueIdx: number): number | undefined {
    const kind = this.o.contextKind;
    for (const t of env.contextTargets ?? [])
      if ((t.contextKind ?? 'user') === kind && t.variation !== trueIdx && t.values.includes(key))
        return t.variation;
    if (kind === 'user')
      for (const t of env.targets ?? [])
        if (t.variation !== trueIdx && t.values.includes(key)) return t.variation;
    return undefined;
  }

  /**
   * Verify by evaluation: asks LaunchDarkly what each context (kind {@link LaunchDarklyOptions.contextKind},
   * the key) is served. @returns `true` when the served value is `true`
   */
  async evaluate(flag: string, keys: string[]): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for (const key of keys) {
      const res = await this.request({
        method: 'POST',
        url: `${this.base}/api/v2/projects/${encodeURIComponent(this.o.project)}/environments/${encodeURIComponent(this.o.environment)}/flags/evaluate?filter=${encodeURIComponent(`query equals ${flag}`)}`,
        headers: { 'Content-Type': 'application/json' },
        body: { kind: this.o.contextKind, key },
        idempotent: true,
      });
      const items =
        (res.json as { items?: { key?: string; name?: string; _value?: unknown }[] })?.items ?? [];
      out[key] = items.find((i) => (i.key ?? i.name) === flag)?._value === true;
    }
    return out;
  }

  async close(): Promise<void> {}
}

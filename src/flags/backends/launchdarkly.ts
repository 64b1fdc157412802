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
 * - Auth: the access token as the `Authorization` header value. 429: waits for `Retry-After` or
 *   `X-Ratelimit-Reset` (epoch milliseconds) (docs: launchdarkly.com/docs/api, "Rate limiting").
 *
 * Meaning of "global" in the environment: the flag is on and its fallthrough (default rule)
 * serves the `true` variation (or a rollout giving it weight), or a rule with no clauses serves
 * it; or the flag is off and its off variation is `true`. A tenant is enabled when the flag is on
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

  constructor(
    private readonly o: LaunchDarklyOptions,
    private readonly logger: Logger,
  ) {
    this.client = { service: 'LaunchDarkly', secrets: [o.token], retry: o.retry, logger };
  }

  private url(flag: string, query = ''): string {
    return `${this.o.baseUrl.replace(/\/+$/, '')}/api/v2/flags/${encodeURIComponent(this.o.project)}/${encodeURIComponent(flag)}${query}`;
  }

  private async fetchFlag(
    flag: string,
  ): Promise<{ ld: LdFlag; env: LdEnvironment; trueIdx: number; falseIdx: number }> {
    const res = await requestJson(
      {
        method: 'GET',
        url: this.url(flag, `?env=${encodeURIComponent(this.o.environment)}`),
        headers: { Authorization: this.o.token },
      },
      this.client,
    );
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
    const fallthroughTrue = serves(env.fallthrough, trueIdx);
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
    const fallthroughTrue = serves(env.fallthrough, trueIdx);
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
        : to.global === 'on' || to.tenants.length > 0;
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
    } else if (!restoreFallthrough && to.global === 'on' && !fallthroughTrue) {
      instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: trueId });
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
      if (fallthroughTrue && !restoreFallthrough)
        instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: falseId });
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
    await requestJson(
      {
        method: 'PATCH',
        url: this.url(flag),
        headers: {
          Authorization: this.o.token,
          'Content-Type': 'application/json; domain-model=launchdarkly.semanticpatch',
        },
        body: { environmentKey: this.o.environment, comment: change.comment, instructions },
        // declarative instructions (add/remove targets, set rule, on/off): applying twice = once
        idempotent: true,
      },
      this.client,
    );
  }

  async close(): Promise<void> {}
}

/**
 * The `unleash` backend: Unleash Admin API (docs.getunleash.io, "Admin API": "Features",
 * "Feature strategies"), authenticated with an admin API token in the `Authorization` header.
 *
 * - Read: `GET /api/admin/projects/{project}/features/{flag}` → `environments[{name, enabled,
 *   strategies[{id, name, title, constraints, parameters, disabled}]}]`.
 * - Strategies: `POST|PUT|DELETE /api/admin/projects/{project}/features/{flag}/environments/{env}/strategies[/{id}]`.
 * - Switch: `POST .../environments/{env}/on` and `.../off`.
 * - Segments: `GET|POST /api/admin/segments`, `PUT|DELETE /api/admin/segments/{id}`
 *   (`{name, description, project, constraints}`).
 * - Evaluation for verify: `POST /api/admin/playground` with `{projects, environment, context}`
 *   → `features[{name, isEnabled}]` (docs: "Playground API").
 *
 * Meaning of "global": the environment is enabled and has an active strategy that serves everyone:
 * `default`, a `flexibleRollout` at 100% without constraints or segments, or a custom strategy
 * without constraints or segments; or it is enabled with no active strategy at all. A strategy
 * with constraints on other context fields (`region IN [eu]`), with segments, or of a targeted
 * built-in kind (`userWithId`, `remoteAddress`, `applicationHostname`) serves a part only and is
 * not global (a 5% rollout limited to one region reads as global off, percentage 0).
 * The percentage rollout is the `rollout` parameter of an active `flexibleRollout` without
 * constraints or segments (stickiness from the `stickiness` option, default `default`; Unleash
 * docs, "Gradual rollout"). A tenant is enabled when the environment is enabled and an active
 * strategy has `tenantId IN [... tenant ...]`, or references only segments that hold such a
 * constraint.
 *
 * Per-tenant enablement is one `flexibleRollout` strategy at 100% constrained by
 * `tenantId IN [...]`; above 250 tenants (Unleash's limit of values per strategy constraint,
 * `ExceedsLimitError`) the tenants go into project segments named
 * `runbook-{flag}-{environment}-tenants-{n}` of up to 1000 values each (Unleash's segment values
 * limit), one strategy per segment (strategies are OR-ed, segments of one strategy AND-ed).
 * Strategies are created (or updated) BEFORE the environment is switched on: Unleash
 * adds a default strategy, on for everyone, when an environment without strategies is enabled.
 * Turning the last tenants off switches the environment off before deleting the strategy.
 * Strategies without a `tenantId` constraint are never deleted: turning global off while the
 * environment stays on for tenants deactivates them (`disabled: true`), and turning everything
 * off leaves them dormant behind the environment switch. `restore` re-activates the ones the
 * restored state had active, with their ids, rollout and constraints unchanged.
 * Unleash has no comment field on these endpoints: the audit comment becomes the `title` of the
 * strategy a write creates or updates, and Unleash's event log records the change and the token.
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

/** Options of {@link UnleashBackend}. */
export interface UnleashOptions {
  /** Unleash base URL, e.g. `https://unleash.example.com` (without `/api`). */
  baseUrl: string;
  /** Admin API token. */
  token: string;
  /** Environment name, e.g. `production`. */
  environment: string;
  /** Project id. Default `default`. */
  project: string;
  /**
   * Stickiness of the percentage rollout (a context field such as `userId`, or `default`:
   * userId, then sessionId, then random). Default `default`. A custom field such as `tenantId`
   * must be marked as usable for stickiness in Unleash's context fields.
   */
  stickiness?: string;
  retry?: RetryOptions;
}

interface Constraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}
interface Strategy {
  id: string;
  name: string;
  title?: string | null;
  constraints?: Constraint[];
  parameters?: Record<string, string>;
  segments?: number[];
  variants?: unknown[];
  disabled?: boolean | null;
}
interface Environment {
  name: string;
  enabled: boolean;
  strategies: Strategy[];
}

/** The context field that names a tenant. */
export const TENANT_CONTEXT_FIELD = 'tenantId';
/** Unleash's limit of values in one strategy constraint (`ExceedsLimitError` above it). */
export const CONSTRAINT_VALUES_LIMIT = 250;
/** Unleash's limit of values in one segment ("Segments may not have more than 1000 values"). */
export const SEGMENT_VALUES_LIMIT = 1000;
const TARGETED_KINDS = ['userWithId', 'remoteAddress', 'applicationHostname'];

interface Segment {
  id: number;
  name: string;
  description?: string | null;
  project?: string | null;
  constraints: Constraint[];
}

function tenantConstraint(s: Strategy): Constraint | undefined {
  return s.constraints?.find(
    (c) => c.contextName === TENANT_CONTEXT_FIELD && c.operator === 'IN' && !c.inverted,
  );
}

function isTenantConstraintOnly(cs: Constraint[] | undefined): boolean {
  return (
    (cs ?? []).length === 1 &&
    cs![0].contextName === TENANT_CONTEXT_FIELD &&
    cs![0].operator === 'IN' &&
    !cs![0].inverted
  );
}

function rolloutOf(s: Strategy): number {
  const r = Number(s.parameters?.rollout ?? 100);
  return Number.isFinite(r) ? r : 100;
}

/** The strategies without a tenant constraint listed in a restored state's detail. */
function restoredGlobalStrategies(to: DesiredState): { id: string; name: string }[] {
  const list = to.detail?.strategies;
  if (!Array.isArray(list)) return [];
  return (list as { id?: unknown; name?: unknown; tenants?: unknown }[])
    .filter((s) => typeof s?.id === 'string' && (s.tenants === null || s.tenants === undefined))
    .map((s) => ({ id: s.id as string, name: String(s.name ?? '') }));
}

/** What an active strategy does: tenants only, everyone, a percentage of everyone, or a part. */
type Kind = 'tenants' | 'everyone' | 'rollout' | 'partial';

/** Unleash feature flags; tenants via a `tenantId IN [...]` constrained strategy or segments. */
export class UnleashBackend implements FlagBackend {
  readonly name = 'unleash' as const;
  readonly globalMeaning =
    'the environment is enabled with a strategy that serves everyone (no constraints, no segments, rollout 100%)';
  private readonly client: HttpClientOptions;
  private segmentCache?: Segment[];

  constructor(
    private readonly o: UnleashOptions,
    private readonly logger: Logger,
  ) {
    this.client = { service: 'Unleash', secrets: [o.token], retry: o.retry, logger };
  }

  private get base(): string {
    return this.o.baseUrl.replace(/\/+$/, '');
  }

  private url(flag: string, rest = ''): string {
    return `${this.base}/api/admin/projects/${encodeURIComponent(this.o.project)}/features/${encodeURIComponent(flag)}${rest}`;
  }

  private envUrl(flag: string, rest: string): string {
    return this.url(flag, `/environments/${encodeURIComponent(this.o.environment)}${rest}`);
  }

  /** `idempotent` defaults by method; the environment `on`/`off` switches are idempotent POSTs. */
  private call(method: string, url: string, body?: unknown, idempotent?: boolean) {
    return requestJson(
      {
        method,
        url,
        body,
        idempotent,
        headers: { Authorization: this.o.token, 'Content-Type': 'application/json' },
      },
      this.client,
    );
  }

  private async segments(refresh = false): Promise<Segment[]> {
    if (!this.segmentCache || refresh) {
      const res = await this.call('GET', `${this.base}/api/admin/segments`);
      this.segmentCache = ((res.json as { segments?: Segment[] })?.segments ?? []) as Segment[];
    }
    return this.segmentCache;
  }

  private segmentPrefix(flag: string): string {
    return `runbook-${flag}-${this.o.environment}-tenants-`;
  }

  /** Tenants a strategy enables, or `undefined` when it is not a tenant strategy. */
  private tenantsOf(s: Strategy, segs: Segment[]): string[] | undefined {
    const c = tenantConstraint(s);
    if (c) return c.values ?? [];
    if (s.segments?.length && (s.constraints ?? []).length === 0) {
      const used = s.segments.map((id) => segs.find((g) => g.id === id));
      if (used.length === 1 && used[0] && isTenantConstraintOnly(used[0].constraints))
        return used[0].constraints[0].values ?? [];
    }
    return undefined;
  }

  private kind(s: Strategy, segs: Segment[]): Kind {
    if (this.tenantsOf(s, segs)) return 'tenants';
    if ((s.constraints ?? []).length || (s.segments ?? []).length) return 'partial';
    if (TARGETED_KINDS.includes(s.name)) return 'partial';
    if (s.name === 'flexibleRollout' || s.name.startsWith('gradualRollout'))
      return rolloutOf(s) >= 100 ? 'everyone' : 'rollout';
    return 'everyone';
  }

  private async environment(flag: string): Promise<{ env: Environment; segs: Segment[] }> {
    const res = await this.call('GET', this.url(flag));
    const envs = (res.json as { environments?: Environment[] })?.environments ?? [];
    const env = envs.find((e) => e.name === this.o.environment);
    if (!env) {
      throw new BackendError(
        `Unleash flag ${flag} has no environment '${this.o.environment}' in project ${this.o.project} (has: ${envs.map((e) => e.name).join(', ') || 'none'})`,
        404,
      );
    }
    const segs = env.strategies.some((s) => s.segments?.length) ? await this.segments(true) : [];
    return { env, segs };
  }

  async read(flag: string): Promise<FlagState> {
    const { env, segs } = await this.environment(flag);
    const active = env.strategies.filter((s) => !s.disabled);
    const kinds = active.map((s) => this.kind(s, segs));
    const globalOn = env.enabled && (active.length === 0 || kinds.includes('everyone'));
    const tenants = new Set<string>();
    if (env.enabled)
      active.forEach((s, i) => {
        if (kinds[i] === 'tenants') for (const v of this.tenantsOf(s, segs)!) tenants.add(v);
      });
    const rollout = env.enabled
      ? Math.max(0, ...active.filter((_, i) => kinds[i] === 'rollout').map(rolloutOf))
      : 0;
    return {
      flag,
      global: globalOn ? 'on' : 'off',
      tenants: [...tenants].sort(),
      percentage: globalOn ? 100 : rollout,
      backend: 'unleash',
      exists: true,
      backendDetail: {
        enabled: env.enabled,
        strategies: active.map((s, i) => ({
          id: s.id,
          name: s.name,
          kind: kinds[i],
          ...(kinds[i] === 'rollout' ? { rollout: rolloutOf(s) } : {}),
          tenants:
            kinds[i] === 'tenants'
              ? tenantConstraint(s)
                ? this.tenantsOf(s, segs)
                : 'segment'
              : null,
        })),
        inactive: env.strategies.filter((s) => s.disabled).map((s) => s.id),
      },
    };
  }

  /**
   * For `restore`: strategies without a `tenantId` constraint that were active in the restored
   * state and are now deactivated (a write that turned global off, or enabled tenants while the
   * environment was off, deactivates them instead of deleting them). Empty when `to.detail` is
   * absent.
   */
  detailChanges(current: FlagState, to: DesiredState): string[] {
    const inactive = (current.backendDetail?.inactive as string[] | undefined) ?? [];
    return restoredGlobalStrategies(to)
      .filter((s) => inactive.includes(s.id))
      .map((s) => `re-activate strategy ${s.name} ${s.id} (no tenantId constraint)`);
  }

  /** Updates strategy `s` as it is, with `disabled` and optionally a new title and parameters. */
  private putStrategy(
    flag: string,
    s: Strategy,
    disabled: boolean,
    title?: string,
    parameters?: Record<string, string>,
  ) {
    return this.call('PUT', this.envUrl(flag, `/strategies/${encodeURIComponent(s.id)}`), {
      name: s.name,
      title: title ?? s.title ?? undefined,
      constraints: s.constraints ?? [],
      parameters: parameters ?? s.parameters ?? {},
      segments: s.segments ?? [],
      variants: s.variants ?? [],
      disabled,
    });
  }

  /** Creates or updates the segments holding `tenants` (chunks of 1000); returns their ids. */
  private async tenantSegments(
    flag: string,
    tenants: string[],
    comment: string,
  ): Promise<number[]> {
    const prefix = this.segmentPrefix(flag);
    const existing = await this.segments(true);
    const ids: number[] = [];
    for (let i = 0; i * SEGMENT_VALUES_LIMIT < tenants.length; i++) {
      const name = `${prefix}${i + 1}`;
      const body = {
        name,
        description: comment.slice(0, 250),
        project: this.o.project,
        constraints: [
          {
            contextName: TENANT_CONTEXT_FIELD,
            operator: 'IN',
            values: tenants.slice(i * SEGMENT_VALUES_LIMIT, (i + 1) * SEGMENT_VALUES_LIMIT),
            inverted: false,
            caseInsensitive: false,
          },
        ],
      };
      const found = existing.find((g) => g.name === name);
      if (found) {
        await this.call('PUT', `${this.base}/api/admin/segments/${found.id}`, body);
        ids.push(found.id);
      } else {
        const res = await this.call('POST', `${this.base}/api/admin/segments`, body);
        ids.push((res.json as Segment).id);
      }
    }
    return ids;
  }

  /** Moves the environment to the desired state in a safe order (see the module comment). */
  async write(change: FlagChange): Promise<void> {
    const { flag, to, comment } = change;
    const { env, segs } = await this.environment(flag);
    const active = env.strategies.filter((s) => !s.disabled);
    const kindOf = new Map(active.map((s) => [s, this.kind(s, segs)]));
    const tenantStrategies = active.filter((s) => kindOf.get(s) === 'tenants');
    const everyone = active.filter((s) => kindOf.get(s) === 'everyone');
    const rollouts = active.filter((s) => kindOf.get(s) === 'rollout');
    const partial = active.filter((s) => kindOf.get(s) === 'partial');
    const percentage = to.global === 'on' ? 100 : (to.percentage ?? 0);
    if (percentage > 0 && percentage < 100 && !Number.isInteger(percentage)) {
      throw new BackendError(
        `Unleash rollouts are whole percentages; ${percentage}% cannot be set (nothing was written)`,
      );
    }
    const shouldEnable = to.global === 'on' || to.tenants.length > 0 || percentage > 0;
    const strategies = (id = '') =>
      this.envUrl(flag, `/strategies${id ? `/${encodeURIComponent(id)}` : ''}`);
    const ours = (s: Strategy) => (s.title ?? '').startsWith('runbook-actions flag-toggle');
    const rolloutParams = (s: Strategy | undefined, p: number) => ({
      groupId: flag,
      stickiness: this.o.stickiness ?? 'default',
      ...(s?.parameters ?? {}),
      rollout: String(p),
    });

    if (!shouldEnable && env.enabled) {
      this.logger.info(`Unleash: switching ${this.o.environment} off`);
      await this.call('POST', this.envUrl(flag, '/off'), undefined, true);
    }
    // 1. tenants: a tenantId IN constraint up to 250 values, segments above
    const keep: Strategy[] = [];
    let segmentIds: number[] = [];
    const useSegments = to.tenants.length > CONSTRAINT_VALUES_LIMIT;
    if (to.tenants.length > 0 && !useSegments) {
      const constraint: Constraint = {
        contextName: TENANT_CONTEXT_FIELD,
        operator: 'IN',
        values: [...to.tenants],
        inverted: false,
        caseInsensitive: false,
      };
      const k = tenantStrategies.find((s) => tenantConstraint(s));
      if (k) {
        keep.push(k);
        const constraints = (k.constraints ?? []).map((c) =>
          c === tenantConstraint(k) ? constraint : c,
        );
        await this.call('PUT', strategies(k.id), {
          name: k.name,
          title: comment,
          constraints,
          parameters: k.parameters ?? {},
          segments: k.segments ?? [],
          variants: k.variants ?? [],
          disabled: false,
        });
      } else {
        this.logger.info(
          `Unleash: adding a ${TENANT_CONTEXT_FIELD} IN [${to.tenants.join(', ')}] strategy`,
        );
        await this.call('POST', strategies(), {
          name: 'flexibleRollout',
          title: comment,
          constraints: [constraint],
          parameters: { rollout: '100', stickiness: 'default', groupId: flag },
          disabled: false,
        });
      }
    } else if (useSegments) {
      this.logger.info(
        `Unleash: ${to.tenants.length} tenants exceed ${CONSTRAINT_VALUES_LIMIT} constraint values: using segments of up to ${SEGMENT_VALUES_LIMIT}`,
      );
      segmentIds = await this.tenantSegments(flag, to.tenants, comment);
      for (const id of segmentIds) {
        const k = tenantStrategies.find((s) => s.segments?.length === 1 && s.segments[0] === id);
        if (k) keep.push(k);
        else
          await this.call('POST', strategies(), {
            name: 'flexibleRollout',
            title: comment,
            constraints: [],
            segments: [id],
            parameters: { rollout: '100', stickiness: 'default', groupId: flag },
            disabled: false,
          });
      }
    }
    // 2. everyone and the percentage rollout
    const wanted = restoredGlobalStrategies(to).map((s) => s.id);
    const reactivate =
      to.global === 'on' || !shouldEnable
        ? env.strategies.filter((s) => s.disabled && !tenantConstraint(s) && wanted.includes(s.id))
        : [];
    for (const s of reactivate) {
      this.logger.info(`Unleash: re-activating strategy ${s.name} ${s.id}`);
      await this.putStrategy(flag, s, false);
    }
    if (percentage === 100) {
      if (everyone.length === 0 && reactivate.length === 0) {
        const r = rollouts[0];
        if (r) await this.putStrategy(flag, r, false, comment, rolloutParams(r, 100));
        else
          await this.call('POST', strategies(), {
            name: 'flexibleRollout',
            title: comment,
            constraints: [],
            parameters: rolloutParams(undefined, 100),
            disabled: false,
          });
      }
    } else if (shouldEnable) {
      // The environment stays on: what serves beyond the tenants must match the percentage.
      let rollout: Strategy | undefined = rollouts[0];
      if (percentage > 0) {
        const reuse = rollout ?? everyone.find((s) => s.name === 'flexibleRollout');
        if (reuse) {
          if (rolloutOf(reuse) !== percentage || reuse !== rollout)
            await this.putStrategy(flag, reuse, false, comment, rolloutParams(reuse, percentage));
        } else {
          const restorable = env.strategies.find(
            (s) =>
              s.disabled &&
              wanted.includes(s.id) &&
              s.name === 'flexibleRollout' &&
              !(s.constraints ?? []).length &&
              !(s.segments ?? []).length,
          );
          if (restorable)
            await this.putStrategy(
              flag,
              restorable,
              false,
              undefined,
              rolloutParams(restorable, percentage),
            );
          else
            await this.call('POST', strategies(), {
              name: 'flexibleRollout',
              title: comment,
              constraints: [],
              parameters: rolloutParams(undefined, percentage),
              disabled: false,
            });
        }
        rollout = reuse;
      } else rollout = undefined;
      // Deactivate (not delete) what would serve more than asked, so a restore can bring it back
      // as it was; rollouts this tool created are deleted at 0%.
      for (const s of [...everyone, ...rollouts]) {
        if (s === rollout) continue;
        if (ours(s) && kindOf.get(s) === 'rollout') {
          this.logger.info(`Unleash: deleting the percentage rollout strategy ${s.id} (0%)`);
          await this.call('DELETE', strategies(s.id));
        } else {
          this.logger.info(
            `Unleash: deactivating strategy ${s.name} ${s.id} (serves beyond the tenants; kept for a restore)`,
          );
          await this.putStrategy(flag, s, true);
        }
      }
      // Switching an environment on also activates its targeted strategies: keep them dormant.
      if (!env.enabled)
        for (const s of partial) {
          this.logger.info(
            `Unleash: deactivating dormant strategy ${s.name} ${s.id} (switching the environment on would activate it)`,
          );
          await this.putStrategy(flag, s, true);
        }
    }
    // 3. tenant strategies no longer used, then this flag's segments no longer used
    for (const s of tenantStrategies)
      if (!keep.includes(s)) await this.call('DELETE', strategies(s.id));
    const prefix = this.segmentPrefix(flag);
    const stale = (useSegments || segs.length ? await this.segments(true) : []).filter(
      (g) => g.name.startsWith(prefix) && !segmentIds.includes(g.id),
    );
    for (const g of stale) {
      await this.call('DELETE', `${this.base}/api/admin/segments/${g.id}`).catch((e: unknown) =>
        this.logger.warning(`Unleash: segment ${g.name} not deleted: ${(e as Error).message}`),
      );
    }
    if (shouldEnable && !env.enabled) {
      this.logger.info(`Unleash: switching ${this.o.environment} on (after its strategies exist)`);
      await this.call('POST', this.envUrl(flag, '/on'), undefined, true);
    }
  }

  /**
   * Asks Unleash what it serves (Playground API, `POST /api/admin/playground`) to one context
   * per key, with the key as `tenantId` and `userId`. @returns enabled by key
   */
  async evaluate(flag: string, keys: string[]): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for (const key of keys) {
      const res = await this.call(
        'POST',
        `${this.base}/api/admin/playground`,
        {
          projects: [this.o.project],
          environment: this.o.environment,
          context: {
            appName: 'runbook-verify',
            userId: key,
            properties: { [TENANT_CONTEXT_FIELD]: key },
          },
        },
        true,
      );
      const f = (
        (res.json as { features?: { name: string; isEnabled: boolean }[] })?.features ?? []
      ).find((x) => x.name === flag);
      out[key] = f?.isEnabled === true;
    }
    return out;
  }

  async close(): Promise<void> {}
}

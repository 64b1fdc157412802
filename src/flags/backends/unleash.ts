/**
 * The `unleash` backend: Unleash Admin API (docs.getunleash.io, "Admin API": "Features",
 * "Feature strategies"), authenticated with an admin API token in the `Authorization` header.
 *
 * - Read: `GET /api/admin/projects/{project}/features/{flag}` → `environments[{name, enabled,
 *   strategies[{id, name, title, constraints, parameters, disabled}]}]`.
 * - Strategies: `POST|PUT|DELETE /api/admin/projects/{project}/features/{flag}/environments/{env}/strategies[/{id}]`.
 * - Switch: `POST .../environments/{env}/on` and `.../off`.
 *
 * Meaning of "global": the environment is enabled and has an active strategy without a
 * `tenantId IN [...]` constraint (any such strategy is counted as serving everyone, whatever its
 * rollout or other constraints), or it is enabled with no active strategy at all. A tenant is
 * enabled when the environment is enabled and an active strategy has `tenantId IN [... tenant ...]`.
 *
 * Per-tenant enablement is one `flexibleRollout` strategy at 100% constrained by
 * `tenantId IN [...]`. It is created (or updated) BEFORE the environment is switched on: Unleash
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

function tenantConstraint(s: Strategy): Constraint | undefined {
  return s.constraints?.find(
    (c) => c.contextName === TENANT_CONTEXT_FIELD && c.operator === 'IN' && !c.inverted,
  );
}

/** The strategies without a tenant constraint listed in a restored state's detail. */
function restoredGlobalStrategies(to: DesiredState): { id: string; name: string }[] {
  const list = to.detail?.strategies;
  if (!Array.isArray(list)) return [];
  return (list as { id?: unknown; name?: unknown; tenants?: unknown }[])
    .filter((s) => typeof s?.id === 'string' && (s.tenants === null || s.tenants === undefined))
    .map((s) => ({ id: s.id as string, name: String(s.name ?? '') }));
}

/** Unleash feature flags; tenants via a `tenantId IN [...]` constrained strategy. */
export class UnleashBackend implements FlagBackend {
  readonly name = 'unleash' as const;
  readonly globalMeaning =
    'the environment is enabled with a strategy that has no tenantId constraint';
  private readonly client: HttpClientOptions;

  constructor(
    private readonly o: UnleashOptions,
    private readonly logger: Logger,
  ) {
    this.client = { service: 'Unleash', secrets: [o.token], retry: o.retry, logger };
  }

  private url(flag: string, rest = ''): string {
    return `${this.o.baseUrl.replace(/\/+$/, '')}/api/admin/projects/${encodeURIComponent(this.o.project)}/features/${encodeURIComponent(flag)}${rest}`;
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

  private async environment(flag: string): Promise<Environment> {
    const res = await this.call('GET', this.url(flag));
    const envs = (res.json as { environments?: Environment[] })?.environments ?? [];
    const env = envs.find((e) => e.name === this.o.environment);
    if (!env) {
      throw new BackendError(
        `Unleash flag ${flag} has no environment '${this.o.environment}' in project ${this.o.project} (has: ${envs.map((e) => e.name).join(', ') || 'none'})`,
        404,
      );
    }
    return env;
  }

  async read(flag: string): Promise<FlagState> {
    const env = await this.environment(flag);
    const active = env.strategies.filter((s) => !s.disabled);
    const tenantStrategies = active.filter((s) => tenantConstraint(s));
    const globalOn =
      env.enabled && (active.length === 0 || active.some((s) => !tenantConstraint(s)));
    const tenants = new Set<string>();
    if (env.enabled)
      for (const s of tenantStrategies)
        for (const v of tenantConstraint(s)!.values ?? []) tenants.add(v);
    return {
      flag,
      global: globalOn ? 'on' : 'off',
      tenants: [...tenants].sort(),
      backend: 'unleash',
      exists: true,
      backendDetail: {
        enabled: env.enabled,
        strategies: active.map((s) => ({
          id: s.id,
          name: s.name,
          tenants: tenantConstraint(s)?.values ?? null,
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

  /** Updates strategy `s` as it is, with `disabled` and optionally a new title. */
  private putStrategy(flag: string, s: Strategy, disabled: boolean, title?: string) {
    return this.call('PUT', this.envUrl(flag, `/strategies/${encodeURIComponent(s.id)}`), {
      name: s.name,
      title: title ?? s.title ?? undefined,
      constraints: s.constraints ?? [],
      parameters: s.parameters ?? {},
      segments: s.segments ?? [],
      variants: s.variants ?? [],
      disabled,
    });
  }

  /** Moves the environment to the desired state in a safe order (see the module comment). */
  async write(change: FlagChange): Promise<void> {
    const { flag, to, comment } = change;
    const env = await this.environment(flag);
    const active = env.strategies.filter((s) => !s.disabled);
    const tenantStrategies = active.filter((s) => tenantConstraint(s));
    const globalStrategies = active.filter((s) => !tenantConstraint(s));
    const shouldEnable = to.global === 'on' || to.tenants.length > 0;
    const strategies = (id = '') =>
      this.envUrl(flag, `/strategies${id ? `/${encodeURIComponent(id)}` : ''}`);

    if (!shouldEnable && env.enabled) {
      this.logger.info(`Unleash: switching ${this.o.environment} off`);
      await this.call('POST', this.envUrl(flag, '/off'), undefined, true);
    }
    let keep: Strategy | undefined;
    if (to.tenants.length > 0) {
      const constraint: Constraint = {
        contextName: TENANT_CONTEXT_FIELD,
        operator: 'IN',
        values: [...to.tenants],
        inverted: false,
        caseInsensitive: false,
      };
      keep = tenantStrategies[0];
      if (keep) {
        const constraints = (keep.constraints ?? []).map((c) =>
          c === tenantConstraint(keep!) ? constraint : c,
        );
        await this.call('PUT', strategies(keep.id), {
          name: keep.name,
          title: comment,
          constraints,
          parameters: keep.parameters ?? {},
          segments: keep.segments ?? [],
          variants: keep.variants ?? [],
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
    }
    const wanted = restoredGlobalStrategies(to).map((s) => s.id);
    const reactivate =
      to.global === 'on' || !shouldEnable
        ? env.strategies.filter((s) => s.disabled && !tenantConstraint(s) && wanted.includes(s.id))
        : [];
    for (const s of reactivate) {
      this.logger.info(`Unleash: re-activating strategy ${s.name} ${s.id}`);
      await this.putStrategy(flag, s, false);
    }
    if (to.global === 'on' && globalStrategies.length === 0 && reactivate.length === 0) {
      await this.call('POST', strategies(), {
        name: 'flexibleRollout',
        title: comment,
        constraints: [],
        parameters: { rollout: '100', stickiness: 'default', groupId: flag },
        disabled: false,
      });
    }
    if (to.global === 'off' && shouldEnable) {
      // The environment stays on for the tenants: a strategy without a tenantId constraint
      // would serve everyone. Deactivate it (not delete) so a restore can bring it back as it
      // was. When the environment goes off instead, such strategies stay as they are, dormant.
      for (const s of globalStrategies) {
        this.logger.info(
          `Unleash: deactivating strategy ${s.name} ${s.id} (no tenantId constraint; kept for a restore)`,
        );
        await this.putStrategy(flag, s, true);
      }
    }
    for (const s of tenantStrategies) if (s !== keep) await this.call('DELETE', strategies(s.id));
    if (shouldEnable && !env.enabled) {
      this.logger.info(`Unleash: switching ${this.o.environment} on (after its strategies exist)`);
      await this.call('POST', this.envUrl(flag, '/on'), undefined, true);
    }
  }

  async close(): Promise<void> {}
}

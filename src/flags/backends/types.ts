/**
 * The contract between the flag engine (`src/flags/engine.ts`) and each feature-flag backend.
 *
 * Every backend maps its own data model onto one backend-neutral {@link FlagState}. What
 * "global" means differs per backend and is documented on each implementation and in
 * `actions/flag-toggle/README.md`:
 * - `postgres`: the flag row's `global_enabled` column.
 * - `http`: the field the read template names (`read.globalPath`), default `global`.
 * - `launchdarkly`: in the environment, the flag is on and its fallthrough (default rule) serves
 *   the `true` variation, or a clause-less rule serves it, or the flag is off and its off
 *   variation is `true`.
 * - `unleash`: the environment is enabled and has an active strategy with no `tenantId`
 *   constraint (such a strategy serves everyone).
 */

/** `on` or `off`: the flag's state for everyone not individually targeted. */
export type GlobalState = 'on' | 'off';

/** The four supported backends. */
export const BACKENDS = ['postgres', 'http', 'launchdarkly', 'unleash'] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * A feature flag's state in one environment, the same shape for every backend. This is what the
 * action prints as `previous-state` and `state`, and what `restore` accepts.
 */
export interface FlagState {
  /** The flag key. */
  flag: string;
  /** Whether the flag serves `true` to everyone (per backend, see the module comment). */
  global: GlobalState;
  /** Tenant ids the flag is individually enabled for, sorted. */
  tenants: string[];
  /**
   * Percentage rollout: the share of contexts (not individually targeted), in percent from 0 to
   * 100 (up to three decimals), that the flag serves `true` to through a sticky percentage
   * rollout. `100` whenever `global` is `on`; `0` when there is no rollout. Absent in states
   * written by versions without percentage rollouts (read as `global` on → 100, off → 0).
   * Per backend: postgres `rollout_percentage`, http the read template's `percentagePath`,
   * launchdarkly the `true` weight of the fallthrough rollout, unleash the `rollout` of the
   * `flexibleRollout` strategy without constraints.
   */
  percentage?: number;
  /** The backend that produced this state. */
  backend?: BackendName;
  /** Whether the flag exists in the backend (`false`: a read of a missing flag, treated as off). */
  exists?: boolean;
  /** Backend-specific facts (LaunchDarkly `on`, Unleash strategy ids, Postgres `version` ...). */
  backendDetail?: Record<string, unknown>;
}

/** The state a write should produce: global and the exact set of enabled tenants. */
export interface DesiredState {
  global: GlobalState;
  tenants: string[];
  /** Percentage rollout in percent (0–100); `100` exactly when `global` is `on`. */
  percentage?: number;
  /** For `restore`: the `backendDetail` of the state being restored (LaunchDarkly uses `on`). */
  detail?: Record<string, unknown>;
}

/** One write: from the state just read to the desired state, with the audit comment. */
export interface FlagChange {
  flag: string;
  /** The state read immediately before this write (with its `backendDetail`). */
  from: FlagState;
  to: DesiredState;
  /** Audit comment: actor, workflow run URL, reason (see `auditComment`). */
  comment: string;
  /** The operation that asked for the change (`enable`, `disable`, `restore`). */
  operation: string;
  /** Who asked (GitHub actor or local user). */
  actor: string;
  /** The workflow run URL, when in GitHub Actions. */
  runUrl?: string;
  /** The `reason` input. */
  reason?: string;
  /**
   * The guard on the global state (`any` when absent). A backend whose write could serve the
   * flag to contexts beyond the tenants in a way {@link FlagState.global} does not show
   * (LaunchDarkly: rules with clauses that turning the flag on activates) refuses under `off`.
   */
  globalMustBe?: 'on' | 'off' | 'any';
}

/** The subset of a backend used inside {@link FlagBackend.withFlagLock}. */
export interface FlagStore {
  /**
   * Reads the flag's current state. A flag that does not exist reads as
   * `{global: 'off', tenants: [], exists: false}` for backends that create flags on first write
   * (postgres); the SaaS backends throw a `BackendError` with status 404.
   */
  read(flag: string): Promise<FlagState>;
  /** Applies `change`. Backends translate the desired state into their own requests. */
  write(change: FlagChange): Promise<void>;
}

/** A feature-flag backend. */
export interface FlagBackend extends FlagStore {
  readonly name: BackendName;
  /** One sentence: what "global" means in this backend. Printed in logs and the summary. */
  readonly globalMeaning: string;
  /**
   * Optional: runs `fn` with the flag locked, so the guard check, the write and the read-back are
   * atomic (postgres: one transaction, `SELECT ... FOR UPDATE` on the flag row). When `fn`
   * throws, nothing it wrote is kept.
   */
  withFlagLock?<T>(flag: string, fn: (store: FlagStore) => Promise<T>): Promise<T>;
  /**
   * Optional, for `restore`: the differences between `current` and the restored state `to`
   * that global and tenants do not show (LaunchDarkly: the `on` switch, default rule, off
   * variation), as human-readable actions. The engine writes when this is not empty, and fails
   * verification when it is not empty after the write. Empty when `to.detail` is absent.
   */
  detailChanges?(current: FlagState, to: DesiredState): string[];
  /**
   * Optional, for verify by evaluation: what the service serves to one context per key (the key
   * as tenant id and user key), asked through its evaluation API (Unleash Playground,
   * LaunchDarkly's evaluate endpoint, the postgres `feature_flag_enabled` function).
   * @returns enabled by key
   */
  evaluate?(flag: string, keys: string[]): Promise<Record<string, boolean>>;
  /**
   * Set by a write that went through the service's approval flow (LaunchDarkly approval
   * requests): the request's id, link and outcome, for the job summary.
   */
  lastApproval?: { id: string; url: string; outcome: string; waitedMs: number };
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * An error a backend's server returned (HTTP status, or a PostgreSQL failure). `status` is the
 * HTTP status code when there is one. Messages never contain tokens.
 */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

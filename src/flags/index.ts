/**
 * Public API of the flags engine: per-tenant and global feature-flag toggles on PostgreSQL,
 * a home-grown HTTP admin API, LaunchDarkly and Unleash, guarded and verified.
 *
 * ```ts
 * const r = await toggleFlag(
 *   { backend: 'postgres', databaseUrl, operation: 'enable', plan: 'examples/paket7/flags.yml' },
 *   logger,
 * );
 * // later, on rollback:
 * await restoreFlag({ backend: 'postgres', databaseUrl, restoreState: r.previousState }, logger);
 * ```
 */
export {
  toggleFlag,
  restoreFlag,
  auditComment,
  describeChange,
  normalizeTenants,
  parseRestoreState,
  FlagGuardError,
  FlagVerifyError,
  OPERATIONS,
  DEFAULT_KEY_PATTERN,
  DEFAULT_TENANT_PATTERN,
  MAX_PATTERN_LENGTH,
  checkPercentage,
  percentageOf,
  type Operation,
  type ToggleOptions,
  type ToggleResult,
  type FlagGuard,
} from './engine.js';
export { loadPlan, type FlagPlan } from './plan.js';
export { createBackend, type BackendOptions } from './backends/index.js';
export { flagTablesDdl, flagBucket } from './backends/postgres.js';
export { flagFailureSummary, flagSummary } from './summary.js';
export {
  BACKENDS,
  BackendError,
  type BackendName,
  type DesiredState,
  type FlagBackend,
  type FlagChange,
  type FlagState,
  type FlagStore,
  type GlobalState,
} from './backends/types.js';
export {
  runFlagRollout,
  checkRolloutSteps,
  type FlagRolloutOptions,
  type FlagRolloutResult,
  type FlagRolloutStep,
  type FlagRolloutStepResult,
  type FlagRolloutGate,
  type FlagRolloutGateContext,
  type FlagRolloutVerdict,
} from './rollout.js';
export { flagRolloutSummary } from './summary.js';

/**
 * Guarded flag rollouts: a feature flag stepped through percentages of all contexts (for
 * example 1% → 5% → 25% → 100%), each step judged by a gate (the canary gate's analysis), with a
 * rollback to the exact state before the rollout when a step's verdict is not `pass`.
 *
 * The vocabulary follows Argo Rollouts (`steps: [{setWeight}, {pause: {duration}}]`, analysis
 * between steps) and LaunchDarkly's guarded rollouts (a percentage rollout on the default rule,
 * measured at each stage, rolled back on a regression). The judge is the caller's: the release
 * plan passes the canary gate; tests pass a scripted verdict.
 *
 * ```ts
 * const r = await runFlagRollout(
 *   {
 *     backend: 'postgres', databaseUrl, flag: 'BILLING_ENFORCEMENT',
 *     steps: [{ percent: 1, durationMs: 1_800_000 }, { percent: 5 }, { percent: 25 }, { percent: 100 }],
 *     gate: async (step) => (await runCanaryGate({...criteria, durationMs: step.durationMs})).verdict,
 *   },
 *   logger,
 * );
 * if (r.outcome !== 'completed') process.exitCode = 1; // the flag is back at r.previousState
 * ```
 */
import { ConfigError, type Logger } from '../errors.js';
import { createBackend } from './backends/index.js';
import type { FlagBackend, FlagState } from './backends/types.js';
import {
  checkPercentage,
  percentageOf,
  restoreFlag,
  toggleFlag,
  type ToggleOptions,
  type ToggleResult,
} from './engine.js';

/** One step of a flag rollout. */
export interface FlagRolloutStep {
  /** Percentage of contexts the flag is served to during this step, 0–100 (up to 3 decimals). */
  percent: number;
  /**
   * How long the step is observed before its verdict, in milliseconds (the plan's `duration`,
   * e.g. `30m` → 1800000). Passed to the gate, which measures over it; the rollout itself does
   * not sleep. Default 0 (judge immediately).
   */
  durationMs?: number;
}

/** The verdict of a gate on one step; the canary gate's `Verdict`. */
export type FlagRolloutVerdict = 'pass' | 'fail' | 'inconclusive';

/** What the gate is told about the step it judges. */
export interface FlagRolloutGateContext {
  /** 0-based index of the step. */
  index: number;
  /** The step's percentage. */
  percent: number;
  /** The step's observation window, milliseconds. */
  durationMs: number;
  /** The flag state verified after the step's write. */
  state: FlagState;
  /** Cancelled when the rollout is aborted from outside (the `signal` option). */
  signal?: AbortSignal;
}

/**
 * The gate: judges one step after its percentage is set and verified. Returns a verdict, or an
 * object with the verdict and a reason for the report. Throwing counts as a failed step (the flag
 * is restored, then the error is rethrown).
 */
export type FlagRolloutGate = (
  step: FlagRolloutGateContext,
) => Promise<FlagRolloutVerdict | { verdict: FlagRolloutVerdict; reason?: string }>;

/** Options of {@link runFlagRollout}: the flag-toggle options plus the steps and the gate. */
export interface FlagRolloutOptions extends Omit<
  ToggleOptions,
  'operation' | 'percentage' | 'restoreState' | 'scope' | 'dryRun'
> {
  /** The steps in order; percentages must not decrease. At least one, at most 20. */
  steps: FlagRolloutStep[];
  gate: FlagRolloutGate;
  /**
   * What an `inconclusive` verdict does: `rollback` (default, as the canary gate's failure
   * limit treats it when the plan asks for a decision) or `continue` (treat as pass).
   */
  onInconclusive?: 'rollback' | 'continue';
  /** Aborting it stops before the next step and restores the previous state. */
  signal?: AbortSignal;
}

/** What happened in one step. */
export interface FlagRolloutStepResult {
  index: number;
  percent: number;
  durationMs: number;
  /** The toggle of this step (state read before and verified after). */
  toggle?: ToggleResult;
  verdict?: FlagRolloutVerdict;
  reason?: string;
  /** The step's write or the gate threw (message, secrets already redacted by the engine). */
  error?: string;
}

/** The result of {@link runFlagRollout}. */
export interface FlagRolloutResult {
  flag: string;
  backend: string;
  /**
   * `completed`: every step passed; `rolled-back`: a step did not pass (or failed, or the run
   * was aborted) and the flag was restored to {@link previousState}; `rollback-failed`: the
   * restore itself failed: the flag is in {@link finalState} (or unknown) and must be restored
   * by hand with `previousState`.
   */
  outcome: 'completed' | 'rolled-back' | 'rollback-failed';
  /** The state before the first step: what a rollback restores (the `previous-state`). */
  previousState: FlagState;
  /** The state at the end: after the last step, or after the restore. */
  finalState?: FlagState;
  steps: FlagRolloutStepResult[];
  /** Index of the step that did not pass. */
  failedStep?: number;
  /** Why the rollout stopped (verdict reason or error message). */
  reason?: string;
  /** The restore's error message when `outcome` is `rollback-failed`. */
  rollbackError?: string;
}

/**
 * Validates rollout steps: 1–20 steps, percentages 0–100 that do not decrease, durations ≥ 0.
 * @throws ConfigError naming `steps[i].percent` or `steps[i].duration`
 */
export function checkRolloutSteps(steps: FlagRolloutStep[]): FlagRolloutStep[] {
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > 20)
    throw new ConfigError('a rollout needs 1 to 20 steps', undefined, 'steps');
  let last = -1;
  return steps.map((s, i) => {
    const percent = checkPercentage(s.percent, `steps[${i}].percent`);
    if (percent < last)
      throw new ConfigError(
        `${percent}% is below the previous step's ${last}%: a rollout only goes up (a failed gate restores the state before the rollout)`,
        undefined,
        `steps[${i}].percent`,
      );
    last = percent;
    const durationMs = s.durationMs ?? 0;
    if (!Number.isFinite(durationMs) || durationMs < 0)
      throw new ConfigError(
        `expected a duration of 0 or more milliseconds, got '${String(s.durationMs)}'`,
        undefined,
        `steps[${i}].duration`,
      );
    return { percent, durationMs };
  });
}

/**
 * Runs a guarded flag rollout: for each step, sets the flag's percentage rollout (guarded and
 * verified like any `enable`), then asks `gate` for a verdict. On a verdict other than `pass`
 * (or `inconclusive` with `onInconclusive: continue`), an error in a write or the gate, or an
 * abort, restores the exact state read before the first step (`restore`, which also puts back
 * backend details such as LaunchDarkly's default rule or Unleash's strategies) and stops.
 *
 * One backend connection serves the whole rollout. Steps whose percentage is already in place
 * are verified no-ops (a re-run after a cancelled job continues where it stopped).
 *
 * @returns the outcome: a failed gate, a failed write or gate call, and a failed restore are
 *   reported in it (`rolled-back`, `rollback-failed`), not thrown
 * @throws ConfigError for bad steps or options, and the backend's error when the state before
 *   the rollout cannot be read (nothing is written in either case)
 */
export async function runFlagRollout(
  options: FlagRolloutOptions,
  logger: Logger,
): Promise<FlagRolloutResult> {
  const steps = checkRolloutSteps(options.steps);
  if (typeof options.gate !== 'function')
    throw new ConfigError('a rollout needs a gate function', undefined, 'gate');
  const owned = typeof options.backend !== 'object';
  const backend: FlagBackend =
    typeof options.backend === 'object'
      ? options.backend
      : await createBackend(options.backend ?? 'postgres', options, logger);
  const { steps: _s, gate, onInconclusive, signal, ...toggleOptions } = options;
  const base = { ...toggleOptions, backend };
  const results: FlagRolloutStepResult[] = [];
  try {
    const previousState = (await toggleFlag({ ...base, operation: 'status' }, logger))
      .previousState;
    const flag = previousState.flag;
    logger.info(
      `flag rollout ${flag} on ${backend.name}: ${steps.map((s) => `${s.percent}%`).join(' → ')} (from ${percentageOf(previousState)}%)`,
    );
    let stopReason: string | undefined;
    let failedStep: number | undefined;
    for (const [index, step] of steps.entries()) {
      const res: FlagRolloutStepResult = { index, ...step, durationMs: step.durationMs ?? 0 };
      results.push(res);
      if (signal?.aborted) {
        res.error = 'aborted before this step';
        stopReason = `aborted before step ${index + 1} (${step.percent}%)`;
        failedStep = index;
        break;
      }
      try {
        res.toggle = await toggleFlag(
          { ...base, operation: 'enable', percentage: step.percent },
          logger,
        );
        const out = await gate({
          index,
          percent: step.percent,
          durationMs: res.durationMs,
          state: res.toggle.state,
          signal,
        });
        res.verdict = typeof out === 'string' ? out : out.verdict;
        res.reason = typeof out === 'string' ? undefined : out.reason;
      } catch (e) {
        res.error = (e as Error).message;
        stopReason = `step ${index + 1} (${step.percent}%): ${res.error}`;
        failedStep = index;
        break;
      }
      logger.info(
        `step ${index + 1}/${steps.length} at ${step.percent}%: verdict ${res.verdict}${res.reason ? ` — ${res.reason}` : ''}`,
      );
      const passed =
        res.verdict === 'pass' || (res.verdict === 'inconclusive' && onInconclusive === 'continue');
      if (!passed) {
        stopReason = `step ${index + 1} (${step.percent}%): verdict ${res.verdict}${res.reason ? `: ${res.reason}` : ''}`;
        failedStep = index;
        break;
      }
    }
    if (failedStep === undefined) {
      return {
        flag,
        backend: backend.name,
        outcome: 'completed',
        previousState,
        finalState: results.at(-1)?.toggle?.state,
        steps: results,
      };
    }
    logger.warning(`flag rollout ${flag} stopped at ${stopReason}; restoring the previous state`);
    try {
      const restored = await restoreFlag(
        {
          ...base,
          restoreState: previousState,
          reason: `rollback: ${stopReason}`.slice(0, 500),
        },
        logger,
      );
      logger.info(
        `flag rollout ${flag}: restored global ${restored.state.global}, percentage ${percentageOf(restored.state)}%, tenants ${restored.state.tenants.join(', ') || '(none)'}`,
      );
      return {
        flag,
        backend: backend.name,
        outcome: 'rolled-back',
        previousState,
        finalState: restored.state,
        steps: results,
        failedStep,
        reason: stopReason,
      };
    } catch (e) {
      logger.error(
        `flag rollout ${flag}: the restore failed: ${(e as Error).message}. Restore by hand with restore-state ${JSON.stringify(previousState)}`,
      );
      return {
        flag,
        backend: backend.name,
        outcome: 'rollback-failed',
        previousState,
        steps: results,
        failedStep,
        reason: stopReason,
        rollbackError: (e as Error).message,
      };
    }
  } finally {
    if (owned) await backend.close();
  }
}

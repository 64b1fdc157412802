/**
 * Judging measurements: one measurement per metric per interval, and the limits that turn a
 * run of measurements into a verdict. The limits are named after Argo Rollouts', but every
 * limit counts *consecutive* measurements: `failure-limit` is a run of failures that a success
 * resets, whereas Argo's `failureLimit` counts total failures (see criteria.ts).
 *
 * - Count-based rates (`numerator`/`denominator`): counts are pooled from the first
 *   measurement on (or over the trailing `lookback`, e.g. `10m`, so a regression that starts
 *   late in a long canary is not diluted); until the pooled denominator reaches `min-sample` a measurement is
 *   `pending` (it neither fails nor passes). After that, a `<`/`<=` condition fails only when
 *   the one-sided Wilson lower bound of the pooled rate breaks it (a `>`/`>=` condition: the
 *   upper bound), so noise at low traffic does not abort a canary but a real regression does.
 *   Over at most three events (see `rateBounds`), where the Wilson bound is too narrow, the
 *   exact binomial (Clopper-Pearson) bound is judged when it is wider.
 * - No data (empty result, NaN, null point, zero denominator) follows the metric's `no-data`
 *   policy: `fail`, `inconclusive` (default) or `ignore` (`skipped`; a metric that only ever
 *   skipped can never pass).
 */
import { holds, type MetricCriteria, type Unit } from './criteria.js';
import { rateBounds } from './statistics.js';

/**
 * The outcome of one measurement: `successful` (condition held), `failed` (broken),
 * `inconclusive` (no data, policy `inconclusive`), `error` (the provider failed), `pending`
 * (count metric below `min-sample`: neither passes nor fails) or `skipped` (no data, policy
 * `ignore`).
 */
export type Phase = 'successful' | 'failed' | 'inconclusive' | 'error' | 'pending' | 'skipped';

/**
 * Raw query results at one measurement time; `null` = no data, `undefined` = not queried.
 * Values are in the metric's unit (see {@link MetricCriteria.unit}); counts are numbers of
 * events in the interval ending at the measurement time.
 */
export interface Sample {
  /** The value query's result, in the metric's unit. */
  value?: number | null;
  /** Count of bad events (e.g. 5xx responses) in the interval. */
  numerator?: number | null;
  /** Count of all events (e.g. requests) in the interval. */
  denominator?: number | null;
  /** The baseline (stable version) query's result, in the metric's unit. */
  baseline?: number | null;
  /** A provider error message (the measurement is an `error`). */
  error?: string;
}

/**
 * One judged measurement, as written to the measurements file (JSON). Every number is in the
 * metric's unit (`ratio` 0..1, `percent` 0..100, `seconds`, `milliseconds`, `count`) unless
 * stated; count-based rates are ratios (0.01 = 1%).
 */
export interface Measurement {
  /** RFC 3339 UTC time the measurement stands for: the end of its interval-long window. */
  at: string;
  phase: Phase;
  /**
   * The measured value in the metric's unit, or `null` for no data. Count metrics: this
   * interval's rate numerator / denominator as a ratio (0..1), not the pooled rate.
   */
  value: number | null;
  /** The threshold the value was compared with, in the metric's unit (baseline-relative thresholds resolved). */
  threshold?: number;
  /** Count metrics: bad events (e.g. 5xx responses) in this interval; `null` = no data. */
  numerator?: number | null;
  /** Count metrics: all events (e.g. requests) in this interval; `null` = no data. */
  denominator?: number | null;
  /** Baseline-relative metrics: the baseline query's value in the metric's unit; `null` = no data. */
  baseline?: number | null;
  /**
   * Count metrics: event counts pooled since the first measurement, or over the trailing
   * `lookback` intervals; the judged rate is `numerator / denominator`.
   */
  pooled?: { numerator: number; denominator: number };
  /** Count metrics: pooled rate as a ratio (0..1). */
  estimate?: number;
  /**
   * Count metrics: one-sided lower bound of the pooled rate at the metric's confidence, a ratio
   * (0..1): the Wilson bound, or over at most three events the exact binomial bound when lower.
   */
  lower?: number;
  /** Count metrics: one-sided upper bound of the pooled rate, as `lower` (Wilson, or exact over at most three non-events when higher), a ratio (0..1). */
  upper?: number;
  /** Why the measurement failed, was pending, inconclusive or an error (human-readable). */
  message?: string;
}

/** Running state of one metric. Counts are numbers of measurements unless stated. */
export interface MetricState {
  /** Every measurement so far, oldest first. */
  measurements: Measurement[];
  /** Sum of every counted interval's numerator (events), since the first measurement. */
  pooledNumerator: number;
  /** Sum of every counted interval's denominator (events), since the first measurement. */
  pooledDenominator: number;
  /** Failed measurements in a row (compared with `failure-limit`; a success resets it). */
  consecutiveFailed: number;
  /** Provider errors in a row (compared with `consecutive-error-limit`). */
  consecutiveErrors: number;
  /** Inconclusive measurements in a row (compared with `inconclusive-limit`). */
  consecutiveInconclusive: number;
  /** Totals per phase, for reports. */
  successful: number;
  failed: number;
  errors: number;
  inconclusive: number;
}

/** A fresh {@link MetricState}. */
export function newMetricState(): MetricState {
  return {
    measurements: [],
    pooledNumerator: 0,
    pooledDenominator: 0,
    consecutiveFailed: 0,
    consecutiveErrors: 0,
    consecutiveInconclusive: 0,
    successful: 0,
    failed: 0,
    errors: 0,
    inconclusive: 0,
  };
}

function noData(metric: MetricCriteria, base: Measurement, why: string): Measurement {
  const phase: Phase =
    metric.noData === 'fail' ? 'failed' : metric.noData === 'ignore' ? 'skipped' : 'inconclusive';
  return { ...base, phase, message: `no data: ${why} (no-data: ${metric.noData})` };
}

function thresholdOf(metric: MetricCriteria, baseline: number | null | undefined): number | null {
  const c = metric.condition;
  if (c.relative) {
    if (baseline === null || baseline === undefined) return null;
    return baseline * c.relative.factor + c.relative.offset;
  }
  return c.threshold!;
}

/**
 * Judges one sample of `metric` taken at `atMs` (milliseconds since the epoch), updates
 * `state` and returns the measurement.
 * @param sample - query results in the metric's unit (counts as event counts)
 * @returns the judged measurement, also appended to `state.measurements`
 */
export function measure(
  metric: MetricCriteria,
  state: MetricState,
  sample: Sample,
  atMs: number,
): Measurement {
  const base: Measurement = {
    at: new Date(atMs).toISOString(),
    phase: 'inconclusive',
    value: null,
  };
  // Providers already map NaN/±Inf to null; custom providers and simulations may not. A
  // non-finite number is no data, never a value (NaN != 0 would otherwise hold, and a NaN
  // count would poison the pooled counts for the rest of the canary).
  sample = {
    ...sample,
    value: finiteOrNull(sample.value),
    numerator: finiteOrNull(sample.numerator),
    denominator: finiteOrNull(sample.denominator),
    baseline: finiteOrNull(sample.baseline),
  };
  let m: Measurement;
  if (sample.error !== undefined) {
    m = { ...base, phase: 'error', message: sample.error };
  } else if (metric.numerator !== undefined) {
    m = measureCounts(metric, state, sample, base);
  } else {
    const value = sample.value ?? null;
    const threshold = thresholdOf(metric, sample.baseline);
    const withValues: Measurement = {
      ...base,
      value,
      ...(metric.baseline ? { baseline: sample.baseline ?? null } : {}),
      ...(threshold !== null ? { threshold } : {}),
    };
    if (value === null) m = noData(metric, withValues, 'the query returned no value');
    else if (threshold === null)
      m = noData(metric, withValues, 'the baseline query returned no value');
    else {
      const ok = holds(metric.condition.op, value, threshold);
      m = { ...withValues, phase: ok ? 'successful' : 'failed' };
    }
  }
  record(state, m);
  return m;
}

function finiteOrNull(v: number | null | undefined): number | null | undefined {
  if (v === undefined || v === null) return v;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function measureCounts(
  metric: MetricCriteria,
  state: MetricState,
  sample: Sample,
  base: Measurement,
): Measurement {
  const num = sample.numerator ?? null;
  const den = sample.denominator ?? null;
  const threshold = thresholdOf(metric, sample.baseline);
  const withValues: Measurement = {
    ...base,
    numerator: num,
    denominator: den,
    value: num !== null && den !== null && den > 0 ? num / den : null,
    ...(metric.baseline ? { baseline: sample.baseline ?? null } : {}),
    ...(threshold !== null ? { threshold } : {}),
  };
  if (den === null) return noData(metric, withValues, 'the denominator query returned no value');
  if (den <= 0) return noData(metric, withValues, 'no requests in this interval (denominator 0)');
  if (num === null) {
    return noData(
      metric,
      withValues,
      'the numerator query returned no value (append `or vector(0)` if no series means zero)',
    );
  }
  state.pooledNumerator += Math.max(0, num);
  state.pooledDenominator += den;
  let pooled = { numerator: state.pooledNumerator, denominator: state.pooledDenominator };
  if (metric.lookbackIntervals !== undefined) {
    // This interval plus the previous (pool - 1) measurement times, counted or not.
    pooled = { numerator: Math.max(0, num), denominator: den };
    const previous =
      metric.lookbackIntervals > 1 ? state.measurements.slice(-(metric.lookbackIntervals - 1)) : [];
    for (const prev of previous) {
      if (
        typeof prev.numerator === 'number' &&
        typeof prev.denominator === 'number' &&
        prev.denominator > 0
      ) {
        pooled.numerator += Math.max(0, prev.numerator);
        pooled.denominator += prev.denominator;
      }
    }
  }
  const b = rateBounds(pooled.numerator, pooled.denominator, metric.confidence)!;
  const withBounds: Measurement = {
    ...withValues,
    pooled,
    estimate: b.estimate,
    lower: b.lower,
    upper: b.upper,
  };
  if (threshold === null) return noData(metric, withBounds, 'the baseline query returned no value');
  if (pooled.denominator < metric.minSample) {
    return {
      ...withBounds,
      phase: 'pending',
      message: `${fmtCount(pooled.denominator)} requests so far; judging starts at min-sample ${metric.minSample}`,
    };
  }
  const op = metric.condition.op;
  // Judge the bound that is most favourable to the canary: a breach must be beyond noise.
  const judged =
    op === '<' || op === '<=' ? b.lower : op === '>' || op === '>=' ? b.upper : b.estimate;
  const ok = holds(op, judged, threshold);
  return {
    ...withBounds,
    phase: ok ? 'successful' : 'failed',
    message: ok
      ? undefined
      : `pooled rate ${fmtIn(b.estimate, metric.unit)} (${fmtCount(pooled.numerator)}/${fmtCount(pooled.denominator)}); ${op === '<' || op === '<=' ? 'lower' : 'upper'} ${Math.round(metric.confidence * 100)}% bound ${fmtIn(judged, metric.unit)} breaks ${metric.condition.text}`,
  };
}

function record(state: MetricState, m: Measurement): void {
  state.measurements.push(m);
  switch (m.phase) {
    case 'successful':
      state.successful++;
      state.consecutiveFailed = 0;
      state.consecutiveErrors = 0;
      state.consecutiveInconclusive = 0;
      break;
    case 'failed':
      state.failed++;
      state.consecutiveFailed++;
      state.consecutiveErrors = 0;
      state.consecutiveInconclusive = 0;
      break;
    case 'error':
      state.errors++;
      state.consecutiveErrors++;
      break;
    case 'inconclusive':
      state.inconclusive++;
      state.consecutiveInconclusive++;
      state.consecutiveErrors = 0;
      break;
    case 'pending':
      state.consecutiveErrors = 0;
      break;
    case 'skipped':
      break;
  }
}

/** Limits from the criteria, each a number of consecutive measurements tolerated. */
export interface Limits {
  /** Consecutive failed measurements tolerated (not Argo's total-failures `failureLimit`). */
  failureLimit: number;
  /** Consecutive provider errors tolerated. */
  consecutiveErrorLimit: number;
  /** Consecutive inconclusive measurements tolerated. */
  inconclusiveLimit: number;
}

/** Where a metric stands after its latest measurement: a limit it hit (with a one-line reason) or still `running`. */
export type MetricOutcome =
  { status: 'failed' | 'error' | 'inconclusive'; reason: string } | { status: 'running' };

/**
 * Applies the limits to a metric's state: `failed` when its consecutive failures exceed
 * `failure-limit` (so with `failure-limit: 2` the third failure in a row fails), `error` when
 * consecutive provider errors exceed `consecutive-error-limit`, `inconclusive` when
 * consecutive inconclusive measurements exceed `inconclusive-limit`.
 */
export function outcome(metric: MetricCriteria, state: MetricState, limits: Limits): MetricOutcome {
  const last = state.measurements[state.measurements.length - 1];
  const why = last?.message ? `: ${last.message}` : '';
  if (state.consecutiveFailed > limits.failureLimit) {
    return {
      status: 'failed',
      reason: `${metric.name} failed ${state.consecutiveFailed} consecutive measurement(s) (failure-limit ${limits.failureLimit}); last value ${fmtIn(last.value, metric.unit)} vs ${metric.condition.text}${metric.condition.relative && last.threshold !== undefined ? ` (threshold ${fmtIn(last.threshold, metric.unit)})` : ''}${why}`,
    };
  }
  if (state.consecutiveErrors > limits.consecutiveErrorLimit) {
    return {
      status: 'error',
      reason: `${metric.name}: ${state.consecutiveErrors} consecutive provider errors (consecutive-error-limit ${limits.consecutiveErrorLimit})${why}`,
    };
  }
  if (state.consecutiveInconclusive > limits.inconclusiveLimit) {
    return {
      status: 'inconclusive',
      reason: `${metric.name}: ${state.consecutiveInconclusive} consecutive inconclusive measurement(s) (inconclusive-limit ${limits.inconclusiveLimit})${why}`,
    };
  }
  return { status: 'running' };
}

/** Why a metric that reached the end of its measurements cannot pass yet, or `undefined` when it holds. */
export function notYetPassing(metric: MetricCriteria, state: MetricState): string | undefined {
  const judged = state.measurements.filter((m) => m.phase !== 'skipped');
  const last = judged[judged.length - 1];
  if (!last || state.successful === 0) {
    return `${metric.name} has no successful measurement${last?.message ? ` (${last.message})` : ''}`;
  }
  if (last.phase === 'pending') return `${metric.name}: ${last.message}`;
  if (last.phase !== 'successful') {
    return `${metric.name}: the last measurement was ${last.phase}${last.message ? ` (${last.message})` : ''}`;
  }
  return undefined;
}

/**
 * Formats a value in its metric's unit for messages, so it reads like the condition: a ratio
 * as percent (`0.063` → `6.3%`), `percent` with `%`, seconds and milliseconds with `s`/`ms`.
 */
export function fmtIn(v: number | null | undefined, unit: Unit): string {
  if (v === null || v === undefined) return 'no data';
  switch (unit) {
    case 'ratio':
      return `${fmt(v * 100)}%`;
    case 'percent':
      return `${fmt(v)}%`;
    case 'seconds':
      return `${fmt(v)} s`;
    case 'milliseconds':
      return `${fmt(v)} ms`;
    default:
      return fmt(v);
  }
}

/** Formats a number for messages: up to 4 significant digits. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'no data';
  if (v === 0) return '0';
  return Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(4)).toString();
}

function fmtCount(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

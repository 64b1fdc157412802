/**
 * Judging measurements: one measurement per metric per interval, and the limits that turn a
 * run of measurements into a verdict. The limits are named after Argo Rollouts', but every
 * limit counts *consecutive* measurements: `failure-limit` is a run of failures that a success
 * resets, whereas Argo's `failureLimit` counts total failures (see criteria.ts).
 *
 * - Count-based rates (`numerator`/`denominator`) are judged by a sequential test that stays
 *   honest under repeated looks. At every look two exact binomial tests ask whether the true
 *   rate breaks the condition: one over the counts pooled since the first measurement (power
 *   for a regression present from the start) and one over the trailing `lookback` window
 *   (default 5 intervals, so a regression that starts late is not diluted; `lookback: all`
 *   tests the whole canary only). Each look may spend only its share of the false-fail budget
 *   `1 − confidence` (Lan-DeMets alpha spending, see `lookAlpha`; the window test gets
 *   {@link WINDOW_SHARE} of it), so a healthy canary fails with probability at most
 *   `1 − confidence` however many times the gate looks. Because that bound already accounts
 *   for noise, a rate fails on the first look whose test rejects: `failure-limit` is not applied
 *   to it (it would only delay a verdict that is already significant). Until the pooled
 *   denominator reaches `min-sample` a measurement is `pending` (it neither fails nor passes).
 * - No data (empty result, NaN, null point, zero denominator) follows the metric's `no-data`
 *   policy: `fail`, `inconclusive` (default) or `ignore` (`skipped`; a metric that only ever
 *   skipped can never pass).
 */
import { holds, type MetricCriteria, type Unit } from './criteria.js';
import { binomialPValues, exactBounds, lookAlpha } from './statistics.js';

/**
 * Share of each look's error budget given to the trailing-window test (the rest goes to the
 * whole-canary test) once the canary is longer than its `lookback`.
 */
export const WINDOW_SHARE = 0.2;

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
  /** Count metrics: counts over the trailing `lookback` window, when that is shorter than the canary so far. */
  window?: { numerator: number; denominator: number };
  /** Count metrics: pooled rate as a ratio (0..1). */
  estimate?: number;
  /** Count metrics: the false-fail probability this look may spend (see `lookAlpha`), 0..1. */
  alpha?: number;
  /** Count metrics: the decisive test's one-sided exact binomial p-value, 0..1. */
  pValue?: number;
  /**
   * Count metrics: one-sided exact (Clopper-Pearson) lower bound of the pooled rate at the
   * level this look spends on the whole-canary test, a ratio (0..1).
   */
  lower?: number;
  /** Count metrics: one-sided exact upper bound of the pooled rate, as `lower`, a ratio (0..1). */
  upper?: number;
  /** Why the measurement failed, was pending, inconclusive or an error (human-readable). */
  message?: string;
  /** Why there was no data (whatever the `no-data` policy made of it). */
  noData?: string;
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
  /** Measurements skipped as no data (`no-data: ignore`). */
  skipped: number;
  /** Why measurements had no data: reason → number of measurements (any `no-data` policy). */
  noData: Record<string, number>;
  /** Looks the gate plans (the criteria's `count`), for spending the false-fail budget. */
  plannedLooks: number;
}

/**
 * A fresh {@link MetricState}.
 * @param plannedLooks - measurements the gate plans (the criteria's `count`, default 30)
 */
export function newMetricState(plannedLooks = 30): MetricState {
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
    skipped: 0,
    noData: {},
    plannedLooks,
  };
}

function noData(metric: MetricCriteria, base: Measurement, why: string): Measurement {
  const phase: Phase =
    metric.noData === 'fail' ? 'failed' : metric.noData === 'ignore' ? 'skipped' : 'inconclusive';
  return {
    ...base,
    phase,
    noData: why,
    message: `no data: ${why} (no-data: ${metric.noData})`,
  };
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
    const value = sample.value ?? (metric.absentIsZero ? 0 : null);
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
  const den = sample.denominator ?? null;
  const num = sample.numerator ?? (metric.absentIsZero && den !== null ? 0 : null);
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
      'the numerator query returned no value (set absent-is-zero: true if no series means zero events)',
    );
  }
  state.pooledNumerator += Math.max(0, num);
  state.pooledDenominator += den;
  const pooled = { numerator: state.pooledNumerator, denominator: state.pooledDenominator };
  // The trailing window: this interval plus the previous (lookback - 1) measurement times,
  // counted or not. Tested only once some earlier measurement lies outside it.
  let window: { numerator: number; denominator: number } | undefined;
  const w = metric.lookbackIntervals;
  if (w !== undefined && state.measurements.length >= w) {
    window = { numerator: Math.max(0, num), denominator: den };
    for (const prev of w > 1 ? state.measurements.slice(-(w - 1)) : []) {
      if (
        typeof prev.numerator === 'number' &&
        typeof prev.denominator === 'number' &&
        prev.denominator > 0
      ) {
        window.numerator += Math.max(0, prev.numerator);
        window.denominator += prev.denominator;
      }
    }
  }
  const look = state.measurements.length + 1;
  const alpha = lookAlpha(look, state.plannedLooks, 1 - metric.confidence);
  const wholeAlpha = window ? alpha * (1 - WINDOW_SHARE) : alpha;
  const b = exactBounds(pooled.numerator, pooled.denominator, 1 - wholeAlpha)!;
  const withBounds: Measurement = {
    ...withValues,
    pooled,
    ...(window ? { window } : {}),
    estimate: b.estimate,
    lower: b.lower,
    upper: b.upper,
    alpha,
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
  if (op === '==' || op === '!=') {
    const ok = holds(op, b.estimate, threshold);
    return {
      ...withBounds,
      phase: ok ? 'successful' : 'failed',
      ...(ok
        ? {}
        : {
            message: `pooled rate ${fmtIn(b.estimate, metric.unit)} breaks ${metric.condition.text}`,
          }),
    };
  }
  // Evidence against the condition: that the true rate is above a `<`/`<=` threshold (below
  // a `>`/`>=` one), by the exact binomial test at the level this look may spend.
  const upward = op === '<' || op === '<=';
  const tests: {
    name: string;
    counts: { numerator: number; denominator: number };
    level: number;
  }[] = [{ name: 'whole canary', counts: pooled, level: wholeAlpha }];
  if (window && window.denominator >= metric.minSample) {
    tests.push({
      name: `last ${w} interval(s)`,
      counts: window,
      level: alpha * WINDOW_SHARE,
    });
  }
  let decisive:
    { name: string; p: number; level: number; rate: number; n: number; x: number } | undefined;
  let smallest = Infinity;
  for (const t of tests) {
    const pv = binomialPValues(t.counts.numerator, t.counts.denominator, threshold);
    const p = upward ? pv.above : pv.below;
    // The test that came closest to (or went furthest past) its level decides the message.
    if (p / t.level < smallest) {
      smallest = p / t.level;
      decisive = {
        name: t.name,
        p,
        level: t.level,
        rate: t.counts.numerator / t.counts.denominator,
        x: t.counts.numerator,
        n: t.counts.denominator,
      };
    }
  }
  const d = decisive!;
  const broken = d.p <= d.level && !holds(op, d.rate, threshold);
  return {
    ...withBounds,
    pValue: d.p,
    phase: broken ? 'failed' : 'successful',
    ...(broken
      ? {
          message: `${d.name} rate ${fmtIn(d.rate, metric.unit)} (${fmtCount(d.x)}/${fmtCount(d.n)}) breaks ${metric.condition.text}: p = ${d.p.toPrecision(2)} ≤ ${d.level.toPrecision(2)}, the share of the ${fmtPct(1 - metric.confidence)} false-fail budget spent at look ${look}`,
        }
      : {}),
  };
}

function fmtPct(v: number): string {
  return `${Number((v * 100).toPrecision(3))}%`;
}

function record(state: MetricState, m: Measurement): void {
  state.measurements.push(m);
  if (m.noData) state.noData[m.noData] = (state.noData[m.noData] ?? 0) + 1;
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
      state.skipped++;
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
  // A count-based rate's test already accounts for noise and repeated looks (see the module
  // comment): its first rejection fails.
  const failureLimit = metric.numerator !== undefined ? 0 : limits.failureLimit;
  if (state.consecutiveFailed > failureLimit) {
    const limitText =
      metric.numerator !== undefined
        ? 'failed the sequential rate test'
        : `failed ${state.consecutiveFailed} consecutive measurement(s) (failure-limit ${limits.failureLimit})`;
    return {
      status: 'failed',
      reason: `${metric.name} ${limitText}; last value ${fmtIn(last.value, metric.unit)} vs ${metric.condition.text}${metric.condition.relative && last.threshold !== undefined ? ` (threshold ${fmtIn(last.threshold, metric.unit)})` : ''}${why}`,
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

/**
 * The contract every metrics provider implements. Providers return `null` for "no data" (an
 * empty result, NaN, a null point); they never turn missing data into zero.
 */
import type { Logger } from '../../errors.js';

/** Which query of a metric is being asked for; the replay provider looks recordings up by it. */
export interface QueryRef {
  metric: string;
  role: 'value' | 'numerator' | 'denominator' | 'baseline';
  /** The rendered query text (PromQL or a Datadog metric query). */
  query: string;
}

/** One point of a range result. `t` in milliseconds since the epoch; `v` null = no data. */
export interface Point {
  t: number;
  v: number | null;
}

/** A source of measurements. */
export interface MetricsProvider {
  readonly name: string;
  /**
   * The value of `ref` at `atMs` (milliseconds since the epoch); `intervalMs` is the measurement
   * interval (providers that return windows use it as the window length).
   * @returns the value, or `null` when there is no data
   * @throws ProviderError for a failed request (counted against `consecutive-error-limit`)
   * @throws ConfigError for rejected credentials (never retried)
   */
  instant(ref: QueryRef, atMs: number, intervalMs: number): Promise<number | null>;
  /**
   * Values of `ref` at `startMs, startMs + stepMs, ... <= endMs` (milliseconds). Every step
   * appears in the result, with `v: null` where there is no data.
   */
  range(ref: QueryRef, startMs: number, endMs: number, stepMs: number): Promise<Point[]>;
  /**
   * Optional: how many series a bare selector (e.g. `http_requests_total{code=~"5.."}`) matched
   * between `startMs` and `endMs` (milliseconds), and, for a metric name, which label names its
   * series carry. Lets the gate tell "no series" (a mislabelled query) from "no events".
   * @throws ProviderError when the API cannot answer
   */
  series?(selector: string, startMs: number, endMs: number): Promise<number>;
  labelNames?(metricName: string, startMs: number, endMs: number): Promise<string[]>;
}

/** A failed provider request (network, 5xx, 429 after retries, malformed response, ambiguous result). */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** What every provider factory receives besides its own options. */
export interface ProviderContext {
  logger: Logger;
  /** Waits `ms` milliseconds; injectable so tests observe backoff without sleeping. */
  sleep: (ms: number) => Promise<void>;
  /** Retries after HTTP 429 before giving up (default 5). */
  maxRetries?: number;
  /** Milliseconds before a request without its own signal is aborted (default 30 000). */
  requestTimeoutMs?: number;
  /**
   * The gate's deadline in milliseconds since the epoch: no request and no backoff wait runs
   * past it (the request fails with a {@link ProviderError} instead).
   */
  deadlineMs?: number;
  /** Clock in milliseconds since the epoch (default `Date.now`), for `deadlineMs`. */
  now?: () => number;
}

/** Aligns points to the steps `startMs + k × stepMs`: each step takes the last non-null point in `(t - stepMs, t]`. */
export function alignToSteps(
  points: Point[],
  startMs: number,
  endMs: number,
  stepMs: number,
): Point[] {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const out: Point[] = [];
  let i = 0;
  for (let t = startMs; t <= endMs; t += stepMs) {
    let last: number | null = null;
    while (i < sorted.length && sorted[i].t <= t) {
      if (sorted[i].t > t - stepMs && sorted[i].v !== null) last = sorted[i].v;
      i++;
    }
    out.push({ t, v: last });
  }
  return out;
}

/** Parses a numeric sample; `NaN`, `±Inf` strings and nulls are no data. */
export function sampleValue(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

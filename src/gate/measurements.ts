/**
 * The measurements file: every metric's measurements of one gate run, as JSON. The action
 * writes it (and names it in the `measurements-file` output, ready for `actions/upload-artifact`);
 * the `replay` provider reads it back so criteria can be tuned against a real canary afterwards.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Measurement } from './evaluation.js';

/** Gate verdicts: `pass` (every criterion held for `count` measurements), `fail` (a metric exceeded `failure-limit`), `inconclusive` (anything else: no data, provider errors, window or timeout ran out). */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** One metric's part of a gate result. */
export interface MetricResult {
  name: string;
  /** Provider that measured it: `datadog`, `prometheus`, `grafana`, `replay` (or a custom provider's name). */
  provider: string;
  /** The condition as written, e.g. `< 1%` (the threshold in the metric's unit is in each measurement). */
  condition: string;
  /** Unit of values and thresholds: `ratio` (0..1), `percent` (0..100), `seconds`, `milliseconds`, `count`, `none`. */
  unit: string;
  /** Measured and reported only; never decided the verdict. */
  dryRun: boolean;
  /** The rendered queries, so a replay can tell when they changed. */
  queries: { value?: string; numerator?: string; denominator?: string; baseline?: string };
  /** `successful` when it held, else the limit it hit, or `running` when the gate stopped first. */
  status: 'successful' | 'failed' | 'error' | 'inconclusive' | 'running';
  /** One line: the limit the metric hit and its last value. */
  reason?: string;
  /** Number of measurements in each phase (totals, not consecutive runs). */
  successful: number;
  failed: number;
  errors: number;
  inconclusive: number;
  /** Measurements skipped as no data (`no-data: ignore`); absent in files from older versions. */
  skipped?: number;
  /** Why measurements had no data, whatever their phase: reason → number of measurements. */
  noData?: Record<string, number>;
  /** Every measurement, oldest first, one per interval. */
  measurements: Measurement[];
}

/** What {@link runGate} returns and what the measurements file holds. */
export interface GateResult {
  /** Format version of the measurements file (always 1). */
  version: 1;
  verdict: Verdict;
  /** One line: why this verdict (the metric, its value and the limit it hit). */
  reason: string;
  /** RFC 3339 UTC time of the measurement that failed the gate (only when `verdict` is `fail`). */
  failedAt?: string;
  /**
   * How the measurements were taken: `live` (instant queries as each interval ended),
   * `backtest` (range queries over a past window, one pass) or `replay` (a measurements file).
   */
  mode: 'live' | 'backtest' | 'replay';
  /** Criteria file the run used (path as given). */
  criteria: string;
  /** Measurement times of the first and last measurement (RFC 3339 UTC); each stands for the interval ending then. */
  window: { start: string; end: string };
  /** Milliseconds (not seconds) between measurements; also each measurement's window length. */
  intervalMs: number;
  /** Number of measurements required for a pass (`duration / interval`). */
  count: number;
  /** One entry per metric of the criteria, in file order. */
  metrics: MetricResult[];
}

/** Writes `result` as pretty JSON to `file`, creating its directory. */
export function writeMeasurements(file: string, result: GateResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}

/**
 * Reads a measurements file.
 * @throws ConfigError (naming `input`) when it cannot be read or is not a measurements file
 */
export function readMeasurements(file: string, input = 'replay-file'): GateResult {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read measurements: ${(e as Error).message}`, { file }, input);
  }
  const r = data as Partial<GateResult>;
  if (r?.version !== 1 || !Array.isArray(r.metrics) || !r.window?.start) {
    throw new ConfigError(
      'not a canary-gate measurements file (version 1 with metrics and window)',
      { file },
      input,
    );
  }
  return r as GateResult;
}

/**
 * The measurements file: every metric's measurements of one gate run, as JSON. The action
 * writes it (and names it in the `measurements-file` output, ready for `actions/upload-artifact`);
 * the `replay` provider reads it back so criteria can be tuned against a real canary afterwards.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Measurement } from './evaluation.js';

/** Gate verdicts. */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** One metric's part of a gate result. */
export interface MetricResult {
  name: string;
  provider: string;
  condition: string;
  unit: string;
  dryRun: boolean;
  /** The rendered queries, so a replay can tell when they changed. */
  queries: { value?: string; numerator?: string; denominator?: string; baseline?: string };
  /** `successful` when it held, else the limit it hit, or `running` when the gate stopped first. */
  status: 'successful' | 'failed' | 'error' | 'inconclusive' | 'running';
  reason?: string;
  successful: number;
  failed: number;
  errors: number;
  inconclusive: number;
  measurements: Measurement[];
}

/** What {@link runGate} returns and what the measurements file holds. */
export interface GateResult {
  version: 1;
  verdict: Verdict;
  reason: string;
  /** RFC 3339 time of the measurement that failed the gate. */
  failedAt?: string;
  mode: 'live' | 'backtest' | 'replay';
  /** Criteria file the run used. */
  criteria: string;
  /** Measurement window: first and last measurement times (RFC 3339). */
  window: { start: string; end: string };
  /** Milliseconds between measurements. */
  intervalMs: number;
  /** Measurements required for a pass. */
  count: number;
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

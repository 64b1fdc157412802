/**
 * The smoke run as Markdown: a job summary (GITHUB_STEP_SUMMARY) and the CLI's report.
 */
import { heading, table } from '../report/markdown.js';
import type { SmokeResult, SmokeRun } from './run.js';

/**
 * A heading, a one-line verdict and a table with one row per check: check, HTTP status,
 * latency in milliseconds, pass/fail and (for failures) what went wrong. Contains no secrets:
 * the run's messages are already redacted.
 */
export function smokeSummary(run: SmokeRun, title = 'Smoke checks'): string {
  const total = run.results.length;
  const verdict =
    run.failed === 0
      ? `**${run.passed} of ${total} checks passed** (\`${run.file}\`)\n`
      : `**${run.failed} of ${total} checks failed** (\`${run.file}\`)\n`;
  const rows = run.results.map((r) => [
    r.name,
    r.status ?? '—',
    r.latencyMs ?? '—',
    r.ok ? '✅ pass' : '❌ fail',
    r.error ?? '',
  ]);
  return [
    heading(title),
    verdict,
    table(['check', 'status', 'latency ms', 'result', 'detail'], rows),
  ].join('\n');
}

/** One check in the machine-readable results: the `results` output and `runbook smoke --json`. */
export type SmokeResultRecord = Pick<SmokeResult, 'name' | 'status' | 'latencyMs' | 'ok' | 'error'>;

/**
 * The run's results in the machine-readable shape shared by the action's `results` output and
 * `runbook smoke --json`: one `{ name, status, latencyMs, ok, error }` per check, in run order.
 * `status` is the HTTP status (`null` when no response arrived), `latencyMs` is in milliseconds
 * (`null` without a response), `error` is `null` when the check passed. Contains no secrets: the
 * run's messages are already redacted.
 */
export function smokeResults(run: SmokeRun): SmokeResultRecord[] {
  return run.results.map(({ name, status, latencyMs, ok, error }) => ({
    name,
    status,
    latencyMs,
    ok,
    error,
  }));
}

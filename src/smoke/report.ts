/**
 * The smoke run as Markdown: a job summary (GITHUB_STEP_SUMMARY) and the CLI's report.
 */
import { heading, table } from '../report/markdown.js';
import type { SmokeRun } from './run.js';

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

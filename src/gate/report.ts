/**
 * The gate's job summary (Markdown): the verdict, a table of every metric (last value,
 * threshold, samples, failures) and a Mermaid xychart per metric of value against threshold.
 */
import { heading, table, xychart } from '../report/markdown.js';
import { fmt } from './evaluation.js';
import type { GateResult } from './measurements.js';

const ICON = { pass: '✅', fail: '❌', inconclusive: '⚠️' } as const;

function hhmm(iso: string): string {
  return iso.slice(11, 16);
}

/** Renders a gate result as Markdown for the job summary or the CLI. */
export function renderSummary(result: GateResult, title = 'Canary gate'): string {
  const parts: string[] = [];
  parts.push(heading(`${title}: ${ICON[result.verdict]} ${result.verdict}`, 2));
  parts.push(`${result.reason}\n`);
  parts.push(
    `\nMode \`${result.mode}\`, criteria \`${result.criteria}\`, window ${result.window.start} → ${result.window.end}, ` +
      `interval ${result.intervalMs / 1000} s, ${result.count} measurement(s) required` +
      (result.failedAt ? `, **failed at ${result.failedAt}**` : '') +
      '.\n\n',
  );
  parts.push(
    table(
      [
        'Metric',
        'Provider',
        'Condition',
        'Last value',
        'Threshold',
        'Samples',
        'Successful',
        'Failed',
        'Errors',
        'Inconclusive',
        'Status',
      ],
      result.metrics.map((m) => {
        const last =
          [...m.measurements].reverse().find((x) => x.value !== null) ??
          m.measurements[m.measurements.length - 1];
        const samples = last?.pooled
          ? `${fmt(last.pooled.numerator)}/${fmt(last.pooled.denominator)}`
          : String(m.measurements.length);
        return [
          m.dryRun ? `${m.name} (dry-run)` : m.name,
          m.provider,
          `\`${m.condition}\`${m.unit !== 'none' ? ` (${m.unit})` : ''}`,
          fmt(last?.value),
          fmt(last?.threshold),
          samples,
          m.successful,
          m.failed,
          m.errors,
          m.inconclusive,
          m.status,
        ];
      }),
    ),
  );
  for (const m of result.metrics) {
    const pts = m.measurements.filter((x) => x.value !== null);
    if (pts.length === 0) {
      parts.push(`\n**${m.name}**: no data to chart.\n`);
      continue;
    }
    const series = [{ kind: 'line' as const, values: pts.map((x) => x.value as number) }];
    if (pts.every((x) => x.threshold !== undefined))
      series.push({ kind: 'line', values: pts.map((x) => x.threshold!) });
    parts.push(
      '\n' +
        xychart(
          `${m.name} vs ${m.condition}`,
          pts.map((x) => hhmm(x.at)),
          m.unit === 'none' ? m.name : m.unit,
          series,
        ),
    );
  }
  return parts.join('');
}

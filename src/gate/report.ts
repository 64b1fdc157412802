/**
 * The gate's job summary (Markdown): the verdict, a table of every metric (last value,
 * threshold, samples, failures) and a Mermaid xychart per metric of value against threshold.
 */
import { heading, table, xychart } from '../report/markdown.js';
import { fmt } from './evaluation.js';
import type { Measurement } from './evaluation.js';
import type { GateResult, MetricResult } from './measurements.js';

const ICON = { pass: '✅', fail: '❌', inconclusive: '⚠️' } as const;

/** A value for the table: ratios as percent (`6.3%`), other units as measured. */
function show(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || unit !== 'ratio') return fmt(v);
  return `${fmt(v * 100)}%`;
}

/** Most points a chart draws; longer runs are bucketed (each bucket shows its worst value). */
export const MAX_CHART_POINTS = 36;

function label(iso: string, multiDay: boolean): string {
  return multiDay ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/**
 * One Mermaid xychart of a metric: its value, for count-based rates the judged bound (the
 * Wilson bound that decides), and the threshold. Ratios are drawn in percent. At most
 * {@link MAX_CHART_POINTS} points: longer runs are cut into equal buckets of consecutive
 * measurements, each drawn at its last time with its worst value (the highest for `<`/`<=`
 * conditions, the lowest for `>`/`>=`), so a spike is never averaged away.
 */
function chart(m: MetricResult): string {
  const withData = m.measurements.filter((x) => x.value !== null);
  if (withData.length === 0) return `\n**${m.name}**: no data to chart.\n`;
  const op = m.condition
    .trim()
    .slice(0, 2)
    .replace(/[^<>=!]/g, '');
  const worse = (a: number, b: number) =>
    op.startsWith('<') ? a > b : op.startsWith('>') ? a < b : false;
  const buckets = Math.min(MAX_CHART_POINTS, withData.length);
  const picked: Measurement[] = [];
  for (let b = 0; b < buckets; b++) {
    const group = withData.slice(
      Math.floor((b * withData.length) / buckets),
      Math.floor(((b + 1) * withData.length) / buckets),
    );
    let worst = group[group.length - 1];
    for (const x of group) if (worse(x.value as number, worst.value as number)) worst = x;
    // Drawn at the bucket's last time, so the axis stays in order.
    picked.push({ ...worst, at: group[group.length - 1].at });
  }
  const scale = m.unit === 'ratio' ? 100 : 1;
  const unit = m.unit === 'ratio' ? '%' : m.unit === 'none' ? '' : m.unit;
  const counts = picked.every((x) => x.lower !== undefined && x.upper !== undefined);
  const bound = op.startsWith('<') ? 'lower' : op.startsWith('>') ? 'upper' : undefined;
  const lines = ['value'];
  const series = [
    { kind: 'line' as const, values: picked.map((x) => (x.value as number) * scale) },
  ];
  if (counts && bound) {
    lines.push(`pooled ${bound} bound`);
    series.push({ kind: 'line', values: picked.map((x) => (x[bound] as number) * scale) });
  }
  if (picked.every((x) => x.threshold !== undefined)) {
    lines.push('threshold');
    series.push({ kind: 'line', values: picked.map((x) => x.threshold! * scale) });
  }
  const first = picked[0].at;
  const last = picked[picked.length - 1].at;
  const multiDay = first.slice(0, 10) !== last.slice(0, 10);
  const note =
    withData.length > buckets
      ? ` ${withData.length} measurements in ${buckets} points (worst of each).`
      : '';
  return (
    `\n**${m.name}** \`${m.condition}\`${unit ? ` in ${unit}` : ''}, UTC; lines in order: ${lines.join(', ')}.${note}\n\n` +
    xychart(
      `${m.name} ${m.condition}`,
      picked.map((x) => label(x.at, multiDay)),
      unit || m.name,
      series,
    )
  );
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
          show(last?.value, m.unit),
          show(last?.threshold, m.unit),
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
  const noData = result.metrics.filter((m) => m.noData && Object.keys(m.noData).length);
  if (noData.length) {
    parts.push('\n**Measurements without data** (skipped ones were not judged):\n\n');
    for (const m of noData) {
      const n = Object.values(m.noData!).reduce((a, b) => a + b, 0);
      const why = Object.entries(m.noData!)
        .map(([r, k]) => `${r} (×${k})`)
        .join('; ');
      parts.push(
        `- ${m.name}: ${n} of ${m.measurements.length}${m.skipped ? `, ${m.skipped} skipped` : ''}: ${why}\n`,
      );
    }
  }
  for (const m of result.metrics) parts.push(chart(m));
  return parts.join('');
}

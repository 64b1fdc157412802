/**
 * Markdown building blocks for job summaries and CLI reports: tables and Mermaid charts
 * (GitHub renders Mermaid in Markdown; `xychart-beta` per mermaid.js.org/syntax/xyChart).
 */

/** Escapes text for a GitHub-flavoured Markdown table cell. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A Markdown table. `rows` are arrays of cell values in `headers` order. */
export function table(headers: string[], rows: unknown[][]): string {
  const head = `| ${headers.map(cell).join(' | ')} |`;
  const sep = `| ${headers.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${r.map(cell).join(' | ')} |`);
  return [head, sep, ...body].join('\n') + '\n';
}

/** A Markdown heading of `level` (1-6). */
export function heading(text: string, level = 2): string {
  return `${'#'.repeat(level)} ${text}\n`;
}

/** A fenced code block. */
export function code(text: string, lang = ''): string {
  return '```' + lang + '\n' + text.replace(/\n$/, '') + '\n```\n';
}

/** Formats a duration given in milliseconds as `850 ms`, `12.3 s`, `4m 05s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m ${String(s).padStart(2, '0')}s`;
}

/** One line of a Mermaid xychart: `line` or `bar`, with y values (null = gap, drawn as 0 is wrong, so omitted points are dropped by the caller). */
export interface ChartSeries {
  kind: 'line' | 'bar';
  values: number[];
}

/**
 * A Mermaid `xychart-beta` block. `x` are category labels (e.g. `13:05`); every series must
 * have `x.length` values. Returns '' when there is nothing to draw.
 */
export function xychart(title: string, x: string[], yLabel: string, series: ChartSeries[]): string {
  if (x.length === 0 || series.length === 0) return '';
  const num = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : 0);
  const lines = [
    'xychart-beta',
    `  title "${title.replace(/"/g, "'")}"`,
    `  x-axis [${x.map((l) => `"${l.replace(/"/g, "'")}"`).join(', ')}]`,
    `  y-axis "${yLabel.replace(/"/g, "'")}"`,
    ...series.map((s) => `  ${s.kind} [${s.values.map(num).join(', ')}]`),
  ];
  return code(lines.join('\n'), 'mermaid');
}

/**
 * The job-summary Markdown of every step, rendered for a terminal: the `runbook` command line
 * prints the same report the actions write to `$GITHUB_STEP_SUMMARY`, without Markdown syntax or
 * Mermaid source. Tables become aligned boxes (`cli-table3`), headings bold and underlined,
 * Mermaid `xychart-beta` charts a few lines of block-character sparklines on one shared scale
 * (so a value line can be read against its threshold line), other code blocks indented text.
 *
 * Colour (`picocolors`) only when the output is a terminal and `NO_COLOR` is not set
 * (no-color.org); `FORCE_COLOR` forces it.
 *
 * Sources: GitHub Flavored Markdown spec 0.29 §4.5 (fenced code blocks), §4.10 (tables, `\|`
 * escapes); mermaid.js.org/syntax/xyChart (`x-axis [...]`, `line [...]`).
 */
import Table from 'cli-table3';
import pc from 'picocolors';

type Colors = ReturnType<typeof pc.createColors>;

/** Options of {@link renderForTerminal}. */
export interface TerminalOptions {
  /** Use ANSI colours and bold. Default: {@link colorWanted} for stdout. */
  color?: boolean;
}

/**
 * Whether to colour output written to `stream`: never with `NO_COLOR` set (any value), always
 * with `FORCE_COLOR` set to anything but `0`, else only on a TTY.
 */
export function colorWanted(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** One `xychart-beta` chart as Mermaid writes it. */
interface Chart {
  title: string;
  labels: string[];
  lines: number[][];
}

function parseChart(lines: string[]): Chart | undefined {
  if (!lines.some((l) => l.trim() === 'xychart-beta')) return undefined;
  const chart: Chart = { title: '', labels: [], lines: [] };
  for (const raw of lines) {
    const l = raw.trim();
    const title = /^title\s+"(.*)"$/.exec(l);
    if (title) chart.title = title[1];
    const axis = /^x-axis\s+\[(.*)\]$/.exec(l);
    if (axis) chart.labels = [...axis[1].matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    const series = /^(?:line|bar)\s+\[(.*)\]$/.exec(l);
    if (series) chart.lines.push(series[1].split(',').map((v) => Number(v.trim())));
  }
  return chart;
}

/**
 * A chart as sparklines, one row per series, on one scale shared by every series.
 * @param names series names (from the report's "lines in order: a, b, c." sentence), if known
 */
function renderChart(chart: Chart, names: string[], c: Colors): string {
  const all = chart.lines.flat().filter(Number.isFinite);
  if (!all.length) return '';
  const min = Math.min(...all);
  const max = Math.max(...all);
  const level = (v: number) =>
    !Number.isFinite(v)
      ? ' '
      : SPARKS[max === min ? 0 : Math.round(((v - min) / (max - min)) * (SPARKS.length - 1))];
  const label = (i: number) => names[i] ?? `line ${i + 1}`;
  const width = Math.max(...chart.lines.map((_, i) => label(i).length));
  const fmt = (v: number) => String(Number(v.toPrecision(4)));
  const rows = chart.lines.map((s, i) => {
    const last = s.at(-1);
    const spark = s.map(level).join('');
    return `  ${label(i).padEnd(width)}  ${i === 0 ? c.cyan(spark) : spark}  ${last === undefined ? '' : `last ${fmt(last)}`}`;
  });
  const span = chart.labels.length ? `${chart.labels[0]} → ${chart.labels.at(-1)}, ` : '';
  const head = `  ${chart.title}  (${span}scale ${fmt(min)} … ${fmt(max)})`;
  return [c.bold(head), ...rows].join('\n');
}

/** Splits a table row on `|` that are not escaped as `\|`. */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim());
}

function inline(text: string, c: Colors): string {
  return text
    .replace(/\\\|/g, '|')
    .replace(/<br\s*\/?>/g, ' / ')
    .replace(/\*\*([^*]+)\*\*/g, (_, t: string) => c.bold(t))
    .replace(/`([^`]+)`/g, (_, t: string) => c.cyan(t))
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '$1 ($2)');
}

function renderTable(rows: string[], c: Colors, color: boolean): string {
  const parsed = rows.map(cells);
  const [head, , ...body] = parsed;
  const table = new Table({
    head: head.map((h) => inline(h, c)),
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [], compact: true },
    wordWrap: true,
  });
  for (const r of body) table.push(r.map((cellText) => inline(cellText, c)));
  return table.toString();
}

/**
 * Renders report Markdown for a terminal.
 * @param markdown a job summary or report as the actions write it; text without Markdown passes
 *   through unchanged
 * @returns plain text (with ANSI colour codes when `color`)
 */
export function renderForTerminal(markdown: string, options: TerminalOptions = {}): string {
  const color = options.color ?? colorWanted();
  const c = pc.createColors(color);
  const lines = markdown.split('\n');
  const out: string[] = [];
  let seriesNames: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```(\w*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      const chart = fence[1] === 'mermaid' ? parseChart(body) : undefined;
      if (chart) out.push(renderChart(chart, seriesNames, c));
      else if (fence[1] !== 'mermaid') out.push(...body.map((b) => `    ${b}`));
      continue;
    }
    if (/^\|.*\|\s*$/.test(line) && /^\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(lines[i + 1] ?? '')) {
      const rows: string[] = [];
      for (; i < lines.length && /^\|.*\|\s*$/.test(lines[i]); i++) rows.push(lines[i]);
      i--;
      out.push(renderTable(rows, c, color));
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const text = inline(h[2], c);
      out.push(
        color ? c.bold(c.underline(text)) : `${text}\n${'─'.repeat(Math.min(text.length, 72))}`,
      );
      continue;
    }
    const order = /lines in order: ([^.]+)\./.exec(line);
    if (order) seriesNames = order[1].split(',').map((s) => s.trim());
    out.push(inline(line, c));
  }
  return out.join('\n');
}

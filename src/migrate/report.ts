/** Job summary and CLI tables for migrate results. */
import { formatMs, heading, table } from '../report/markdown.js';
import type { MigrateResult } from './engine.js';
import type { LintResult } from './lint.js';

const ICON: Record<string, string> = {
  applied: '✅ applied',
  'already applied': 'already applied',
  baselined: 'baselined',
  pending: '⏳ pending',
  failed: '❌ failed',
  'missing file': '⚠️ missing file',
  'checksum changed': '❌ checksum changed',
  'out of order': '❌ out of order',
  'recorded as failed': '❌ recorded as failed',
  'rolled back': '↩️ rolled back',
  repaired: '🔧 repaired',
};

/**
 * Markdown for the job summary: a heading, counts, and a table of version, name, duration and
 * status for every migration. Never contains the connection URL.
 */
export function migrateSummary(res: MigrateResult, title = 'Database migrations'): string {
  const counts = [
    `${res.applied.length} applied by this run`,
    res.baselined.length ? `${res.baselined.length} baselined` : '',
    res.rolledBack ? `${res.rolledBack.length} rolled back` : '',
    res.repaired ? `${res.repaired.length} repaired` : '',
    `${res.pending.length} pending`,
    res.warnings.length ? `${res.warnings.length} warning(s)` : '',
    res.problems.length ? `${res.problems.length} problem(s)` : '',
  ].filter(Boolean);
  const rows = res.rows.map((r) => [
    r.version,
    r.name,
    r.durationMs === undefined ? '' : formatMs(r.durationMs),
    (ICON[r.state] ?? r.state) +
      (r.nonTransactional ? ` (outside a transaction: ${r.nonTransactional})` : ''),
  ]);
  const problems = res.problems.length
    ? '\n**Problems**\n\n' + res.problems.map((p) => `- ${p}`).join('\n') + '\n'
    : '';
  const warnings = res.warnings.length
    ? '\n**Warnings**\n\n' + res.warnings.map((p) => `- ${p}`).join('\n') + '\n'
    : '';
  const context = [
    res.format ? `Format: **${res.format}** (${res.formatReason ?? ''})` : '',
    res.historyTable
      ? `History table: \`${res.historyTable}\`${res.historyTool ? ` (${res.historyTool}'s own table, used in place)` : ''}`
      : '',
  ].filter(Boolean);
  const planned = res.rows.filter((r) => r.sql !== undefined);
  const plan = planned.length
    ? '\n**SQL to run**\n\n' +
      planned
        .map(
          (r) =>
            `<details><summary>${r.version === 'repeatable' ? 'repeatable' : r.version} ${r.name}: ${r.statements} statement(s), ${r.runs}</summary>\n\n\`\`\`sql\n${r.sql!.replace(/```/g, '` ` `')}\n\`\`\`\n\n</details>\n`,
        )
        .join('\n')
    : '';
  const indexes = res.invalidIndexes?.length
    ? '\n**Invalid indexes** (left by interrupted CREATE INDEX CONCURRENTLY builds)\n\n' +
      table(
        ['Index', 'Table', 'Definition', 'Note'],
        res.invalidIndexes.map((i) => [
          `${i.schema}.${i.name}`,
          i.table,
          i.definition,
          i.buildingPid !== undefined ? `being built by pid ${i.buildingPid}` : 'interrupted build',
        ]),
      )
    : '';
  const drift = res.schemaDiff
    ? res.schemaDiff.length
      ? `\n**Schema drift**: the live database differs from the schema the migrations build (\`-\` expected by the migrations, \`+\` only in the live database)\n\n\`\`\`diff\n${res.schemaDiff.join('\n')}\n\`\`\`\n`
      : '\n**Schema drift**: none, the live schema matches the migrations\n'
    : '';
  return (
    heading(`${title}: ${res.command}`) +
    '\n' +
    (context.length ? context.join(' · ') + '\n\n' : '') +
    counts.join(' · ') +
    '\n\n' +
    table(['Version', 'Name', 'Duration', 'Status'], rows) +
    plan +
    indexes +
    drift +
    problems +
    warnings
  );
}

/** Markdown for lint findings: rule, level, file:line, message. */
export function lintSummary(res: LintResult): string {
  const rows = res.findings.map((f) => [
    f.level === 'error' ? '❌ error' : '⚠️ warning',
    f.rule,
    `${f.file}:${f.line}`,
    f.message,
  ]);
  return (
    heading('Migration lint') +
    `\n${res.linted.length} file(s) linted, ${res.findings.length} finding(s)${res.failed ? ' — failing' : ''}\n\n` +
    (rows.length ? table(['Level', 'Rule', 'Where', 'Finding'], rows) : 'No findings.\n')
  );
}

/** Plain-text table for the CLI. */
export function textTable(res: MigrateResult): string {
  const data = res.rows.map((r) => [
    r.version,
    r.name,
    r.durationMs === undefined ? '' : formatMs(r.durationMs),
    r.state + (r.nonTransactional ? ` (${r.nonTransactional})` : ''),
  ]);
  const head = ['VERSION', 'NAME', 'DURATION', 'STATUS'];
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), ...data.map(line)].join('\n');
}

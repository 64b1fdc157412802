/** The Markdown job summary / CLI report of a flag toggle. */
import { heading, table } from '../report/markdown.js';
import type { ToggleResult } from './engine.js';

/** Renders a {@link ToggleResult} as Markdown: before/after table, changes, guard, comment. */
export function flagSummary(r: ToggleResult): string {
  const names = r.plan?.tenantNames ?? {};
  const fmt = (ts: string[]) =>
    ts.length ? ts.map((t) => (names[t] ? `${t} (${names[t]})` : t)).join(', ') : '(none)';
  const verb =
    r.operation === 'status'
      ? 'status'
      : r.dryRun
        ? 'dry run'
        : r.changed
          ? 'changed'
          : 'no change';
  const after = r.dryRun ? r.desired : r.state;
  const status = r.operation === 'status';
  const rows = status
    ? [
        ['global', r.state.global],
        ['tenants', fmt(r.state.tenants)],
      ]
    : [
        ['global', r.previousState.global, after?.global ?? ''],
        ['tenants', fmt(r.previousState.tenants), fmt(after?.tenants ?? [])],
      ];
  const lines = [
    heading(`Feature flag ${r.flag}: ${r.operation}${status ? '' : ` (${verb})`}`),
    `Backend **${r.backend}** — global means ${r.globalMeaning}.`,
    '',
    table(status ? ['', 'state'] : ['', 'before', r.dryRun ? 'would be' : 'after'], rows),
  ];
  if (r.actions.length)
    lines.push(...r.actions.map((a) => `- ${r.dryRun ? 'would ' : ''}${a}`), '');
  else if (r.operation !== 'status')
    lines.push('Already in the requested state: nothing changed.', '');
  if (r.guard.globalMustBe !== 'any')
    lines.push(
      `Guard: global must be **${r.guard.globalMustBe}** (checked before and after the write).`,
      '',
    );
  if (r.comment) lines.push(`Audit comment: \`${r.comment.replace(/`/g, "'")}\``, '');
  return lines.join('\n');
}

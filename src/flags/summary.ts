/** The Markdown job summary / CLI report of a flag toggle. */
import { heading, table } from '../report/markdown.js';
import { FlagGuardError, FlagVerifyError, percentageOf, type ToggleResult } from './engine.js';
import type { FlagRolloutResult } from './rollout.js';

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
        ['percentage', `${percentageOf(r.state)}%`],
      ]
    : [
        ['global', r.previousState.global, after?.global ?? ''],
        ['tenants', fmt(r.previousState.tenants), fmt(after?.tenants ?? [])],
        [
          'percentage',
          `${percentageOf(r.previousState)}%`,
          after ? `${percentageOf({ global: after.global, percentage: after.percentage })}%` : '',
        ],
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
  if (r.approval)
    lines.push(
      `Approval request [${r.approval.id}](${r.approval.url}): ${r.approval.outcome} after ${Math.round(r.approval.waitedMs / 1000)} s.`,
      '',
    );
  if (r.comment) lines.push(`Audit comment: \`${r.comment.replace(/`/g, "'")}\``, '');
  return lines.join('\n');
}

/**
 * Renders a failed toggle as Markdown for the job summary: what was refused or not verified,
 * the state the flag is in, and whether a rollback (`restore`) is needed. `undefined` for errors
 * that carry no flag state (bad input, a server's refusal: the error annotation says it all).
 */
export function flagFailureSummary(operation: string, error: unknown): string | undefined {
  const fmt = (ts: string[]) => (ts.length ? ts.join(', ') : '(none)');
  if (error instanceof FlagGuardError && error.state) {
    const st = error.state;
    const after = error.previous !== undefined;
    return [
      heading(`Feature flag ${st.flag}: ${operation} refused by the guard`),
      error.message,
      '',
      table(
        ['', after ? 'read back after the write' : 'state (unchanged)'],
        [
          ['global', st.global],
          ['tenants', fmt(st.tenants)],
        ],
      ),
      !after || error.rolledBack
        ? `Nothing was written${error.rolledBack ? ' (the transaction was rolled back)' : ''}.`
        : 'The write happened before the guard failed and is kept. The step sets `previous-state`: run `restore` with it to roll back.',
      '',
    ].join('\n');
  }
  if (error instanceof FlagVerifyError) {
    return [
      heading(`Feature flag ${error.previous.flag}: ${operation} not verified`),
      error.message,
      '',
      table(
        ['', 'before', 'asked for', 'read back'],
        [
          ['global', error.previous.global, error.expected.global, error.actual.global],
          [
            'tenants',
            fmt(error.previous.tenants),
            fmt(error.expected.tenants),
            fmt(error.actual.tenants),
          ],
        ],
      ),
      error.rolledBack
        ? 'The transaction was rolled back: nothing changed.'
        : 'The write may be partly applied. The step sets `previous-state`: run `restore` with it to roll back.',
      '',
    ].join('\n');
  }
  return undefined;
}

/**
 * Renders a {@link FlagRolloutResult} as Markdown: one row per step (percentage, observation
 * window in minutes, verdict, reason), the outcome, and on a rollback the state restored.
 */
export function flagRolloutSummary(r: FlagRolloutResult): string {
  const fmt = (ts: string[]) => (ts.length ? ts.join(', ') : '(none)');
  const outcome =
    r.outcome === 'completed'
      ? 'completed'
      : r.outcome === 'rolled-back'
        ? `rolled back at step ${(r.failedStep ?? 0) + 1}`
        : `ROLLBACK FAILED at step ${(r.failedStep ?? 0) + 1}`;
  const lines = [
    heading(`Flag rollout ${r.flag}: ${outcome}`),
    `Backend **${r.backend}**.`,
    '',
    table(
      ['step', 'percentage', 'window', 'verdict', 'detail'],
      r.steps.map((s) => [
        String(s.index + 1),
        `${s.percent}%`,
        s.durationMs ? `${Math.round(s.durationMs / 60_000)} min` : '-',
        s.verdict ?? (s.error ? 'error' : '-'),
        (s.error ?? s.reason ?? '').replace(/\|/g, '\\|').slice(0, 300),
      ]),
    ),
  ];
  const p = r.previousState;
  if (r.outcome === 'rolled-back' && r.finalState) {
    lines.push(
      `Restored the state before the rollout: global ${r.finalState.global}, percentage ${percentageOf(r.finalState)}%, tenants ${fmt(r.finalState.tenants)}.`,
      '',
    );
  }
  if (r.outcome === 'rollback-failed') {
    lines.push(
      `The restore failed: ${r.rollbackError ?? ''}`,
      '',
      `Restore by hand: \`runbook flag restore ${r.flag} --backend ${r.backend} --restore-state '${JSON.stringify(p).replace(/'/g, "'\\''")}'\``,
      '',
    );
  }
  return lines.join('\n');
}

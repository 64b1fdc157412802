/**
 * The release report in Markdown, in the shape of the Paket 7 canary plan's "Log findings and
 * timestamps": a timeline of steps with timestamps, what changed, measured values against the
 * criteria, who approved, and the rollback when there was one.
 */
import { heading, table } from '../report/markdown.js';
import type { ReleasePlan } from './index.js';
import type { RehearsalResult } from './rehearse.js';

const ICON = { success: '✅', failure: '❌', skipped: '⏭️' } as const;

function fmt(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined) return '—';
  if (unit === 'ratio') return `${(v * 100).toPrecision(3)}%`;
  if (unit === 'seconds') return `${Math.round(v * 1000)} ms`;
  return String(Number(v.toPrecision(6)));
}

function flagText(s: { global: string; tenants: string[] }): string {
  return `global ${s.global}; tenants ${s.tenants.join(', ') || '(none)'}`;
}

/** Renders the report of a rehearsal (also the shape of the workflow's job summary). */
export function renderReport(r: RehearsalResult, plan: ReleasePlan): string {
  const out: string[] = [];
  const title = plan.title ? ` — ${plan.title}` : '';
  out.push(heading(`Release ${plan.package}${title} (rehearsal)`, 1));
  const outcome =
    r.outcome === 'promoted'
      ? '**promoted** ✅'
      : `**rolled back** ❌ — stopped at ${r.failedStep}`;
  out.push(
    [
      `- Outcome: ${outcome}`,
      `- Plan: \`${r.planFile}\` · environment \`${plan.environment}\` · service \`${plan.service}\`${plan.tasks.length ? ` · tasks ${plan.tasks.join(', ')}` : ''}`,
      `- Started ${r.startedAt} · finished ${r.finishedAt} (UTC) · run by ${r.actor} with \`runbook rehearse\``,
      `- Database: ${r.database}`,
      r.failure ? `- Failure: ${r.failure}` : '',
    ]
      .filter(Boolean)
      .join('\n') + '\n',
  );

  out.push('\n' + heading('Timeline', 2));
  out.push(
    table(
      ['started (UTC)', 'finished (UTC)', 'job', 'step', 'result', 'findings'],
      r.timeline.map((t) => [
        t.startedAt,
        t.finishedAt,
        t.job,
        t.step,
        `${ICON[t.status]} ${t.status}`,
        t.detail,
      ]),
    ),
  );

  out.push('\n' + heading('What changed', 2));
  const changed: string[] = [];
  changed.push(
    `- Migrations applied: ${r.applied.length ? r.applied.map((v) => `\`${v}\``).join(', ') : 'none'}`,
  );
  for (const b of r.backfills) {
    changed.push(
      `- Backfill \`${b.name}\`: ${b.toCreate} to create, ${b.toUpdate} to update, ${b.unchanged} unchanged; ${b.rowsWritten} rows written; verified: ${b.verified ? 'yes' : 'no'}`,
    );
  }
  if (r.flag) {
    changed.push(`- Flag \`${r.flag.name}\` before: ${flagText(r.flag.before)}`);
    if (r.flag.canary)
      changed.push(`- Flag \`${r.flag.name}\` during the canary: ${flagText(r.flag.canary)}`);
    changed.push(`- Flag \`${r.flag.name}\` at the end: ${flagText(r.flag.after)}`);
  }
  const kube = r.timeline.filter((t) => /set image|set weight|canary to 100%/.test(t.step));
  if (kube.length && kube.every((t) => t.status === 'skipped')) {
    changed.push('- Kubernetes: nothing changed (steps skipped: no kubeconfig)');
  }
  out.push(changed.join('\n') + '\n');

  out.push('\n' + heading('Canary gate: measured values against the criteria', 2));
  if (r.gates.length === 0) out.push('The gate did not run.\n');
  for (const g of r.gates) {
    out.push(
      '\n' +
        heading(`${g.weight}% of traffic: ${g.verdict === 'pass' ? '✅' : '❌'} ${g.verdict}`, 3) +
        `${g.reason}${g.failedAt ? ` (failed at ${g.failedAt})` : ''}\n\nReplayed recording \`${g.replayFile.replace(/^.*\/examples\//, 'examples/')}\`.` +
        (g.smoke
          ? ` Smoke checks: ${g.smoke.passed} passed, ${g.smoke.failed} failed${g.smoke.failures.length ? ` (${g.smoke.failures.join('; ')})` : ''}.`
          : '') +
        '\n\n',
    );
    if (g.metrics.length) {
      out.push(
        table(
          [
            'metric',
            'criterion',
            'last measured',
            'worst measured',
            'threshold',
            'passed / failed measurements',
            'status',
          ],
          g.metrics.map((m) => [
            `${m.name}${m.dryRun ? ' (dry run)' : ''}`,
            m.condition,
            fmt(m.last, m.unit),
            fmt(m.worst, m.unit),
            fmt(m.threshold, m.unit),
            `${m.successful} / ${m.failed}`,
            m.status === 'running' ? 'held (gate stopped early)' : m.status,
          ]),
        ),
      );
    }
  }

  out.push('\n' + heading('Approval', 2));
  if (r.approval) {
    out.push(
      r.approval.auto
        ? `Auto-approved by the rehearsal at ${r.approval.at} (no \`--approve\`). In the workflow the promotion waits for a required reviewer of the \`${plan.promotion.environment}\` environment.\n`
        : `Approved by **${r.approval.by}** at ${r.approval.at} (\`--approve\`), standing in for a required reviewer of the \`${plan.promotion.environment}\` environment.\n`,
    );
  } else {
    out.push('Promotion was not requested: the release stopped before the approval.\n');
  }

  if (r.outcome === 'rolled-back') {
    out.push('\n' + heading('Rollback', 2));
    const rb = r.timeline.filter((t) => t.job === 'rollback');
    out.push(
      rb.map((t) => `- ${ICON[t.status]} ${t.step} (${t.finishedAt}): ${t.detail}`).join('\n') +
        '\n',
    );
  }
  return out.join('');
}

/**
 * The release report in Markdown, in the shape of the Paket 7 canary plan's "Log findings and
 * timestamps": a timeline of steps with timestamps, what changed, measured values against the
 * criteria, who approved, and the rollback when there was one.
 */
import { heading, table } from '../report/markdown.js';
import type { GateResult } from '../gate/index.js';
import type { ReleasePlan } from './schema.js';
import type { GateStep, RehearsalResult } from './rehearse.js';

/**
 * The worst of a metric's measured values for its condition: the highest for `<` and `<=`, the
 * lowest for `>` and `>=`, the farthest from the threshold for `==` and the closest for `!=`
 * (the highest when there is no threshold). `null` without values.
 */
export function worstValue(condition: string, values: number[], threshold?: number): number | null {
  if (values.length === 0) return null;
  const op = /^\s*(<=|<|>=|>|==|!=)/.exec(condition)?.[1];
  if (op === '>' || op === '>=') return Math.min(...values);
  if (op === '==' && threshold !== undefined) {
    return values.reduce((w, v) => (Math.abs(v - threshold) > Math.abs(w - threshold) ? v : w));
  }
  if (op === '!=' && threshold !== undefined) {
    return values.reduce((w, v) => (Math.abs(v - threshold) < Math.abs(w - threshold) ? v : w));
  }
  return Math.max(...values);
}

/**
 * The gate at one traffic step for the report, from the canary-gate result (a live run's
 * measurements file or a replay).
 */
export function gateStep(r: GateResult, weight: number, replayFile: string): GateStep {
  return {
    weight,
    verdict: r.verdict,
    reason: r.reason,
    failedAt: r.failedAt,
    replayFile,
    metrics: r.metrics.map((m) => {
      const values = m.measurements
        .map((x) => x.value)
        .filter((v): v is number => typeof v === 'number');
      const last = [...m.measurements].reverse().find((x) => typeof x.value === 'number');
      return {
        name: m.name,
        condition: m.condition,
        unit: m.unit,
        dryRun: m.dryRun,
        status: m.status,
        last: last?.value ?? null,
        worst: worstValue(m.condition, values, last?.threshold),
        threshold: last?.threshold,
        successful: m.successful,
        failed: m.failed,
        reason: m.reason,
      };
    }),
  };
}

/** The parts of a plan the report shows (a plan, or a compiled release's equivalents). */
export type ReportPlan = Pick<
  ReleasePlan,
  'package' | 'title' | 'environment' | 'service' | 'tasks'
> & {
  promotion: Pick<ReleasePlan['promotion'], 'environment' | 'reviewers'>;
};

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
export function renderReport(r: RehearsalResult, plan: ReportPlan): string {
  const workflow = r.via === 'workflow';
  const out: string[] = [];
  const title = plan.title ? ` — ${plan.title}` : '';
  out.push(heading(`Release ${plan.package}${title}${workflow ? '' : ' (rehearsal)'}`, 1));
  const outcome =
    r.outcome === 'promoted'
      ? '**promoted** ✅'
      : r.outcome === 'stopped'
        ? `**stopped before deploying** ❌ — ${r.failedStep ?? 'preflight did not pass'}`
        : `**rolled back** ❌ — stopped at ${r.failedStep}`;
  out.push(
    [
      `- Outcome: ${outcome}`,
      `- Plan: \`${r.planFile}\` · environment \`${plan.environment}\` · service \`${plan.service}\`${plan.tasks.length ? ` · tasks ${plan.tasks.join(', ')}` : ''}`,
      `- Started ${r.startedAt} · finished ${r.finishedAt} (UTC) · run by ${r.actor} ${workflow ? `in [the release workflow](${r.runUrl ?? ''})` : 'with `runbook rehearse`'}`,
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
        `${g.reason}${g.failedAt ? ` (failed at ${g.failedAt})` : ''}` +
        (workflow
          ? '\n\nMeasured live.'
          : `\n\nReplayed recording \`${g.replayFile.replace(/^.*\/examples\//, 'examples/')}\`.`) +
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
  if (r.approval && workflow) {
    out.push(
      `Approved by **${r.approval.by}** at ${r.approval.at}, a required reviewer of the \`${plan.promotion.environment}\` environment.\n`,
    );
  } else if (r.approval) {
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
    if (rb.some((t) => t.status === 'failure') || (workflow && rb.length === 0))
      out.push(
        '**Rollback incomplete**: a rollback step failed or did not run; the environment is NOT back to its previous state. Check the rollback job’s log.\n\n',
      );
    out.push(
      rb.map((t) => `- ${ICON[t.status]} ${t.step} (${t.finishedAt}): ${t.detail}`).join('\n') +
        '\n',
    );
  }
  return out.join('');
}

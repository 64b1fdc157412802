/**
 * The readable outline of a compiled release (`runbook plan` without `--json`): the jobs in run
 * order, their steps with conditions and timeouts, and what the rollback would undo.
 */
import type { CompiledRelease, ReleaseStep } from './compile.js';

const WHEN: Partial<Record<string, string>> = {
  preflight: 'first; refuses a bad plan, a missing secret or unsafe protection rules',
  migrate: 'after preflight',
  'deploy-canary': 'after migrate',
  backfill: 'after the canary is ready, one spec at a time',
  flags: 'after the backfill',
  traffic: 'one step at a time in order; each step needs the previous step’s verdict',
  promotion: 'after every traffic step passed; waits for a required reviewer',
  promote: 'after the approval',
  rollback:
    'when a deploying job failed or was cancelled (timeouts included); every step runs even when one before failed',
  report: 'always, last',
};

function line(s: ReleaseStep): string {
  const what = `${s.action}${s.command ? ` ${s.command}` : ''}`;
  const cond = s.if && s.if !== 'always()' ? `  [if ${s.if.replace(/^always\(\) && /, '')}]` : '';
  return `    - ${s.name}  (${what})${cond}`;
}

/** Renders the outline (plain text, one line per step). */
export function outline(r: CompiledRelease): string {
  const out: string[] = [];
  out.push(
    `Release ${r.package}${r.title ? ` — ${r.title}` : ''} to ${r.environment} (${r.planFile})`,
  );
  out.push(
    `approval: environment ${r.promotionEnvironment} · secrets: ${r.secrets.join(', ') || 'none'} · gate inconclusive: ${r.onInconclusive}`,
  );
  out.push('');
  r.jobs.forEach((j, n) => {
    out.push(`${n + 1}. ${j.name}  (${WHEN[j.id] ?? ''}; timeout ${j.timeoutMinutes} min)`);
    if (j.legs) {
      if (j.legs.length === 0) out.push('    (nothing to do: skipped)');
      for (const l of j.legs) {
        out.push(`  ${j.id === 'traffic' ? 'step' : 'leg'} ${l.index}: ${l.name}`);
        for (const s of l.steps) out.push(line(s));
      }
    } else {
      if (j.steps.length === 0) out.push('    (nothing to do: skipped)');
      for (const s of j.steps) out.push(line(s));
    }
  });
  const undo = r.jobs.find((j) => j.id === 'rollback')?.steps.filter((s) => s.undoes) ?? [];
  out.push('');
  out.push('Rollback would undo, in this order:');
  for (const s of undo) out.push(`  - ${s.undoes}: ${s.name}`);
  out.push('  Migrations and backfilled rows stay (they are additive).');
  return out.join('\n') + '\n';
}

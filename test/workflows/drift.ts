/**
 * The drift checks (used by test/workflows/drift.test.ts and the rehearsal tests): release.yml
 * against the compiled release of a plan, and the rehearsal's executed steps against it.
 */
import { readdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { allSteps, type CompiledRelease, type ReleaseStep } from '../../src/release/index.js';
import { root, type Workflow } from './workflows.js';

/** Example plans: examples/<name>/release.yml. */
export const examplePlans = readdirSync(resolve(root, 'examples'))
  .map((d) => `examples/${d}/release.yml`)
  .filter((f) => existsSync(resolve(root, f)));

const FRAMEWORK = new Set(['guard', 'plan']);

/** Where a job's step inputs come from in the workflow. */
function prefix(job: string, matrix: boolean): string {
  if (matrix) return 'matrix.leg';
  if (job === 'preflight') return 'fromJSON(steps.plan.outputs.steps).preflight';
  return `fromJSON(needs.preflight.outputs.steps).${job}`;
}

/**
 * Every way `wf` differs from the compiled release: one line per missing step, step out of
 * order, other action, command, input or condition. Empty when they agree.
 */
export function drift(wf: Workflow, release: CompiledRelease): string[] {
  const problems: string[] = [];
  for (const job of release.jobs) {
    const wj = wf.jobs[job.id];
    if (!wj) {
      problems.push(`${job.id}: job missing from release.yml`);
      continue;
    }
    const compiled: ReleaseStep[] = [];
    for (const s of job.legs ? job.legs.flatMap((l) => l.steps) : job.steps)
      if (!compiled.some((c) => c.id === s.id)) compiled.push(s);
    const ours = (wj.steps ?? []).filter(
      (s) => s.id && s.uses?.startsWith('./.runbook-actions/actions/') && !FRAMEWORK.has(s.id),
    );
    const ids = ours.map((s) => s.id!);
    let last = -1;
    for (const c of compiled) {
      const at = ids.indexOf(c.id);
      if (at < 0) {
        problems.push(`${job.id}: compiled step '${c.id}' (${c.name}) is missing from the job`);
        continue;
      }
      if (at < last)
        problems.push(
          `${job.id}: step '${c.id}' is out of order (the compiled release runs it after '${ids[last]}')`,
        );
      last = Math.max(last, at);
      const w = ours[at];
      const p = `${prefix(job.id, !!job.legs)}.${c.id}`;
      const where = `${job.id}.${c.id}`;
      if (w.uses !== `./.runbook-actions/actions/${c.action}`)
        problems.push(`${where}: uses '${w.uses}', compiled '${c.action}'`);
      const given = { ...(w.with ?? {}) } as Record<string, unknown>;
      if (c.command !== undefined) {
        const key = c.action === 'flag-toggle' ? 'operation' : 'command';
        if (given[key] !== c.command)
          problems.push(`${where}: ${key} '${String(given[key])}', compiled '${c.command}'`);
        delete given[key];
      }
      const expect: Record<string, string> = {};
      for (const k of Object.keys(c.with)) expect[k] = `\${{ ${p}.${k} }}`;
      for (const [k, n] of Object.entries(c.secrets)) expect[k] = `\${{ secrets.${n} }}`;
      for (const [k, o] of Object.entries(c.from ?? {})) expect[k] = `\${{ ${o} }}`;
      for (const [k, v] of Object.entries(expect)) {
        if (given[k] !== v)
          problems.push(
            `${where}: input ${k} is '${String(given[k] ?? '(not passed)')}', compiled ${v}`,
          );
      }
      for (const [k, v] of Object.entries(given)) {
        if (k in expect) continue;
        // Inputs this plan leaves out stay wired to the compiled step (empty when absent) or a secret.
        const ok = v === `\${{ ${p}.${k} }}` || /^\$\{\{ secrets\.[A-Z_]+ \}\}$/.test(String(v));
        if (!ok)
          problems.push(`${where}: input ${k} '${String(v)}' is not from the compiled release`);
      }
      const cond =
        c.if ??
        (job.legs ? `${p}` : `fromJSON(${p.replace(/^fromJSON\(/, '').replace(/\)\..*$/, '')})`);
      if (c.if !== undefined && w.if !== c.if)
        problems.push(`${where}: if '${w.if ?? ''}', compiled '${c.if}'`);
      if (c.if === undefined && w.if !== undefined && w.if !== p)
        problems.push(`${where}: if '${w.if}' is not the compiled step's presence (${p})`);
      void cond;
    }
    // A workflow step the compiled release lacks must skip itself when absent.
    for (const w of ours) {
      if (compiled.some((c) => c.id === w.id)) continue;
      const p = `${prefix(job.id, !!job.legs)}.${w.id}`;
      if (!String(w.if ?? '').includes(p) && !/steps\.records\.outputs/.test(String(w.if ?? '')))
        problems.push(
          `${job.id}.${w.id}: runs although this plan compiles no such step (if: ${w.if ?? 'none'})`,
        );
    }
  }
  return problems;
}

/**
 * Every way the rehearsal's executed steps differ from the compiled release: the jobs before the
 * rollback in compiled order up to the failed step (all of them when promoted), then, after a
 * failure, every rollback step.
 */
export function rehearsalDrift(
  release: CompiledRelease,
  executed: { job: string; leg?: number; step: string }[],
  failedAt?: { job: string; leg?: number; step: string },
): string[] {
  const key = (x: { job: string; leg?: number; step: string }) =>
    `${x.job}${x.leg ? `[${x.leg}]` : ''}.${x.step}`;
  const forward = allSteps(release)
    .filter((s) => s.job.id !== 'rollback' && s.job.id !== 'report')
    .map((s) => ({ job: s.job.id, leg: s.leg?.index, step: s.step.id }));
  let expected = forward;
  if (failedAt) {
    const stop = forward.findIndex((x) => key(x) === key(failedAt));
    expected = [
      ...forward.slice(0, stop + 1),
      ...allSteps(release)
        .filter((s) => s.job.id === 'rollback')
        .map((s) => ({ job: s.job.id, leg: undefined, step: s.step.id })),
    ];
  }
  const want = expected.map(key);
  const got = executed.map(key);
  const problems: string[] = [];
  want.forEach((w, i) => {
    if (got[i] !== w)
      problems.push(`step ${i + 1}: compiled ${w}, the rehearsal ran ${got[i] ?? 'nothing'}`);
  });
  if (got.length > want.length)
    problems.push(`the rehearsal ran more: ${got.slice(want.length).join(', ')}`);
  return problems;
}

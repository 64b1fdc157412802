/**
 * The release workflow's job graph: approval before promotion, no promotion after a failed
 * gate, a rollback that follows every deploying job, least-privilege permissions, and actions
 * referenced by repository and ref.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  actionContract,
  actionNames,
  ancestors,
  inputProblems,
  ourAction,
  needsOf,
  neededPermissions,
  readWorkflow,
  root,
  simulate,
  simulateSteps,
  environmentName,
  hasGuard,
  workflowFiles,
  type Job,
} from './workflows.js';

const { wf } = readWorkflow('release.yml');
const jobs = wf.jobs;

/** Jobs that change something in the environment (database, cluster, flags) or ask to. */
const DEPLOYING = [
  'migrate',
  'deploy-canary',
  'backfill',
  'flags',
  'traffic',
  'promotion',
  'promote',
];

const PRE = { preflight: { 'deployment-id': '7', backfill: '[{"index":1}]' } };

describe('release.yml job graph', () => {
  test('the jobs of the runbook exist in order', () => {
    const order = [
      'preflight',
      'migrate',
      'deploy-canary',
      'backfill',
      'flags',
      'traffic',
      'promotion',
      'promote',
    ];
    for (let i = 1; i < order.length; i++) {
      expect(ancestors(wf, order[i]).has(order[i - 1])).toBe(true);
    }
    expect(wf.on.workflow_call).toBeDefined();
  });

  test('promotion waits on the approval environment the compiled release names', () => {
    const e = jobs.promotion.environment as { name: string; deployment?: boolean };
    expect(e.name).toBe('${{ fromJSON(needs.preflight.outputs.release).promotionEnvironment }}');
    // A job with `deployment: false` creates no deployment for reviewers to approve.
    expect(e.deployment).toBeUndefined();
    expect(needsOf(jobs.promote)).toContain('promotion');
    expect(jobs.promotion.if).toContain("needs.traffic.result == 'success'");
    expect(jobs.promote.if).toContain("needs.promotion.result == 'success'");
  });

  test('traffic legs run one at a time, each guarded by the previous leg’s recorded verdict', () => {
    expect(jobs.traffic.strategy).toMatchObject({ 'max-parallel': 1, 'fail-fast': true });
    const ids = jobs.traffic.steps!.map((s) => s.id ?? s.uses);
    const guard = ids.indexOf('guard');
    const download = jobs.traffic.steps!.findIndex((s) =>
      s.uses?.startsWith('actions/download-artifact@'),
    );
    expect(download).toBeGreaterThanOrEqual(0);
    expect(download).toBeLessThan(guard);
    expect(jobs.traffic.steps![guard].with).toMatchObject({
      command: 'guard',
      job: 'traffic',
      leg: '${{ matrix.leg.index }}',
    });
    expect(guard).toBeLessThan(ids.indexOf('set-weight'));
    expect(ids.indexOf('set-weight')).toBeLessThan(ids.indexOf('smoke'));
    expect(ids.indexOf('smoke')).toBeLessThan(ids.indexOf('gate'));
    // The gate step fails the leg itself (on-inconclusive decides inconclusive); nothing after
    // it may continue on error.
    for (const s of jobs.traffic.steps!) expect(s['continue-on-error']).toBeUndefined();
  });

  test('a healthy release promotes and does not roll back', () => {
    const r = simulate(wf, {
      outputs: PRE,
      reviewers: ['production-promotion'],
      reviews: { 'production-promotion': 'approved' },
    });
    expect(r).toMatchObject({
      migrate: 'success',
      backfill: 'success',
      flags: 'success',
      traffic: 'success',
      promotion: 'success',
      promote: 'success',
      rollback: 'skipped',
      report: 'success',
    });
  });

  test('a plan without backfills skips that job and still continues to the flags', () => {
    const r = simulate(wf, { outputs: { preflight: { backfill: '[]' } } });
    expect(r.backfill).toBe('skipped');
    expect(r.flags).toBe('success');
    expect(r.promote).toBe('success');
    expect(r.rollback).toBe('skipped');
  });

  test('the rollback depends on every deploying job and runs when any of them fails', () => {
    expect(new Set(needsOf(jobs.rollback))).toEqual(new Set(['preflight', ...DEPLOYING]));
    expect(Object.keys(jobs).sort()).toEqual(
      ['preflight', ...DEPLOYING, 'rollback', 'report'].sort(),
    );
    for (const failing of DEPLOYING) {
      const r = simulate(wf, { failing: [failing], outputs: PRE });
      expect([failing, r.rollback]).toEqual([failing, 'success']);
      expect([failing, r.promote]).toEqual([
        failing,
        failing === 'promote' ? 'failure' : 'skipped',
      ]);
    }
  });

  test('nothing is rolled back when only preflight failed (nothing was deployed)', () => {
    const r = simulate(wf, { failing: ['preflight'] });
    expect(r.migrate).toBe('skipped');
    expect(r.rollback).toBe('skipped');
    expect(r.report).toBe('success');
  });

  test('a cancel during a traffic step runs the rollback (the old failure() condition did not)', () => {
    const r = simulate(wf, { cancelDuring: 'traffic', outputs: PRE });
    expect(r.traffic).toBe('cancelled');
    expect(r.promotion).toBe('skipped');
    expect(r.promote).toBe('skipped');
    expect(r.rollback).toBe('success');
    expect(r.report).toBe('success');
    const old = structuredClone(wf);
    old.jobs.rollback.if = '${{ failure() }}';
    expect(simulate(old, { cancelDuring: 'traffic', outputs: PRE }).rollback).toBe('skipped');
  });

  test('a timed-out promote (conclusion cancelled) runs the rollback', () => {
    const r = simulate(wf, {
      timedOut: ['promote'],
      outputs: PRE,
      reviewers: ['production-promotion'],
      reviews: { 'production-promotion': 'approved' },
    });
    expect(r.promote).toBe('cancelled');
    expect(r.rollback).toBe('success');
    const old = structuredClone(wf);
    old.jobs.rollback.if = '${{ failure() }}';
    expect(simulate(old, { timedOut: ['promote'], outputs: PRE }).rollback).toBe('skipped');
  });

  test('a rejected approval fails the promotion job and runs the rollback', () => {
    const r = simulate(wf, {
      outputs: PRE,
      reviewers: ['production-promotion'],
      reviews: { 'production-promotion': 'rejected' },
    });
    expect(r.traffic).toBe('success');
    expect(r.promotion).toBe('failure');
    expect(r.promote).toBe('skipped');
    expect(r.rollback).toBe('success');
  });

  test('required reviewers on the release environment would hold the rollback (preflight refuses that)', () => {
    const r = simulate(wf, { failing: ['traffic'], outputs: PRE, reviewers: ['production'] });
    // Every job on the release environment waits for a person, the rollback included.
    expect(r.migrate).toBe('waiting');
    const held = simulate(wf, {
      failing: ['traffic'],
      outputs: PRE,
      reviewers: ['production'],
      reviews: { production: 'approved' },
    });
    expect(held.rollback).toBe('success');
    // Only the approval job names the promotion environment.
    const envs = Object.entries(jobs)
      .filter(([, j]) => j.environment)
      .map(([id, j]) => [id, environmentName(j, {})]);
    expect(envs.filter(([, e]) => e === 'production-promotion')).toEqual([
      ['promotion', 'production-promotion'],
    ]);
  });

  test('a re-run attempt after a rollback refuses to move traffic', () => {
    // Attempt 1: the gate failed at the first step, the rollback ran.
    const first = simulate(wf, { failing: ['traffic'], outputs: PRE });
    expect(first.rollback).toBe('success');
    // "Re-run failed jobs": traffic and everything after it run again with attempt 1's outputs.
    const second = simulate(wf, { previous: first, attempt: 2, outputs: PRE });
    expect(second.preflight).toBe('success'); // not re-run: its outputs are attempt 1's
    expect(second.traffic).toBe('failure');
    expect(second.promotion).toBe('skipped');
    expect(second.rollback).toBe('success');
    // Inside the traffic job the guard fails first, so the weight step never runs.
    const steps = simulateSteps(jobs.traffic, {
      attempt: 2,
      compiledAttempt: 1,
      lookup: (p) => (/^matrix\.leg\.(set-weight|smoke)$/.test(p) ? { ok: true } : ''),
    });
    expect(steps.failed).toBe('guard');
    expect(steps.ran).not.toContain('set-weight');
    expect(steps.ran).not.toContain('gate');
    // In the attempt that compiled the release the leg moves traffic.
    const same = simulateSteps(jobs.traffic, {
      attempt: 1,
      compiledAttempt: 1,
      lookup: (p) => (/^matrix\.leg\.(set-weight|smoke)$/.test(p) ? { ok: true } : ''),
    });
    expect(same.ran).toEqual(expect.arrayContaining(['guard', 'set-weight', 'smoke', 'gate']));
    // Every job after preflight that acts, starts with the guard; the rollback may undo in any attempt.
    for (const id of DEPLOYING) expect([id, hasGuard(jobs[id])]).toEqual([id, true]);
    expect(hasGuard(jobs.rollback)).toBe(false);
  });

  test('every rollback step runs even when one before it failed, from the recorded state', () => {
    const steps = jobs.rollback.steps!;
    for (const s of steps)
      expect([s.id ?? s.uses, s.if]).toEqual([
        s.id ?? s.uses,
        expect.stringMatching(/^always\(\)/),
      ]);
    const records: Record<string, string> = {
      'steps.records.outputs.flag-previous-state': '{"global":"off"}',
      'steps.records.outputs.stable-previous-revision': '',
      'steps.records.outputs.canary-deployed': 'true',
      'steps.records.outputs.canary-previous-revision': '3',
    };
    const r = simulateSteps(jobs.rollback, {
      attempt: 2,
      compiledAttempt: 1,
      failing: ['flags'],
      lookup: (p) => records[p] ?? '',
    });
    expect(r.failed).toBe('flags');
    expect(r.ran).toEqual(expect.arrayContaining(['records', 'flags', 'weight-zero', 'undo']));
    expect(r.ran).not.toContain('stable-undo');
    // flags first, then the stable Deployment back, then weight 0, then the canary back
    const ids = steps.map((s) => s.id);
    expect(ids.indexOf('flags')).toBeLessThan(ids.indexOf('stable-undo'));
    expect(ids.indexOf('stable-undo')).toBeLessThan(ids.indexOf('weight-zero'));
    expect(ids.indexOf('weight-zero')).toBeLessThan(ids.indexOf('undo'));
  });

  test('job timeouts come from the compiled release, except the fixed approval and report', () => {
    for (const [id, job] of Object.entries(jobs)) {
      if (id === 'preflight' || id === 'promotion' || id === 'report') {
        expect([id, typeof job['timeout-minutes']]).toEqual([id, 'number']);
        continue;
      }
      expect([id, job['timeout-minutes']]).toEqual([
        id,
        `\${{ fromJSON(needs.preflight.outputs.timeouts).${id} }}`,
      ]);
    }
  });

  test('no job output carries state that may hold a secret: flags and revisions travel as records', () => {
    for (const [id, job] of Object.entries(jobs)) {
      for (const [name, value] of Object.entries(job.outputs ?? {})) {
        expect([id, name, /previous-state|previous-revision/.test(`${name} ${value}`)]).toEqual([
          id,
          name,
          false,
        ]);
      }
    }
    const record = (id: string) =>
      jobs[id].steps!.find((s) => s.with?.command === 'record' && s.if === 'always()');
    for (const id of ['preflight', ...DEPLOYING, 'rollback'])
      expect([id, record(id)?.with?.steps]).toEqual([id, '${{ toJSON(steps) }}']);
  });

  test('the report runs after everything, whatever happened', () => {
    expect(new Set(needsOf(jobs.report))).toEqual(
      new Set(Object.keys(jobs).filter((j) => j !== 'report')),
    );
    expect(jobs.report.if).toMatch(/always\(\)/);
    expect(simulate(wf, { failing: ['migrate'], outputs: PRE }).report).toBe('success');
    expect(simulate(wf, { failing: ['preflight'] }).report).toBe('success');
  });

  test('one deployment record: preflight creates it, jobs on the environment create none', () => {
    expect(jobs.preflight.steps!.find((s) => s.id === 'start')?.with?.command).toBe('start');
    for (const [id, job] of Object.entries(jobs)) {
      if (id === 'promotion' || job.environment === undefined) continue;
      expect([id, (job.environment as { deployment?: boolean }).deployment]).toEqual([id, false]);
    }
  });

  test('one release per environment at a time, never cancelled half way, every later one queued', () => {
    expect(wf.concurrency?.group).toContain('${{ inputs.environment }}');
    expect(wf.concurrency?.['cancel-in-progress']).toBe(false);
    expect(wf.concurrency?.queue).toBe('max');
  });

  test('workflow_call outputs are chained from job outputs that exist', () => {
    const outs = wf.on.workflow_call.outputs as Record<string, { value: string }>;
    expect(Object.keys(outs)).toEqual(
      expect.arrayContaining(['verdict', 'promoted', 'rolled-back', 'deployment-id', 'outcome']),
    );
    for (const [name, o] of Object.entries(outs)) {
      const m = /^\$\{\{ jobs\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(o.value);
      expect([name, m !== null]).toEqual([name, true]);
      expect([name, jobs[m![1]]?.outputs?.[m![2]]]).toEqual([name, expect.any(String)]);
    }
  });

  test('release.yml is short and has no jq, ajv or npx', () => {
    const { text } = readWorkflow('release.yml');
    expect(text.split('\n').length).toBeLessThan(450);
    expect(text).not.toMatch(/\b(jq|ajv|npx)\b/);
    for (const job of Object.values(jobs))
      expect((job.steps ?? []).filter((s) => s.run)).toEqual([]);
  });
});

describe('action references', () => {
  const files = workflowFiles();
  const allSteps = (
    file: string,
  ): { job: string; uses: string; with?: Record<string, unknown> }[] =>
    Object.entries(readWorkflow(file).wf.jobs).flatMap(([job, j]: [string, Job]) =>
      (j.steps ?? []).filter((s) => s.uses).map((s) => ({ job, uses: s.uses!, with: s.with })),
    );

  test('staging.yml names a repository and a ref for every uses: (never ./ — it resolves in the caller)', () => {
    const steps = allSteps('staging.yml');
    expect(steps.length).toBeGreaterThan(5);
    for (const s of steps)
      expect([s.job, s.uses]).toEqual([
        s.job,
        expect.stringMatching(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+(\/[^@\s]+)?@[^@\s]+$/),
      ]);
  });

  test('release.yml runs our actions from runbook-actions checked out at its own commit', () => {
    for (const [id, job] of Object.entries(jobs)) {
      const steps = job.steps ?? [];
      const first = steps.findIndex((s) => ourAction(s.uses));
      if (first < 0) continue;
      const checkout = steps.findIndex(
        (s) =>
          s.uses === 'actions/checkout@v4' &&
          s.with?.repository === 'runbook-actions/runbook-actions' &&
          s.with?.ref === '${{ job.workflow_sha }}' &&
          s.with?.path === '.runbook-actions',
      );
      expect([id, checkout >= 0 && checkout < first]).toEqual([id, true]);
      for (const s of steps) {
        if (!s.uses || s.uses.startsWith('actions/')) continue;
        expect([id, s.uses]).toEqual([
          id,
          expect.stringMatching(/^\.\/\.runbook-actions\/actions\/[\w-]+$/),
        ]);
      }
    }
  });

  test.each(files)(
    "%s passes every required input of each action's action.yml, and no unknown one",
    (file) => {
      let checked = 0;
      for (const s of allSteps(file)) {
        const action = ourAction(s.uses);
        if (!action) continue;
        // actionContract throws when actions/<name>/action.yml does not exist.
        const problems = inputProblems(actionContract(action), Object.keys(s.with ?? {}));
        expect([s.job, s.uses, problems]).toEqual([s.job, s.uses, []]);
        checked++;
      }
      if (file === 'release.yml' || file === 'staging.yml') expect(checked).toBeGreaterThan(5);
    },
  );

  test.each(files)('%s reads only step outputs the actions declare', (file) => {
    for (const [id, job] of Object.entries(readWorkflow(file).wf.jobs)) {
      const byStep = new Map((job.steps ?? []).filter((s) => s.id).map((s) => [s.id!, s]));
      const text = JSON.stringify(job);
      for (const m of text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        const step = byStep.get(m[1]);
        expect([id, m[1], step !== undefined]).toEqual([id, m[1], true]);
        const action = ourAction(step!.uses);
        if (action) {
          expect([id, m[0], actionContract(action).outputs.includes(m[2])]).toEqual([
            id,
            m[0],
            true,
          ]);
        }
      }
    }
  });

  test('the contracts come from action.yml: every action, with the inputs and outputs it declares today', () => {
    expect(actionNames()).toEqual([
      'backfill',
      'canary-gate',
      'flag-toggle',
      'migrate',
      'release',
      'rollout',
      'smoke',
    ]);
    // Spot checks that the reader sees what the files hold (these were missed by a hand-kept copy).
    expect(actionContract('migrate').outputs).toContain('lint-findings');
    expect(actionContract('rollout').outputs).toContain('job-name');
    expect(Object.keys(actionContract('rollout').inputs)).toContain('poll-interval');
  });

  test('the check notices an input an action no longer declares, and a required one left out', () => {
    const contract = {
      inputs: {
        'database-url': { required: true },
        dir: { required: false, default: 'migrations' },
        command: { required: true, default: 'apply' },
      },
      outputs: [],
    };
    expect(inputProblems(contract, ['database-url', 'dir'])).toEqual([]);
    const removed = { ...contract, inputs: { ...contract.inputs } as Record<string, object> };
    delete removed.inputs.dir;
    expect(inputProblems(removed, ['database-url', 'dir'])).toEqual(["unknown input 'dir'"]);
    expect(inputProblems(contract, ['dir'])).toEqual(["required input 'database-url' missing"]);
  });
});

describe('permissions', () => {
  test.each(workflowFiles())(
    '%s: no job has more permissions than it uses (and none less)',
    (file) => {
      const { wf: w } = readWorkflow(file);
      // The workflow default grants nothing beyond reading the repository.
      expect([{}, { contents: 'read' }]).toContainEqual(w.permissions);
      for (const [id, job] of Object.entries(w.jobs)) {
        if (job.uses) continue; // a reusable-workflow call: checked below
        expect([id, typeof job.permissions]).toEqual([id, 'object']);
        expect([id, job.permissions]).toEqual([id, neededPermissions(job)]);
      }
    },
  );

  test("release-dispatch grants exactly the union of release.yml's job permissions", () => {
    const union: Record<string, string> = {};
    for (const job of Object.values(jobs)) {
      for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
        if (union[scope] !== 'write') union[scope] = level;
      }
    }
    const call = readWorkflow('release-dispatch.yml').wf.jobs.release;
    expect(call.uses).toBe('./.github/workflows/release.yml');
    expect(call.permissions).toEqual(union);
  });
});

describe('script injection', () => {
  test.each(workflowFiles())(
    '%s: no expression is spliced into a shell script or github-script',
    (file) => {
      // Values reach scripts through `env:` only, so a plan value or PR title cannot become code.
      for (const [id, job] of Object.entries(readWorkflow(file).wf.jobs)) {
        for (const s of job.steps ?? []) {
          expect([id, s.name ?? s.id, (s.run ?? '').includes('${{')]).toEqual([
            id,
            s.name ?? s.id,
            false,
          ]);
          expect([id, String(s.with?.script ?? '').includes('${{')]).toEqual([id, false]);
        }
      }
    },
  );
});

describe('flag guard', () => {
  test("promotion and rollback do not carry the canary's global-must-be guard", () => {
    // The flag plan's guard (global must stay off) protects the canary; turning the flag on
    // globally, or restoring after a half-done promotion, must not be refused by it.
    for (const job of ['promote', 'rollback']) {
      const step = jobs[job].steps!.find((s) => s.uses?.endsWith('/actions/flag-toggle'))!;
      expect([job, step.with?.plan]).toEqual([job, undefined]);
    }
  });
});

describe('project CI', () => {
  test('ci.yml runs .ci/run, the one CI script, and repeats none of its steps', () => {
    const steps = readWorkflow('ci.yml').wf.jobs.test.steps!;
    const runs = steps.filter((s) => s.run !== undefined).map((s) => s.run!.trim());
    expect(runs).toEqual(['bash .ci/run']);
    expect(existsSync(resolve(root, '.ci/run'))).toBe(true);
    expect(steps.map((s) => s.uses).filter(Boolean)).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
    ]);
  });
});

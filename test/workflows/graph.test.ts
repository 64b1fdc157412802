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

const gateStep = () => jobs.traffic.steps!.find((s) => s.uses?.includes('/actions/canary-gate@'))!;

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

  test('promotion waits on the approval environment, which is not the release environment', () => {
    const env = jobs.promotion.environment;
    expect(typeof env).toBe('object');
    const e = env as { name: string; deployment?: boolean };
    expect(e.name).toBe('${{ fromJSON(needs.preflight.outputs.plan).promotion.environment }}');
    // A job with `deployment: false` creates no deployment for reviewers to approve.
    expect(e.deployment).toBeUndefined();
    expect(needsOf(jobs.promote)).toContain('promotion');
    expect(jobs.promotion.if).toContain("needs.traffic.result == 'success'");
    expect(jobs.promote.if).toContain("needs.promotion.result == 'success'");
  });

  test('traffic steps run one at a time in plan order and stop at the first failure', () => {
    expect(jobs.traffic.strategy).toMatchObject({ 'max-parallel': 1, 'fail-fast': true });
    const steps = jobs.traffic.steps!;
    const idx = (pred: (u: string) => boolean) => steps.findIndex((s) => pred(s.uses ?? ''));
    const weight = idx((u) => u.includes('/actions/rollout@'));
    const smoke = idx((u) => u.includes('/actions/smoke@'));
    const gate = idx((u) => u.includes('/actions/canary-gate@'));
    expect(weight).toBeGreaterThanOrEqual(0);
    expect(weight).toBeLessThan(smoke);
    expect(smoke).toBeLessThan(gate);
    expect(steps[weight].with?.command).toBe('set-weight');
  });

  test('promotion is unreachable when the gate fails', () => {
    // The gate's verdict fails the traffic job: a step after the gate exits 1 unless it passed,
    // and neither the gate nor that step may continue on error.
    const steps = jobs.traffic.steps!;
    const gate = gateStep();
    const stop = steps.find((s) => s.if === "steps.gate.outputs.verdict != 'pass'");
    expect(gate.id).toBe('gate');
    expect(stop?.run).toMatch(/exit 1/);
    for (const s of [gate, stop!]) expect(s['continue-on-error']).toBeUndefined();
    expect(jobs.traffic['continue-on-error']).toBeUndefined();
    // …and with the traffic job failed, promotion and promote are skipped, rollback runs.
    const r = simulate(wf, ['traffic'], {
      preflight: { 'backfill-count': '1', 'deployment-id': '7' },
    });
    expect(r.promotion).toBe('skipped');
    expect(r.promote).toBe('skipped');
    expect(r.rollback).toBe('success');
    expect(r.report).toBe('success');
  });

  test('a healthy release promotes and does not roll back', () => {
    const r = simulate(wf, [], { preflight: { 'backfill-count': '1', 'deployment-id': '7' } });
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
    const r = simulate(wf, [], { preflight: { 'backfill-count': '0', 'deployment-id': '7' } });
    expect(r.backfill).toBe('skipped');
    expect(r.flags).toBe('success');
    expect(r.promote).toBe('success');
    expect(r.rollback).toBe('skipped');
  });

  test('the rollback job depends on every deploying job and runs on failure only', () => {
    expect(new Set(needsOf(jobs.rollback))).toEqual(new Set(['preflight', ...DEPLOYING]));
    // Every job other than rollback and report is a deploying job or preflight.
    expect(Object.keys(jobs).sort()).toEqual(
      ['preflight', ...DEPLOYING, 'rollback', 'report'].sort(),
    );
    expect(jobs.rollback.if).toBe('${{ failure() }}');
    for (const failing of DEPLOYING) {
      const r = simulate(wf, [failing], {
        preflight: { 'backfill-count': '1', 'deployment-id': '7' },
      });
      expect([failing, r.rollback]).toEqual([failing, 'success']);
      expect([failing, r.promote]).toEqual([
        failing,
        failing === 'promote' ? 'failure' : 'skipped',
      ]);
    }
  });

  test('the rollback restores flags to their previous state, zeroes the weight and undoes the rollout', () => {
    const steps = jobs.rollback.steps!;
    const flag = steps.find((s) => s.uses?.includes('/actions/flag-toggle@'));
    expect(flag?.with?.['restore-state']).toBe('${{ needs.flags.outputs.previous-state }}');
    const rollout = steps
      .filter((s) => s.uses?.includes('/actions/rollout@'))
      .map((s) => `${s.with?.command} ${String(s.with?.deployment ?? s.with?.ingress)}`);
    // flags first, then the stable Deployment back (a promotion may have moved it), then the
    // weight to 0 (all traffic to the restored stable), then the canary back
    expect(rollout).toEqual([
      'undo ${{ fromJSON(needs.preflight.outputs.plan).deploy.stable-deployment }}',
      'set-weight ${{ fromJSON(needs.preflight.outputs.plan).deploy.ingress }}',
      'undo ${{ fromJSON(needs.preflight.outputs.plan).deploy.deployment }}',
    ]);
    expect(steps.indexOf(flag!)).toBeLessThan(
      steps.findIndex((s) => s.uses?.includes('/actions/rollout@')),
    );
    expect(steps.find((s) => s.with?.command === 'set-weight')?.with?.weights).toBe('0');
    // every step after the first runs even when an earlier rollback step failed
    for (const s of steps.filter((x) => x.uses?.includes('/actions/rollout@')))
      expect(s.if).toMatch(/^always\(\) && /);
  });

  test('a promotion that failed after moving the stable Deployment is undone from its own output', () => {
    const set = jobs.promote.steps!.find((s) => s.with?.command === 'promote')!;
    expect(set.id).toBe('promote');
    expect(jobs.promote.outputs?.['stable-previous-revision']).toBe(
      '${{ steps.promote.outputs.previous-revision }}',
    );
    const undo = jobs.rollback.steps!.find(
      (s) => s.with?.command === 'undo' && String(s.with?.deployment).includes('stable-deployment'),
    )!;
    expect(undo.with?.['to-revision']).toBe(
      '${{ needs.promote.outputs.stable-previous-revision }}',
    );
    expect(undo.if).toContain("needs.promote.outputs.stable-previous-revision != ''");
    // both undos wait as long as the plan allows a rollout
    for (const s of jobs.rollback.steps!.filter((x) => x.with?.command === 'undo'))
      expect(s.with?.timeout).toBe(
        "${{ fromJSON(needs.preflight.outputs.plan).deploy.timeout || '10m' }}",
      );
  });

  test('the flags job reports the state read before its write, even when the write failed half way', () => {
    const steps = jobs.flags.steps!;
    const before = steps.findIndex((s) => s.id === 'before');
    const enable = steps.findIndex((s) => s.id === 'enable');
    expect(before).toBeGreaterThanOrEqual(0);
    expect(before).toBeLessThan(enable);
    expect(steps[before].with?.operation).toBe('status');
    expect(steps[before].with?.flag).toBe(steps[enable].with?.flag);
    expect(steps[before].with?.backend).toBe(steps[enable].with?.backend);
    expect(steps[before]['continue-on-error']).toBeUndefined();
    expect(jobs.flags.outputs?.['previous-state']).toBe(
      '${{ steps.enable.outputs.previous-state || steps.before.outputs.state }}',
    );
  });

  test('the report runs after everything, whatever happened, and sets the deployment status', () => {
    expect(new Set(needsOf(jobs.report))).toEqual(
      new Set(Object.keys(jobs).filter((j) => j !== 'report')),
    );
    expect(jobs.report.if).toMatch(/always\(\)/);
    const run = jobs.report.steps!.map((s) => s.run ?? '').join('\n');
    expect(run).toMatch(/deployments\/\$ID\/statuses/);
    const r = simulate(wf, ['migrate'], {
      preflight: { 'backfill-count': '1', 'deployment-id': '7' },
    });
    expect(r.report).toBe('success');
    // Even a failed preflight gets its summary; the status step needs the deployment id.
    expect(simulate(wf, ['preflight']).report).toBe('success');
    expect(jobs.report.steps!.find((s) => s.name === 'Deployment status')?.if).toBe(
      "needs.preflight.outputs.deployment-id != ''",
    );
  });

  test('one deployment record: preflight creates it (in_progress), jobs on the environment create none', () => {
    const pre = jobs.preflight.steps!.map((s) => s.run ?? '').join('\n');
    expect(pre).toMatch(/POST "repos\/\$GITHUB_REPOSITORY\/deployments"/);
    expect(pre).toMatch(/state=in_progress/);
    expect(jobs.report.steps!.find((s) => s.name === 'Deployment status')?.env?.STATE).toBe(
      "${{ needs.promote.result == 'success' && 'success' || 'failure' }}",
    );
    for (const [id, job] of Object.entries(jobs)) {
      if (id === 'promotion' || job.environment === undefined) continue;
      expect([id, (job.environment as { deployment?: boolean }).deployment]).toEqual([id, false]);
    }
  });

  test('one release per environment at a time, never cancelled half way', () => {
    expect(wf.concurrency?.group).toContain('${{ inputs.environment }}');
    expect(wf.concurrency?.['cancel-in-progress']).toBe(false);
  });

  test('workflow_call outputs are chained from job outputs that exist', () => {
    const outs = wf.on.workflow_call.outputs as Record<string, { value: string }>;
    expect(Object.keys(outs)).toEqual(
      expect.arrayContaining(['verdict', 'promoted', 'rolled-back', 'deployment-id']),
    );
    for (const [name, o] of Object.entries(outs)) {
      const m = /^\$\{\{ jobs\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(o.value);
      expect([name, m !== null]).toEqual([name, true]);
      expect([name, jobs[m![1]]?.outputs?.[m![2]]]).toEqual([name, expect.any(String)]);
    }
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

  test.each(['release.yml', 'staging.yml'])(
    'every uses: in %s names a repository and a ref (never ./ — it would resolve in the caller)',
    (file) => {
      const steps = allSteps(file);
      expect(steps.length).toBeGreaterThan(5);
      for (const s of steps) {
        expect([s.job, s.uses]).toEqual([
          s.job,
          expect.stringMatching(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+(\/[^@\s]+)?@[^@\s]+$/),
        ]);
      }
      const ours = steps.filter((s) => s.uses.startsWith('runbook-actions/runbook-actions/'));
      expect(ours.length).toBeGreaterThan(5);
      for (const s of ours)
        expect(s.uses).toMatch(/^runbook-actions\/runbook-actions\/actions\/[\w-]+@v1$/);
    },
  );

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
      const step = jobs[job].steps!.find((s) => s.uses?.includes('/actions/flag-toggle@'))!;
      expect([job, step.with?.plan]).toEqual([job, undefined]);
      expect([job, step.with?.['global-must-be']]).toEqual([job, 'any']);
    }
    const canary = jobs.flags.steps!.find((s) => s.id === 'enable')!;
    expect(canary.with?.['global-must-be']).toMatch(/global-must-be \|\| 'off'/);
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

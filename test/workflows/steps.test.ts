/**
 * The shell steps of release.yml run for real (bash, jq) with the environment the runner would
 * give them: reading the plan into job outputs, the secrets check, and the job summary.
 * `yq` is a fake of mikefarah/yq (test/workflows/fake-yq.mjs) since the runner's yq is not the
 * Debian one.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '../../src/errors.js';
import { runGate } from '../../src/gate/index.js';
import { loadPlan } from '../../src/release/index.js';
import { readWorkflow, root } from './workflows.js';

const { wf } = readWorkflow('release.yml');
const tmp = mkdtempSync(join(tmpdir(), 'wf-steps-'));
const bin = join(tmp, 'bin');
mkdirSync(bin);
writeFileSync(
  join(bin, 'yq'),
  `#!/bin/sh\nexec node ${resolve(import.meta.dirname, 'fake-yq.mjs')} "$@"\n`,
);
chmodSync(join(bin, 'yq'), 0o755);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function script(job: string, name: string): string {
  const step = wf.jobs[job].steps!.find((s) => s.name === name);
  if (!step?.run) throw new Error(`no run step '${name}' in job ${job}`);
  return step.run;
}

/** Runs a step's script with bash as the runner does (`bash -e {0}`, pipefail). */
function runStep(run: string, env: Record<string, string>, cwd = root) {
  const dir = mkdtempSync(join(tmp, 'step-'));
  const output = join(dir, 'output');
  const summary = join(dir, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', run], {
    cwd,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      ...env,
    },
    encoding: 'utf8',
  });
  const outputs: Record<string, string> = {};
  for (const line of readFileSync(output, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    outputs,
    summary: readFileSync(summary, 'utf8'),
  };
}

describe('preflight: Read the plan', () => {
  const run = script('preflight', 'Read the plan');

  test('the job outputs are the plan, as the TypeScript loader reads it', () => {
    const r = runStep(run, { PLAN: 'examples/paket7/release.yml', ENVIRONMENT: 'production' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = loadPlan(resolve(root, 'examples/paket7/release.yml')).value;
    expect(r.outputs.package).toBe('P7');
    expect(JSON.parse(r.outputs.matrix)).toEqual(
      plan.traffic.steps.map((s, i) => ({
        index: i + 1,
        weight: s.weight,
        duration: s.duration ?? '',
        smoke: s.smoke,
      })),
    );
    expect(r.outputs.tenants).toBe(plan.flags['canary-tenants'].join(','));
    expect(r.outputs.images).toBe(
      Object.entries(plan.deploy!.images)
        .map(([c, i]) => `${c}=${i}`)
        .join(','),
    );
    expect(r.outputs['backfill-count']).toBe(String(plan.backfills.length));
    expect(JSON.parse(r.outputs.plan).flags.flag).toBe('BILLING_ENFORCEMENT');
  });

  test('a step with smoke: false keeps it false in the matrix', () => {
    const text = readFileSync(resolve(root, 'examples/paket7/release.yml'), 'utf8').replace(
      '{ weight: 5, duration: 30m }',
      '{ weight: 5, duration: 30m, smoke: false }',
    );
    const file = join(tmp, 'plan-smoke.yml');
    writeFileSync(file, text);
    const r = runStep(run, { PLAN: file, ENVIRONMENT: 'production' });
    expect(JSON.parse(r.outputs.matrix).map((s: { smoke: boolean }) => s.smoke)).toEqual([
      true,
      false,
      true,
      true,
    ]);
  });

  test('an environment other than the plan one fails with an annotation', () => {
    const r = runStep(run, { PLAN: 'examples/paket7/release.yml', ENVIRONMENT: 'staging' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "::error file=examples/paket7/release.yml::environment 'staging' is not the plan's environment 'production'",
    );
  });

  test('a file the plan names that does not exist fails preflight', () => {
    const text = readFileSync(resolve(root, 'examples/paket7/release.yml'), 'utf8').replace(
      'backfills/usage-limits.yml',
      'backfills/gone.yml',
    );
    const file = join(tmp, 'plan-missing.yml');
    writeFileSync(file, text);
    const r = runStep(run, { PLAN: file, ENVIRONMENT: 'production' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("'examples/paket7/backfills/gone.yml' does not exist");
  });
});

describe('preflight: Required secrets are set', () => {
  const run = script('preflight', 'Required secrets are set');

  test('names the missing secrets and never prints a value', () => {
    const r = runStep(run, {
      PLAN: 'release.yml',
      REQUIRED: 'DATABASE_URL KUBECONFIG',
      DATABASE_URL: 'postgres://app:s3cret-pw@db/app',
      KUBECONFIG: '',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error file=release.yml::secrets not set: KUBECONFIG');
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
  });

  test('passes when every required secret is set', () => {
    const r = runStep(run, {
      REQUIRED: 'DATABASE_URL',
      DATABASE_URL: 'postgres://app:s3cret-pw@db/app',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('required secrets present: DATABASE_URL\n');
  });
});

describe('report: Job summary', () => {
  const run = script('report', 'Job summary');

  test('timeline, what changed, measured values against criteria and the approver', async () => {
    const cwd = mkdtempSync(join(tmp, 'report-'));
    mkdirSync(join(cwd, 'release-steps'));
    // A real measurements file from the gate engine (synthetic provider values).
    await runGate(
      {
        criteria: resolve(root, 'examples/paket7/gate/prometheus.yml'),
        mode: 'backtest',
        start: '2024-06-03T19:00:00Z',
        end: '2024-06-03T19:30:00Z',
        measurementsFile: join(cwd, 'release-steps', 'gate-1.json'),
        providerFactory: () => ({
          name: 'synthetic',
          instant: async () => null,
          range: async (ref, s, e, step) => {
            const pts = [];
            for (let t = s; t <= e; t += step) {
              const v =
                ref.role === 'denominator'
                  ? 5000
                  : ref.role === 'numerator'
                    ? 5
                    : ref.metric === 'p99-latency'
                      ? 0.21
                      : 0.001;
              pts.push({ t, v: ref.metric === 'quota-denials-outside-canary' ? 0 : v });
            }
            return pts;
          },
        }),
      },
      silentLogger,
    );
    writeFileSync(
      join(cwd, 'release-steps', 'step-1.json'),
      JSON.stringify({
        started: '2024-06-03T19:00:05Z',
        finished: '2024-06-03T19:31:02Z',
        weight: '1',
        smoke: 'success 10/0',
        verdict: 'pass',
        reason: 'every criterion held | 30 measurements',
      }),
    );
    const job = (result: string, outputs: Record<string, string> = {}) => ({ result, outputs });
    const needs = {
      preflight: job('success', {
        package: 'P7',
        tenants: 'tn-4582,tn-9014',
        'started-at': '2024-06-03T19:00:00Z',
        'finished-at': '2024-06-03T19:00:40Z',
      }),
      migrate: job('success', {
        'applied-count': '2',
        'started-at': '2024-06-03T19:00:41Z',
        'finished-at': '2024-06-03T19:00:50Z',
      }),
      'deploy-canary': job('success', { revision: '8', 'previous-revision': '7' }),
      backfill: job('success', { 'rows-written': '147', verified: 'true' }),
      flags: job('success', {
        'previous-state': '{"global":"off","tenants":[]}',
        state: '{"global":"off","tenants":["tn-4582","tn-9014"]}',
      }),
      traffic: job('success', { verdict: 'pass' }),
      promotion: job('success', { 'approved-by': 'ema', 'approved-at': '2024-06-03T21:02:11Z' }),
      promote: job('success', { promoted: 'true' }),
      rollback: job('skipped'),
    };
    const r = runStep(
      run,
      { NEEDS: JSON.stringify(needs), PACKAGE: 'P7', ENVIRONMENT: 'production' },
      cwd,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const md = r.summary;
    expect(md).toContain('# Release P7 to production');
    expect(md).toContain('| migrate | success | 2024-06-03T19:00:41Z | 2024-06-03T19:00:50Z |');
    expect(md).toContain('- backfill rows written: 147, verified: true');
    expect(md).toContain(
      '| 1% | 2024-06-03T19:00:05Z | 2024-06-03T19:31:02Z | success 10/0 | pass | every criterion held \\| 30 measurements |',
    );
    expect(md).toContain('#### 1% of traffic: pass');
    expect(md).toMatch(/\| canary-5xx-rate \| < 1% \| 0\.001 ratio \| 30 \/ 0 \| successful \|/);
    expect(md).toContain('| p99-latency | < 500ms | 0.21 seconds | 30 / 0 | successful |');
    expect(md).toContain('Promotion approved by ema at 2024-06-03T21:02:11Z.');
    expect(md).not.toContain('Rolled back');
    expect(md).not.toContain('## Rollback');
  });

  test('a rollback lists each of its steps; a failed one is reported as incomplete, never as rolled back', () => {
    const cwd = mkdtempSync(join(tmp, 'report-rb-'));
    const job = (result: string, outputs: Record<string, string> = {}) => ({ result, outputs });
    const needs = (rollback: { result: string; outputs: Record<string, string> }) => ({
      preflight: job('success', { package: 'P7' }),
      migrate: job('success'),
      'deploy-canary': job('success', { revision: '8', 'previous-revision': '7' }),
      backfill: job('success'),
      flags: job('success'),
      traffic: job('failure', { verdict: 'fail' }),
      promotion: job('skipped'),
      promote: job('skipped'),
      rollback,
    });
    const steps = { flags: 'success', 'stable-undo': 'skipped', 'weight-zero': 'success' };
    const ok = runStep(
      run,
      {
        NEEDS: JSON.stringify(
          needs(
            job('success', {
              ...steps,
              undo: 'success',
              'rolled-back': 'true',
              'finished-at': '2024-06-03T19:40:00Z',
            }),
          ),
        ),
        PACKAGE: 'P7',
        ENVIRONMENT: 'production',
      },
      cwd,
    );
    expect(ok.code).toBe(0);
    expect(ok.summary).toContain('**Rolled back** at 2024-06-03T19:40:00Z.');
    expect(ok.summary).toContain('| stable Deployment undone (failed promotion) | skipped |');
    expect(ok.summary).toContain('| canary rollout undo | success |');

    const bad = runStep(
      run,
      {
        NEEDS: JSON.stringify(
          needs(job('failure', { ...steps, undo: 'failure', 'rolled-back': 'false' })),
        ),
        PACKAGE: 'P7',
        ENVIRONMENT: 'production',
      },
      cwd,
    );
    expect(bad.code).toBe(0);
    expect(bad.summary).not.toContain('**Rolled back**');
    expect(bad.summary).toContain(
      '**Rollback incomplete**: a rollback step failed or did not run (rollback job: failure); the environment is NOT back to its previous state.',
    );
    expect(bad.summary).toContain('| canary rollout undo | failure |');
  });
});

describe('rollback: the rolled-back output', () => {
  const step = readWorkflow('release.yml').wf.jobs.rollback.steps!.find((s) => s.id === 'done')!;
  const outcome = (outcomes: string) => runStep(step.run!, { OUTCOMES: outcomes }).outputs;

  test("is 'true' only when no rollback step failed", () => {
    expect(step.env?.OUTCOMES).toBe(
      '${{ steps.flags.outcome }} ${{ steps.stable-undo.outcome }} ${{ steps.weight-zero.outcome }} ${{ steps.undo.outcome }}',
    );
    expect(outcome('success skipped success success')['rolled-back']).toBe('true');
    expect(outcome('success skipped failure success')['rolled-back']).toBe('false');
    expect(outcome('failure skipped success success')['rolled-back']).toBe('false');
  });
});

describe('promotion: Record the approval', () => {
  const run = script('promotion', 'Record the approval');
  // A fake `gh` (GitHub CLI) that answers `gh api .../approvals --jq ...` with the login the
  // jq filter would pick from GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals.
  const gh = (login: string) => {
    const dir = mkdtempSync(join(tmp, 'gh-'));
    writeFileSync(join(dir, 'gh'), `#!/bin/sh\nprintf '%s\\n' '${login}'\n`);
    chmodSync(join(dir, 'gh'), 0o755);
    return `${dir}:${bin}:${process.env.PATH}`;
  };
  const env = {
    APPROVAL_ENV: 'production-promotion',
    GITHUB_REPOSITORY: 'acme/videokit',
    GITHUB_RUN_ID: '42',
    GITHUB_TRIGGERING_ACTOR: 'release-bot',
  };

  test('records the reviewer who approved', () => {
    const r = runStep(run, { ...env, PATH: gh('ema') });
    expect(r.code).toBe(0);
    expect(r.outputs['approved-by']).toBe('ema');
    expect(r.outputs['approved-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('without a recorded approval the job fails: nobody approved, nothing is promoted', () => {
    const r = runStep(run, { ...env, PATH: gh('') });
    expect(r.code).toBe(1);
    expect(r.outputs['approved-by']).toBeUndefined();
    expect(r.stdout).toContain(
      "::error::no approval of environment 'production-promotion' in this run: add required reviewers to it",
    );
  });
});

describe('traffic: Stop unless the gate passed', () => {
  const run = script('traffic', 'Stop unless the gate passed');
  const stop = (verdict: string, onInconclusive: string) =>
    runStep(run, {
      WEIGHT: '5',
      VERDICT: verdict,
      REASON: 'no data: no requests in this interval',
      ON_INCONCLUSIVE: onInconclusive,
    });

  test("an inconclusive verdict goes on only when the plan's gate.on-inconclusive is pass or neutral", () => {
    for (const on of ['pass', 'neutral']) {
      const r = stop('inconclusive', on);
      expect([on, r.code]).toEqual([on, 0]);
      expect(r.stdout).toContain(
        `::warning::canary gate at 5%: inconclusive: no data: no requests in this interval; going on because the plan's gate.on-inconclusive is ${on}`,
      );
    }
    expect(stop('inconclusive', 'fail').code).toBe(1);
  });

  test('a failed verdict, or none at all, always stops', () => {
    for (const on of ['pass', 'neutral', 'fail']) {
      const r = stop('fail', on);
      expect([on, r.code]).toEqual([on, 1]);
      expect(r.stdout).toContain('::error::canary gate at 5%: fail:');
    }
    expect(stop('', 'pass').stdout).toContain('::error::canary gate at 5%: no verdict:');
    expect(stop('', 'pass').code).toBe(1);
  });
});

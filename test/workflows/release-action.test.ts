/**
 * The `release` action's bundle run as the runner runs it (test/support/action.ts), against the
 * fake of GitHub's REST API (test/support/github-deployments.ts): preflight's plan command and
 * its checks, the re-run and traffic-order guard, the records the rollback reads, the approval
 * and the report.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBundledAction } from '../support/action.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-deployments.js';
import { root } from './workflows.js';

const TOKEN = 'ghs_fakeReleaseToken0123456789abcdef';
const SECRETS = {
  DATABASE_URL: 'postgres://app:dbPassw0rd-xyz@db.internal:5432/app',
  KUBECONFIG: 'apiVersion: v1\nkind: Config\n',
  PROMETHEUS_URL: 'https://prometheus.internal.example.com',
};
const reviewers = {
  type: 'required_reviewers',
  prevent_self_review: false,
  reviewers: [{ type: 'User', reviewer: { login: 'sre-oncall', id: 1 } }],
};
let gh: FakeGitHub;
let tmp: string;
const env = (extra: Record<string, string> = {}) => ({
  GITHUB_API_URL: gh.url,
  GITHUB_REPOSITORY: 'acme/billing',
  GITHUB_RUN_ID: '42',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_SHA: 'abc123',
  ...extra,
});

beforeAll(async () => {
  gh = await startFakeGitHub('acme', 'billing', TOKEN);
  tmp = mkdtempSync(join(tmpdir(), 'release-action-'));
});
afterAll(async () => {
  await gh.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  for (const k of Object.keys(gh.environments)) delete gh.environments[k];
  gh.environments.production = { protection_rules: [{ type: 'branch_policy' }] };
  gh.environments['production-promotion'] = {
    protection_rules: [reviewers],
    can_admins_bypass: false,
  };
});

const plan = (extra: Record<string, string> = {}, planFile = 'examples/paket7/release.yml') =>
  runBundledAction(
    'release',
    { command: 'plan', plan: planFile, environment: 'production', token: TOKEN },
    { env: env({ ...SECRETS, ...extra }) },
  );

describe('plan (preflight)', () => {
  test('compiles the plan into outputs the later jobs read with fromJSON', async () => {
    const r = await plan();
    expect([r.exitCode, r.annotations]).toEqual([0, []]);
    const release = JSON.parse(r.outputs.release);
    expect(release).toMatchObject({ package: 'P7', attempt: 1, format: 1 });
    expect(JSON.parse(r.outputs.steps).migrate.apply.dir).toBe('examples/paket7/migrations');
    expect(JSON.parse(r.outputs.traffic).map((l: { weight: number }) => l.weight)).toEqual([
      1, 5, 20, 50,
    ]);
    expect(JSON.parse(r.outputs.timeouts).traffic).toBeGreaterThan(30);
    for (const v of Object.values(SECRETS)) expect(r.stdout).not.toContain(v);
  });

  test('a plan value holding a newline stays inside its output', async () => {
    const text = readFileSync(resolve(root, 'examples/paket7/release.yml'), 'utf8').replace(
      'change-cause: Paket 7 (T18b + T18c) billing enforcement',
      'change-cause: "Paket 7\\nrelease=evil\\ntimeouts={}"',
    );
    const file = join(root, '.tmp', 'newline-plan.yml');
    mkdirSync(join(root, '.tmp'), { recursive: true });
    writeFileSync(file, text);
    try {
      const r = await plan({}, '.tmp/newline-plan.yml');
      expect(r.exitCode).toBe(0);
      const steps = JSON.parse(r.outputs.steps);
      expect(steps['deploy-canary']['set-image']['change-cause']).toBe(
        'Paket 7\nrelease=evil\ntimeouts={}',
      );
      expect(JSON.parse(r.outputs.release).package).toBe('P7');
      expect(JSON.parse(r.outputs.timeouts).preflight).toBe(15);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('a missing secret is named, and no value is printed', async () => {
    const r = await plan({ PROMETHEUS_URL: '' });
    expect(r.exitCode).toBe(1);
    expect(r.annotations[0].message).toMatch(/secrets not set: PROMETHEUS_URL/);
    expect(r.annotations[0].file).toMatch(/examples\/paket7\/release\.yml$/);
    expect(r.stdout).not.toContain(SECRETS.DATABASE_URL);
  });

  test('a plan value equal to a secret is refused before the runner silently drops the output', async () => {
    const r = await plan({ SMOKE_SECRETS: 'https://api.eu.video-kit.example.com' });
    expect(r.exitCode).toBe(1);
    expect(r.annotations[0].message).toMatch(/equals the secret SMOKE_SECRETS/);
    expect(r.outputs.release).toBeUndefined();
  });

  test('required reviewers on the release environment are refused: the rollback would wait', async () => {
    gh.environments.production = { protection_rules: [reviewers] };
    const r = await plan();
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      /environment 'production' has required reviewers \(sre-oncall\).*rollback could wait for a person/,
    );
    expect(r.outputs.release).toBeUndefined();
  });

  test('a promotion environment without required reviewers (or missing) is refused', async () => {
    gh.environments['production-promotion'] = {
      protection_rules: [{ type: 'wait_timer', wait_timer: 5 }],
    };
    const r = await plan();
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/'production-promotion' has no required reviewers/);
    delete gh.environments['production-promotion'];
    expect((await plan()).stdout).toMatch(/'production-promotion' does not exist/);
  });

  test('the environment input must be the plan’s, at the plan’s line', async () => {
    const r = await runBundledAction(
      'release',
      { command: 'plan', plan: 'examples/paket7/release.yml', environment: 'staging' },
      { env: env(SECRETS) },
    );
    expect(r.exitCode).toBe(1);
    expect(r.annotations[0]).toMatchObject({
      file: expect.stringMatching(/release\.yml$/),
      line:
        readFileSync(resolve(root, 'examples/paket7/release.yml'), 'utf8')
          .split('\n')
          .indexOf('environment: production') + 1,
    });
  });
});

describe('guard, records and report', () => {
  let release = '';
  beforeAll(async () => {
    gh.environments.production = { protection_rules: [] };
    gh.environments['production-promotion'] = {
      protection_rules: [reviewers],
      can_admins_bypass: false,
    };
    release = (await plan()).outputs.release;
  });

  test('a re-run attempt refuses to act on the first attempt’s release', async () => {
    const r = await runBundledAction(
      'release',
      { command: 'guard', job: 'traffic', leg: '1', release },
      { env: env({ GITHUB_RUN_ATTEMPT: '2' }) },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      /attempt 2 of the run, but the release was compiled in attempt 1.*Start a new run/,
    );
  });

  test('a compiled release of another format names both versions', async () => {
    const r = await runBundledAction(
      'release',
      {
        command: 'guard',
        job: 'migrate',
        release: JSON.stringify({ ...JSON.parse(release), format: 2, compiler: '9.0.0' }),
      },
      { env: env() },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      /format 2 \(runbook-actions 9\.0\.0\) cannot be read by runbook-actions 0\.1\.0, which reads format 1/,
    );
  });

  test('traffic step 2 refuses without step 1’s verdict, and goes on after a recorded pass', async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const guard = () =>
      runBundledAction(
        'release',
        { command: 'guard', job: 'traffic', leg: '2', release },
        { env: env(), cwd: ws },
      );
    const refused = await guard();
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(
      /traffic step 2 refuses to move traffic: no recorded verdict of traffic step 1 \(1%25\)/,
    );
    const record = (verdict: string, outcome: string) =>
      runBundledAction(
        'release',
        {
          command: 'record',
          job: 'traffic',
          leg: '1',
          steps: JSON.stringify({
            guard: { outcome: 'success', outputs: { 'started-at': '2026-12-04T10:00:00Z' } },
            gate: { outcome, conclusion: outcome, outputs: { verdict, reason: 'r' } },
          }),
        },
        { env: env(), cwd: ws },
      );
    expect((await record('fail', 'failure')).exitCode).toBe(0);
    expect((await guard()).stdout).toMatch(/recorded verdict 'fail'/);
    await record('pass', 'success');
    expect((await guard()).exitCode).toBe(0);
  });

  test('records are redacted; the rollback reads the flag state and revisions from them', async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const state = JSON.stringify({ flag: 'BILLING_ENFORCEMENT', global: 'off', tenants: [] });
    const rec = (job: string, steps: object) =>
      runBundledAction(
        'release',
        { command: 'record', job, steps: JSON.stringify(steps) },
        { env: env(), cwd: ws },
      );
    await rec('flags', {
      before: { outcome: 'success', outputs: { state } },
      enable: { outcome: 'failure', outputs: { note: `connect ${SECRETS.DATABASE_URL} failed` } },
    });
    await rec('deploy-canary', {
      'set-image': { outcome: 'success', outputs: { 'previous-revision': '3' } },
    });
    const text = readFileSync(join(ws, '.release-records', 'flags.json'), 'utf8');
    expect(text).not.toContain('dbPassw0rd-xyz');
    const r = await runBundledAction('release', { command: 'records' }, { env: env(), cwd: ws });
    expect(r.outputs).toMatchObject({
      'flag-previous-state': state,
      'canary-previous-revision': '3',
      'canary-deployed': 'true',
      'stable-previous-revision': '',
    });
  });

  test('approval: a rejection fails the job with the reviewer’s comment; an approval names the reviewer', async () => {
    gh.approvals[42] = [
      {
        state: 'rejected',
        environments: ['production-promotion'],
        user: 'alice',
        comment: 'p99 too high',
      },
    ];
    const no = await runBundledAction(
      'release',
      { command: 'approval', release, token: TOKEN },
      { env: env() },
    );
    expect(no.exitCode).toBe(1);
    expect(no.stdout).toMatch(/rejected by alice: p99 too high/);
    gh.approvals[42] = [{ state: 'approved', environments: ['production-promotion'], user: 'bob' }];
    const yes = await runBundledAction(
      'release',
      { command: 'approval', release, token: TOKEN },
      { env: env() },
    );
    expect([yes.exitCode, yes.outputs['approved-by']]).toEqual([0, 'bob']);
  });

  test('report: the renderer of runbook rehearse, a rollback section, and the deployment status', async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const start = await runBundledAction(
      'release',
      { command: 'start', release, token: TOKEN },
      { env: env() },
    );
    const id = start.outputs['deployment-id'];
    expect(id).toMatch(/^\d+$/);
    const rec = (job: string, steps: object, leg?: string) =>
      runBundledAction(
        'release',
        { command: 'record', job, leg, steps: JSON.stringify(steps) },
        { env: env(), cwd: ws },
      );
    await rec('migrate', {
      apply: { outcome: 'success', outputs: { applied: '["20261101"]', 'applied-count': '1' } },
    });
    await rec(
      'traffic',
      {
        gate: {
          outcome: 'failure',
          outputs: { verdict: 'fail', reason: 'http_5xx_rate 6.3% vs < 1%' },
        },
      },
      '1',
    );
    await rec('rollback', {
      records: { outcome: 'success' },
      flags: { outcome: 'success' },
      'weight-zero': { outcome: 'success' },
      undo: { outcome: 'failure' },
    });
    const needs = {
      preflight: { result: 'success' },
      migrate: { result: 'success' },
      traffic: { result: 'cancelled' },
      promotion: { result: 'skipped' },
      promote: { result: 'skipped' },
      rollback: { result: 'success' },
    };
    const r = await runBundledAction(
      'release',
      {
        command: 'report',
        release,
        needs: JSON.stringify(needs),
        'deployment-id': id,
        token: TOKEN,
      },
      { env: env(), cwd: ws },
    );
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatch(/^# Release P7/);
    expect(r.summary).toContain('## Timeline');
    expect(r.summary).toContain('http_5xx_rate 6.3% vs < 1%');
    expect(r.summary).toContain('## Rollback');
    expect(r.summary).toContain('**Rollback incomplete**');
    expect(r.outputs).toMatchObject({
      outcome: 'rolled-back',
      promoted: 'false',
      'rolled-back': 'false',
      verdict: 'fail',
    });
    expect(readFileSync(join(ws, 'reports/deploy/P7.md'), 'utf8')).toBe(r.summary.trimEnd() + '\n');
    const d = gh.deployments.find((x) => x.id === Number(id))!;
    expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
  });
});

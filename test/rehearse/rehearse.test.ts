/**
 * The Paket 7 rehearsal end to end on a real PostgreSQL: the recorded healthy canary is
 * promoted, the recorded regression stops at the gate and rolls the flag back.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, recordingLogger } from '../../src/errors.js';
import { urlPassword } from '../../src/db/connect.js';
import { toggleFlag } from '../../src/flags/index.js';
import { compileRelease, loadPlan, parsePlan } from '../../src/release/index.js';
import { rehearsalDrift } from '../workflows/drift.js';
import { rehearse, type RehearsalResult } from '../../src/release/index.js';
import { command } from '../../src/release/rehearse-cli.js';
import { adminUrl, freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { startSmokeService, type SmokeService } from '../support/smoke-service.js';

const root = resolve(import.meta.dirname, '../..');
const PLAN = 'examples/paket7/release.yml';
const TOKEN = 'rehearsal-smoke-token';
const tmp = mkdtempSync(join(tmpdir(), 'rehearse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function flagState(url: string) {
  const r = await toggleFlag(
    { backend: 'postgres', databaseUrl: url, operation: 'status', flag: 'BILLING_ENFORCEMENT' },
    recordingLogger(),
  );
  return { global: r.state.global, tenants: r.state.tenants };
}

describe('healthy canary: promoted', () => {
  let db: TestDatabase;
  let smoke: SmokeService;
  let r: RehearsalResult;
  let report: string;
  const logger = recordingLogger();

  beforeAll(async () => {
    db = await freshDatabase('rehearse_ok');
    smoke = await startSmokeService({ token: TOKEN, databaseUrl: db.url });
    r = await rehearse(
      {
        plan: PLAN,
        root,
        databaseUrl: db.url,
        sampleUsers: 200,
        recording: 'healthy',
        approver: 'ema',
        smoke: { baseUrl: smoke.url, secrets: { API_TOKEN: TOKEN } },
        reportFile: join(tmp, 'P7.md'),
      },
      logger,
    );
    report = readFileSync(join(tmp, 'P7.md'), 'utf8');
  });
  afterAll(async () => {
    await smoke?.close();
    await db?.dispose();
  });

  test('every step runs in the workflow order and the release is promoted', () => {
    expect(r.outcome).toBe('promoted');
    expect(r.failedStep).toBeUndefined();
    const jobs = [...new Set(r.timeline.map((t) => t.job))];
    expect(jobs).toEqual([
      'preflight',
      'migrate',
      'deploy canary',
      'backfill',
      'flags',
      'traffic 1%',
      'traffic 5%',
      'traffic 20%',
      'traffic 50%',
      'approve promotion',
      'promote',
    ]);
    expect(r.timeline.filter((t) => t.status === 'failure')).toEqual([]);
  });

  test('the rehearsal ran the compiled release step by step, in its order', () => {
    const release = compileRelease(loadPlan(resolve(root, PLAN)));
    expect(rehearsalDrift(release, r.executed)).toEqual([]);
    // …and the check notices a step run out of order.
    const swapped = [...r.executed];
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    expect(rehearsalDrift(release, swapped)).not.toEqual([]);
  });

  test('migrations applied, backfill executed and verified', () => {
    expect(r.applied).toContain('20251201090000');
    expect(r.backfills).toHaveLength(1);
    expect(r.backfills[0].rowsWritten).toBeGreaterThan(0);
    expect(r.backfills[0].verified).toBe(true);
  });

  test('smoke checks and the gate passed at every traffic step', () => {
    expect(r.gates.map((g) => [g.weight, g.verdict])).toEqual([
      [1, 'pass'],
      [5, 'pass'],
      [20, 'pass'],
      [50, 'pass'],
    ]);
    for (const g of r.gates) {
      expect(g.smoke?.failed).toBe(0);
      expect(g.smoke?.passed).toBeGreaterThan(0);
      expect(g.metrics.map((m) => m.name)).toContain('canary-5xx-rate');
    }
  });

  test('Kubernetes steps are skipped with a clear line', () => {
    const kube = r.timeline.filter((t) => /set image|set weight|canary to 100%/.test(t.step));
    expect(kube.length).toBe(6);
    for (const t of kube) {
      expect(t.status).toBe('skipped');
      expect(t.detail).toMatch(/no kubeconfig/);
    }
  });

  test('the flag went canary tenants first, then global on after the approval', async () => {
    expect(r.flag?.before).toEqual({ global: 'off', tenants: [] });
    expect(r.flag?.canary).toEqual({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    expect(await flagState(db.url)).toEqual({ global: 'on', tenants: ['tn-4582', 'tn-9014'] });
    expect(r.approval).toMatchObject({ by: 'ema', auto: false });
  });

  test('the report logs findings and timestamps (seed 000)', () => {
    expect(report).toMatch(/^# Release P7 — Billing enforcement with usage caps/);
    expect(report).toContain('**promoted**');
    expect(report).toMatch(/## Timeline\n\| started \(UTC\) \| finished \(UTC\) \|/);
    expect(report).toMatch(
      /\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| traffic 20% \| canary gate \| ✅ success \|/,
    );
    expect(report).toContain('## What changed');
    expect(report).toContain('Flag `BILLING_ENFORCEMENT` at the end: global on');
    expect(report).toMatch(/\| canary-5xx-rate \| < 1% \| [\d.]+% \|/);
    expect(report).toContain('Approved by **ema**');
    expect(report).not.toContain('## Rollback');
    expect(report).not.toContain(`:${urlPassword(db.url)}@`);
  });
});

describe('recorded regression: stops at the gate and rolls back', () => {
  let db: TestDatabase;
  let r: RehearsalResult;
  let report: string;
  const logger = recordingLogger();
  // A login of its own with a password that cannot appear in any log line by accident.
  const role = `rehearse_${process.pid}`;
  const password = 'Xq7-rehearsal-Pw-91';

  beforeAll(async () => {
    db = await freshDatabase('rehearse_bad');
    await withClient(adminUrl(), (c) =>
      c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`),
    );
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    r = await rehearse(
      {
        plan: PLAN,
        root,
        databaseUrl: url.toString(),
        sampleUsers: 100,
        recording: 'regression',
        reportFile: join(tmp, 'P7-regression.md'),
      },
      logger,
    );
    report = readFileSync(join(tmp, 'P7-regression.md'), 'utf8');
  });
  afterAll(async () => {
    await db?.dispose();
    await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });

  test('the database password appears in no log line and not in the report', () => {
    expect(logger.lines.length).toBeGreaterThan(20);
    expect(logger.lines.join('\n')).not.toContain(password);
    expect(report).not.toContain(password);
    expect(report).toContain(`postgres://${role}:***@`);
  });

  test('the first traffic step fails at the canary gate; nothing is promoted', () => {
    expect(r.outcome).toBe('rolled-back');
    expect(r.failedStep).toBe('traffic 1%: canary gate');
    expect(r.gates).toHaveLength(1);
    expect(r.gates[0].verdict).toBe('fail');
    const jobs = new Set(r.timeline.map((t) => t.job));
    expect(jobs.has('traffic 5%')).toBe(false);
    expect(jobs.has('approve promotion')).toBe(false);
    expect(jobs.has('promote')).toBe(false);
    expect(r.approval).toBeUndefined();
    const release = compileRelease(loadPlan(resolve(root, PLAN)));
    expect(rehearsalDrift(release, r.executed, { job: 'traffic', leg: 1, step: 'gate' })).toEqual(
      [],
    );
  });

  test('the rollback puts the flag back to its state before the release', async () => {
    const step = r.timeline.find((t) => t.job === 'rollback' && t.step.includes('previous state'));
    expect(step?.status).toBe('success');
    expect(r.flag?.after).toEqual(r.flag?.before);
    expect(await flagState(db.url)).toEqual({ global: 'off', tenants: [] });
  });

  test('the report names the failing criterion with its measured value', () => {
    expect(report).toContain('**rolled back**');
    expect(report).toContain('stopped at traffic 1%: canary gate');
    expect(report).toMatch(/### 1% of traffic: ❌ fail/);
    const failed = r.gates[0].metrics.filter((m) => m.status === 'failed' && !m.dryRun);
    expect(failed.length).toBeGreaterThan(0);
    for (const m of failed) expect(report).toContain(`| ${m.name} | ${m.condition} |`);
    expect(report).toContain('## Rollback');
    expect(report).toContain('Promotion was not requested');
  });

  test('the rollback says what it keeps: the backfilled rows and the migrations', () => {
    const rb = r.timeline.filter((t) => t.job === 'rollback');
    const written = r.backfills[0].rowsWritten;
    expect(written).toBeGreaterThan(0);
    expect(rb.find((t) => t.step === 'backfill')).toMatchObject({
      status: 'skipped',
      detail: `kept: usage-limits ${written} row(s) stay written (a backfill has no undo; it only fills the columns the migrations added)`,
    });
    expect(rb.map((t) => t.step).slice(-2)).toEqual(['backfill', 'migrations']);
    expect(report).toContain(`kept: usage-limits ${written} row(s) stay written`);
  });
});

describe('plan problems stop the rehearsal before anything runs', () => {
  const text = readFileSync(resolve(root, PLAN), 'utf8');
  const unreachable = 'postgres://nobody:secret@127.0.0.1:1/none';

  test('an invalid plan is a ConfigError with its line', async () => {
    const bad = parsePlanOrError(
      text.replace('- { weight: 5, duration: 30m }', '- { weight: 500, duration: 30m }'),
    );
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).location?.line).toBeGreaterThan(1);
  });

  test('a plan without the requested recording is refused at its gate section', async () => {
    const plan = parsePlan(text.replace(/\n +regression: .*\n/, '\n'), resolve(root, PLAN));
    await expect(
      rehearse(
        { plan, root, databaseUrl: unreachable, recording: 'regression' },
        recordingLogger(),
      ),
    ).rejects.toThrow(/gate\.recordings\.regression/);
  });

  test('a missing referenced file is refused with the plan line', async () => {
    const plan = parsePlan(
      text.replace('backfills/usage-limits.yml', 'backfills/nope.yml'),
      resolve(root, PLAN),
    );
    await expect(
      rehearse({ plan, root, databaseUrl: unreachable }, recordingLogger()),
    ).rejects.toThrow(
      /release\.yml:\d+: backfills\.0\.spec: file 'examples\/paket7\/backfills\/nope\.yml' does not exist/,
    );
  });
});

describe('runbook rehearse', () => {
  test('without a plan it prints usage and exits 2', async () => {
    const logger = recordingLogger();
    expect(await command.run([], logger)).toBe(2);
    expect(logger.lines.join('\n')).toContain('usage: runbook rehearse');
  });

  test('--regression with --smoke-secret NAME: the token comes from the environment, smoke passes, the gate stops it', async () => {
    const db = await freshDatabase('rehearse_cli');
    const smoke = await startSmokeService({ token: TOKEN, databaseUrl: db.url });
    const saved = process.env.API_TOKEN;
    process.env.API_TOKEN = TOKEN;
    try {
      const out = join(tmp, 'cli.md');
      const logger = recordingLogger();
      const code = await command.run(
        [
          PLAN,
          '--regression',
          '--root',
          root,
          '--database-url',
          db.url,
          '--yes',
          '--sample-users',
          '0',
          '--smoke-url',
          smoke.url,
          '--smoke-secret',
          'API_TOKEN',
          '--report',
          out,
        ],
        logger,
      );
      expect(code).toBe(1);
      const report = readFileSync(out, 'utf8');
      expect(report).toContain('**rolled back**');
      // The fake service answers 401 without the token: the smoke checks passed, so the CLI
      // read it from $API_TOKEN, and the run got as far as the gate.
      expect(logger.lines.join('\n')).toMatch(/rolled back \(stopped at [^)]*canary gate/);
      expect(report).toMatch(/Smoke checks: [1-9]\d* passed, 0 failed\./);
      expect(logger.lines.join('\n') + report).not.toContain(TOKEN);
    } finally {
      if (saved === undefined) delete process.env.API_TOKEN;
      else process.env.API_TOKEN = saved;
      await smoke.close();
      await db.dispose();
    }
  });

  test('--smoke-secret takes a NAME; a value on the command line is refused without echoing it', async () => {
    const run = (...args: string[]) =>
      command.run(
        [PLAN, '--root', root, '--smoke-url', 'http://127.0.0.1:9', ...args],
        recordingLogger(),
      );
    const e = await run('--smoke-secret', 'API_TOKEN=hunter2-secret').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toMatch(/environment variable/);
    expect((e as ConfigError).message).not.toContain('hunter2-secret');
    const saved = process.env.RUNBOOK_TEST_UNSET_SECRET;
    delete process.env.RUNBOOK_TEST_UNSET_SECRET;
    try {
      await expect(run('--smoke-secret', 'RUNBOOK_TEST_UNSET_SECRET')).rejects.toThrow(
        'environment variable RUNBOOK_TEST_UNSET_SECRET is not set',
      );
    } finally {
      if (saved !== undefined) process.env.RUNBOOK_TEST_UNSET_SECRET = saved;
    }
  });
});

function parsePlanOrError(text: string): unknown {
  try {
    return parsePlan(text, 'release.yml');
  } catch (e) {
    return e;
  }
}

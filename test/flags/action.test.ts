/**
 * The bundled `flag-toggle` action (actions/flag-toggle/dist/index.js), run as the runner runs
 * it, on the postgres backend. Build it first: `node scripts/bundle.mjs flag-toggle`.
 */
import { runBundledAction } from '../support/action.js';
import { makeCaPem, TLS_REFUSED } from '../github/pem.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { startAdminFake, type AdminFake } from '../support/flags-admin-fake.js';
import {
  startLaunchDarklyFake,
  type LaunchDarklyFake,
} from '../support/flags-launchdarkly-fake.js';

const password = 'Fl4g-t0ggle-pw-93kq';
const env = {
  GITHUB_ACTOR: 'release-bot',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/video-kit',
  GITHUB_RUN_ID: '777',
};

describe('flag-toggle bundled action (postgres backend)', () => {
  let db: TestDatabase;
  let url: string;
  beforeAll(async () => {
    db = await freshDatabase('flags_action');
    const role = `${db.name}_app`;
    await withClient(db.url, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      await c.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
    });
    const u = new URL(db.url);
    u.username = role;
    u.password = password;
    url = u.toString();
  });
  afterAll(async () => {
    await db.dispose();
    await withClient(process.env.RUNBOOK_TEST_ADMIN_URL!, (c) =>
      c.query(`DROP ROLE IF EXISTS ${db.name}_app`),
    );
  });

  it('enables the example plan for the canary tenants, then restores the previous state', async () => {
    const run = await runBundledAction(
      'flag-toggle',
      {
        operation: 'enable',
        plan: 'examples/paket7/flags.yml',
        'database-url': url,
        reason: 'Paket 7 canary',
      },
      { env },
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs.changed).toBe('true');
    const previous = JSON.parse(run.outputs['previous-state']);
    const state = JSON.parse(run.outputs.state);
    expect(previous).toMatchObject({ flag: 'BILLING_ENFORCEMENT', global: 'off', tenants: [] });
    expect(state).toMatchObject({
      flag: 'BILLING_ENFORCEMENT',
      global: 'off',
      tenants: ['tn-4582', 'tn-9014'],
    });
    expect(run.summary).toContain('Feature flag BILLING_ENFORCEMENT: enable (changed)');
    expect(run.summary).toContain('tn-4582 (Acme Studio EU Sandbox)');
    expect(run.summary).toContain('https://github.com/acme/video-kit/actions/runs/777');
    expect(run.summary).toContain('Guard: global must be **off**');
    expect(run.masks).toContain(password);
    // the runner consumes `::add-mask::` commands; everything else must not carry the password
    const printed = run.stdout.replace(/^::add-mask::.*$/gm, '');
    for (const text of [printed, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
      expect(text).not.toContain(password);
    }

    const again = await runBundledAction(
      'flag-toggle',
      { operation: 'enable', plan: 'examples/paket7/flags.yml', 'database-url': url },
      { env },
    );
    expect(again.exitCode).toBe(0);
    expect(again.outputs.changed).toBe('false');

    const rollback = await runBundledAction(
      'flag-toggle',
      {
        operation: 'restore',
        flag: 'BILLING_ENFORCEMENT',
        'restore-state': run.outputs['previous-state'],
        'database-url': url,
      },
      { env },
    );
    expect(rollback.exitCode).toBe(0);
    expect(rollback.outputs.changed).toBe('true');
    expect(JSON.parse(rollback.outputs.state)).toMatchObject({ global: 'off', tenants: [] });
    const audit = await withClient(
      db.url,
      async (c) =>
        (
          await c.query(
            `SELECT actor, operation, run_url FROM runbook.feature_flag_audit ORDER BY id`,
          )
        ).rows,
    );
    expect(audit).toEqual([
      {
        actor: 'release-bot',
        operation: 'enable',
        run_url: 'https://github.com/acme/video-kit/actions/runs/777',
      },
      {
        actor: 'release-bot',
        operation: 'restore',
        run_url: 'https://github.com/acme/video-kit/actions/runs/777',
      },
    ]);
  });

  it('fails the step on a guard violation and on a bad tenant id, changing nothing', async () => {
    const guard = await runBundledAction(
      'flag-toggle',
      {
        operation: 'enable',
        flag: 'BILLING_ENFORCEMENT',
        scope: 'global',
        'global-must-be': 'off',
        'database-url': url,
      },
      { env },
    );
    expect(guard.exitCode).toBe(1);
    expect(guard.stdout).toMatch(/::error::.*global-must-be: off violated/);
    expect(guard.summary).toContain(
      '## Feature flag BILLING_ENFORCEMENT: enable refused by the guard',
    );
    expect(guard.summary).toContain('| global | off |');
    expect(guard.summary).toContain('Nothing was written.');
    expect(guard.outputs.changed).toBeUndefined();
    const bad = await runBundledAction(
      'flag-toggle',
      {
        operation: 'enable',
        flag: 'BILLING_ENFORCEMENT',
        tenants: 'tn-1\ntn 2',
        'database-url': url,
      },
      { env },
    );
    expect(bad.exitCode).toBe(1);
    expect(bad.annotations[0]).toMatchObject({ level: 'error' });
    expect(bad.annotations[0].message).toMatch(/input 'tenants': tenant id 'tn 2'/);
    const status = await runBundledAction(
      'flag-toggle',
      { operation: 'status', flag: 'BILLING_ENFORCEMENT', 'database-url': url },
      { env },
    );
    expect(JSON.parse(status.outputs.state)).toMatchObject({ global: 'off', tenants: [] });
    expect(status.outputs.changed).toBe('false');
  });

  it('connects with the ca-cert input (TLS with certificate verification) and names a bad one', async () => {
    // The test server has TLS off: a client told to verify with a CA must refuse to go on.
    const tls = await runBundledAction(
      'flag-toggle',
      {
        operation: 'enable',
        flag: 'CA_CERT_PROBE',
        tenants: 'tn-1',
        'database-url': url,
        'ca-cert': makeCaPem(),
      },
      { env },
    );
    expect(tls.exitCode).toBe(1);
    const errors = tls.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^input 'database-url': cannot connect to PostgreSQL/);
    expect(errors[0].message).toMatch(TLS_REFUSED);
    expect(tls.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain(password);

    const missing = await runBundledAction(
      'flag-toggle',
      { operation: 'status', flag: 'CA_CERT_PROBE', 'database-url': url, 'ca-cert': 'no/ca.pem' },
      { env },
    );
    expect(missing.exitCode).toBe(1);
    expect(missing.annotations).toHaveLength(1);
    expect(missing.annotations[0].message).toMatch(/^input 'ca-cert': 'no\/ca.pem' is neither/);

    const status = await runBundledAction(
      'flag-toggle',
      { operation: 'status', flag: 'CA_CERT_PROBE', 'database-url': url },
      { env },
    );
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.outputs.state)).toMatchObject({ tenants: [] });
  });
});

describe('flag-toggle bundled action (launchdarkly backend)', () => {
  let fake: LaunchDarklyFake;
  beforeAll(async () => {
    fake = await startLaunchDarklyFake('api-91f2c7d0-5e4b-4c1a-secret');
    fake.createFlag('video-kit', 'BILLING_ENFORCEMENT', ['production']);
  });
  afterAll(async () => fake.close());

  const inputs = (token: string) => ({
    backend: 'launchdarkly',
    operation: 'enable',
    plan: 'examples/paket7/flags.yml',
    'base-url': fake.url,
    token,
    project: 'video-kit',
    environment: 'production',
    reason: 'canary',
  });

  it('masks the token and never prints it, on success and on a 401', async () => {
    const ok = await runBundledAction('flag-toggle', inputs(fake.token), { env });
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.outputs.state)).toMatchObject({
      global: 'off',
      tenants: ['tn-4582', 'tn-9014'],
    });
    expect(fake.patches[0].body.comment).toContain(
      'https://github.com/acme/video-kit/actions/runs/777',
    );
    expect(ok.masks).toContain(fake.token);
    const bad = await runBundledAction('flag-toggle', inputs('api-wrong-77aa-secret'), { env });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/token was rejected \(401 Unauthorized\)/);
    for (const [run, token] of [
      [ok, fake.token],
      [bad, 'api-wrong-77aa-secret'],
    ] as const) {
      const printed = run.stdout.replace(/^::add-mask::.*$/gm, '');
      for (const text of [printed, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
        expect(text).not.toContain(token);
      }
    }
  });
});

describe('flag-toggle bundled action: percentage, half-applied writes, key-pattern', () => {
  let admin: AdminFake;
  beforeAll(async () => (admin = await startAdminFake('vk-admin-secret-5d1e9b')));
  afterAll(async () => admin.close());
  const http = (extra: Record<string, string>) => ({
    backend: 'http',
    flag: 'BILLING_ENFORCEMENT',
    'base-url': admin.url,
    token: admin.token,
    environment: 'prod-eu-west-1',
    ...extra,
  });
  const clean = (run: { stdout: string; stderr: string; summary: string; outputs: object }) => {
    const printed = run.stdout.replace(/^::add-mask::.*$/gm, '');
    for (const text of [printed, run.stderr, run.summary, JSON.stringify(run.outputs)])
      expect(text).not.toContain(admin.token);
  };

  it('sets a percentage rollout and prints it in the summary', async () => {
    admin.createFlag('BILLING_ENFORCEMENT', 'prod-eu-west-1');
    const run = await runBundledAction(
      'flag-toggle',
      http({ operation: 'enable', percentage: '25%', 'global-must-be': 'off' }),
      { env },
    );
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.outputs.state)).toMatchObject({ global: 'off', percentage: 25 });
    expect(run.summary).toMatch(/\| percentage +\| 0% +\| 25% +\|/);
    expect(admin.state('BILLING_ENFORCEMENT', 'prod-eu-west-1')?.percentage).toBe(25);
    clean(run);
  });

  it('a write that fails after the first tenant: exit 1, a summary of what is applied, previous-state for the rollback', async () => {
    admin.createFlag('BILLING_ENFORCEMENT', 'prod-eu-west-1');
    admin.failWritesAfter(1);
    const run = await runBundledAction(
      'flag-toggle',
      http({ operation: 'enable', tenants: 'tn-4582, tn-9014' }),
      { env },
    );
    expect(run.exitCode).toBe(1);
    expect(run.summary).toContain('Feature flag BILLING_ENFORCEMENT: enable failed');
    expect(run.summary).toContain('applied in part');
    expect(run.summary).toMatch(/\| tenants +\| \(none\) +\| tn-4582 +\|/);
    expect(run.summary).toContain('runbook flag restore BILLING_ENFORCEMENT --backend http');
    expect(run.outputs.changed).toBe('true');
    const previous = JSON.parse(run.outputs['previous-state']);
    expect(previous).toMatchObject({ global: 'off', tenants: [] });
    clean(run);
    const back = await runBundledAction(
      'flag-toggle',
      http({ operation: 'restore', 'restore-state': run.outputs['previous-state'] }),
      { env },
    );
    expect(back.exitCode).toBe(0);
    expect(admin.state('BILLING_ENFORCEMENT', 'prod-eu-west-1')).toMatchObject({ tenants: [] });
  });

  it('a catastrophic key-pattern such as (a+)+ does not hang: the key is refused at once', async () => {
    const run = await runBundledAction(
      'flag-toggle',
      http({ operation: 'status', flag: `${'a'.repeat(4000)}!`, 'key-pattern': '(a+)+' }),
      { env },
    );
    expect(run.exitCode).toBe(1);
    expect(run.annotations[0].message).toMatch(/^input 'flag': flag key 'a+!' does not match/);
  });
});

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  BackendError,
  FlagGuardError,
  FlagVerifyError,
  createBackend,
  restoreFlag,
  toggleFlag,
  type FlagBackend,
} from '../../src/flags/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';

const plan = resolve(import.meta.dirname, '../../examples/paket7/flags.yml');
const who = {
  actor: 'release-bot',
  runUrl: 'https://github.com/acme/api/actions/runs/42',
  via: 'github-actions' as const,
};

describe('postgres backend', () => {
  let db: TestDatabase;
  beforeEach(async () => (db = await freshDatabase('flags_pg')));
  afterEach(async () => db.dispose());

  const opts = () => ({ backend: 'postgres' as const, databaseUrl: db.url, runInfo: who });

  it('enables the plan for two canary tenants, leaves global off and records an audit row', async () => {
    const r = await toggleFlag(
      { ...opts(), operation: 'enable', plan, reason: 'Paket 7 canary' },
      silentLogger,
    );
    expect(r.previousState).toMatchObject({
      flag: 'BILLING_ENFORCEMENT',
      global: 'off',
      tenants: [],
      exists: false,
    });
    expect(r.state).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'], exists: true });
    expect(r.changed).toBe(true);
    expect(r.guard.globalMustBe).toBe('off');
    const rows = await withClient(db.url, async (c) => ({
      flag: (await c.query(`SELECT global_enabled, version FROM runbook.feature_flags`)).rows,
      tenants: (await c.query(`SELECT tenant_id FROM runbook.feature_flag_tenants ORDER BY 1`))
        .rows,
      audit: (
        await c.query(
          `SELECT actor, run_url, reason, operation, comment, new_state FROM runbook.feature_flag_audit`,
        )
      ).rows,
    }));
    expect(rows.flag).toEqual([{ global_enabled: false, version: '1' }]);
    expect(rows.tenants.map((t) => t.tenant_id)).toEqual(['tn-4582', 'tn-9014']);
    expect(rows.audit).toHaveLength(1);
    expect(rows.audit[0]).toMatchObject({
      actor: 'release-bot',
      run_url: who.runUrl,
      reason: 'Paket 7 canary',
      operation: 'enable',
      new_state: { global: 'off', tenants: ['tn-4582', 'tn-9014'] },
    });
    expect(rows.audit[0].comment).toContain('by release-bot');
  });

  it('is idempotent: enabling again changes nothing and says so', async () => {
    await toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger);
    const log = recordingLogger();
    const r = await toggleFlag({ ...opts(), operation: 'enable', plan }, log);
    expect(r.changed).toBe(false);
    expect(r.actions).toEqual([]);
    expect(log.lines.join('\n')).toMatch(/already in the requested state/);
    const version = await withClient(
      db.url,
      async (c) => (await c.query(`SELECT version FROM runbook.feature_flags`)).rows[0].version,
    );
    expect(version).toBe('1');
  });

  it('disable and restore put back the previous state exactly', async () => {
    await toggleFlag(
      { ...opts(), operation: 'enable', flag: 'BILLING_ENFORCEMENT', tenants: ['tn-0001'] },
      silentLogger,
    );
    const enabled = await toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger);
    expect(enabled.state.tenants).toEqual(['tn-0001', 'tn-4582', 'tn-9014']);
    // rollback from the JSON output, as the rollback job does
    const restored = await restoreFlag(
      {
        ...opts(),
        flag: 'BILLING_ENFORCEMENT',
        restoreState: JSON.stringify(enabled.previousState),
      },
      silentLogger,
    );
    expect(restored.changed).toBe(true);
    expect(restored.state).toMatchObject({ global: 'off', tenants: ['tn-0001'] });
    const again = await toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger);
    const disabled = await toggleFlag({ ...opts(), operation: 'disable', plan }, silentLogger);
    expect(disabled.state.tenants).toEqual(again.previousState.tenants);
    expect(disabled.state.global).toBe(again.previousState.global);
  });

  it('the guard stops a run that would enable globally and writes nothing', async () => {
    await toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger);
    await expect(
      toggleFlag(
        {
          ...opts(),
          operation: 'enable',
          flag: 'BILLING_ENFORCEMENT',
          scope: 'global',
          guard: { globalMustBe: 'off' },
        },
        silentLogger,
      ),
    ).rejects.toThrow(FlagGuardError);
    await expect(
      toggleFlag(
        { ...opts(), operation: 'enable', flag: 'BILLING_ENFORCEMENT', scope: 'global', plan },
        silentLogger,
      ),
    ).rejects.toThrow(/global-must-be: off violated by this enable/);
    const st = await toggleFlag(
      { ...opts(), operation: 'status', flag: 'BILLING_ENFORCEMENT' },
      silentLogger,
    );
    expect(st.state.global).toBe('off');
    const audits = await withClient(
      db.url,
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n FROM runbook.feature_flag_audit`)).rows[0].n,
    );
    expect(audits).toBe(1);
  });

  it('the guard refuses to act when global is already in the wrong state', async () => {
    await toggleFlag(
      { ...opts(), operation: 'enable', flag: 'BILLING_ENFORCEMENT', scope: 'global' },
      silentLogger,
    );
    await expect(
      toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger),
    ).rejects.toThrow(/violated before the write: global is on/);
    const st = await toggleFlag(
      { ...opts(), operation: 'status', flag: 'BILLING_ENFORCEMENT' },
      silentLogger,
    );
    expect(st.state.tenants).toEqual([]);
  });

  it('verify after write catches a database that silently drops the tenant rows, and rolls back', async () => {
    await toggleFlag(
      { ...opts(), operation: 'enable', flag: 'BILLING_ENFORCEMENT', tenants: ['tn-0001'] },
      silentLogger,
    );
    await withClient(db.url, (c) =>
      c.query(`
        CREATE FUNCTION runbook.drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER swallow BEFORE INSERT ON runbook.feature_flag_tenants FOR EACH ROW EXECUTE FUNCTION runbook.drop_row();`),
    );
    const err = await toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(FlagVerifyError);
    expect(err.rolledBack).toBe(true);
    expect(err.message).toMatch(/read back global off and tenants \[tn-0001\]/);
    const rows = await withClient(db.url, async (c) => ({
      version: (await c.query(`SELECT version FROM runbook.feature_flags`)).rows[0].version,
      audit: (await c.query(`SELECT count(*)::int AS n FROM runbook.feature_flag_audit`)).rows[0].n,
    }));
    expect(rows).toEqual({ version: '1', audit: 1 });
  });

  it('dry run prints the change and writes nothing (not even the tables)', async () => {
    const log = recordingLogger();
    const r = await toggleFlag({ ...opts(), operation: 'enable', plan, dryRun: true }, log);
    expect(r.changed).toBe(false);
    expect(r.actions).toEqual(['enable for tenants tn-4582, tn-9014']);
    expect(log.lines).toContain('dry run: would enable for tenants tn-4582, tn-9014');
    const t = await withClient(
      db.url,
      async (c) => (await c.query(`SELECT to_regclass('runbook.feature_flags') AS t`)).rows[0].t,
    );
    expect(t).toBeNull();
  });

  it('401-like: a wrong password gives a clear error without the password', async () => {
    const u = new URL(db.url);
    u.password = 'wrong-s3cret-pw';
    const err = await toggleFlag(
      { ...opts(), databaseUrl: u.toString(), operation: 'status', flag: 'X' },
      silentLogger,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/cannot connect to PostgreSQL/);
    expect(err.message).not.toContain('wrong-s3cret-pw');
  });

  it('404-like: a missing database is named', async () => {
    const u = new URL(db.url);
    u.pathname = '/no_such_db_flags';
    await expect(
      toggleFlag(
        { ...opts(), databaseUrl: u.toString(), operation: 'status', flag: 'X' },
        silentLogger,
      ),
    ).rejects.toThrow(/no_such_db_flags/);
  });

  it('409: a write based on a stale version is refused', async () => {
    await toggleFlag({ ...opts(), operation: 'enable', plan }, silentLogger);
    const backend = (await createBackend(
      'postgres',
      { databaseUrl: db.url },
      silentLogger,
    )) as FlagBackend;
    try {
      const stale = await backend.read('BILLING_ENFORCEMENT');
      await toggleFlag({ ...opts(), operation: 'disable', plan }, silentLogger);
      const err = await backend
        .write({
          flag: 'BILLING_ENFORCEMENT',
          from: stale,
          to: { global: 'on', tenants: [] },
          comment: 'x',
          operation: 'enable',
          actor: 'me',
        })
        .catch((e) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect(err.status).toBe(409);
      expect(err.message).toMatch(/changed concurrently/);
    } finally {
      await backend.close();
    }
  });

  it('429-like: a flag row locked by another session times out clearly and changes nothing', async () => {
    await toggleFlag(
      { ...opts(), operation: 'enable', flag: 'BILLING_ENFORCEMENT', tenants: ['tn-0001'] },
      silentLogger,
    );
    await withClient(db.url, async (holder) => {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM runbook.feature_flags WHERE key = 'BILLING_ENFORCEMENT' FOR UPDATE`,
      );
      const err = await toggleFlag(
        { ...opts(), operation: 'enable', plan, lockTimeoutMs: 200 },
        silentLogger,
      ).catch((e) => e);
      await holder.query('ROLLBACK');
      expect(err).toBeInstanceOf(BackendError);
      expect(err.message).toMatch(/another session holds the flag row lock.*nothing was changed/);
    });
    const st = await toggleFlag(
      { ...opts(), operation: 'status', flag: 'BILLING_ENFORCEMENT' },
      silentLogger,
    );
    expect(st.state.tenants).toEqual(['tn-0001']);
  });
});

describe('input validation', () => {
  const base = { backend: 'postgres' as const, databaseUrl: 'postgres://u:p@127.0.0.1:1/x' };

  it('rejects a bad tenant id in a plan at its file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flags-'));
    const file = join(dir, 'flags.yml');
    writeFileSync(file, 'flag: BILLING_ENFORCEMENT\ntenants:\n  - tn-1\n  - "tn 2; drop table"\n');
    const err = await toggleFlag({ ...base, operation: 'enable', plan: file }, silentLogger).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.location).toEqual({ file, line: 4 });
    expect(err.input).toBe('tenants');
  });

  it('rejects a bad flag key, a key that contradicts the plan, and a foreign restore-state', async () => {
    await expect(
      toggleFlag({ ...base, operation: 'status', flag: '../admin' }, silentLogger),
    ).rejects.toThrow(/flag key/);
    await expect(
      toggleFlag({ ...base, operation: 'enable', flag: 'OTHER', plan }, silentLogger),
    ).rejects.toThrow(/differs from the plan's flag/);
    await expect(
      restoreFlag(
        { ...base, flag: 'A', restoreState: '{"flag":"B","global":"off","tenants":[]}' },
        silentLogger,
      ),
    ).rejects.toThrow(/restore-state is for flag 'B'/);
    await expect(
      restoreFlag({ ...base, flag: 'A', restoreState: '{nope' }, silentLogger),
    ).rejects.toThrow(/not valid JSON/);
  });

  it('honours a custom tenant pattern', async () => {
    await expect(
      toggleFlag(
        { ...base, operation: 'enable', flag: 'F', tenants: ['tn-1'], tenantPattern: 'tn-\\d{4}' },
        silentLogger,
      ),
    ).rejects.toThrow(/tenant id 'tn-1' does not match/);
  });
});

describe('postgres backend concurrency', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await freshDatabase('flags_pg_conc')));
  afterAll(async () => db.dispose());

  it('serialises concurrent toggles on the flag row: no tenant is lost', async () => {
    const o = {
      backend: 'postgres' as const,
      databaseUrl: db.url,
      runInfo: who,
      flag: 'BILLING_ENFORCEMENT',
    };
    const tenants = ['tn-1001', 'tn-1002', 'tn-1003', 'tn-1004', 'tn-1005', 'tn-1006'];
    const results = await Promise.all(
      tenants.map((t) => toggleFlag({ ...o, operation: 'enable', tenants: [t] }, silentLogger)),
    );
    expect(results.every((r) => r.changed)).toBe(true);
    const st = await toggleFlag({ ...o, operation: 'status' }, silentLogger);
    expect(st.state.tenants).toEqual(tenants);
    expect(st.state.backendDetail).toEqual({ version: tenants.length });
  });

  it('refuses a restore-state read from another backend', async () => {
    await expect(
      restoreFlag(
        {
          backend: 'postgres',
          databaseUrl: db.url,
          flag: 'BILLING_ENFORCEMENT',
          restoreState: {
            flag: 'BILLING_ENFORCEMENT',
            global: 'off',
            tenants: [],
            backend: 'unleash',
          },
        },
        silentLogger,
      ),
    ).rejects.toThrow(/read from backend unleash, not postgres/);
  });
});

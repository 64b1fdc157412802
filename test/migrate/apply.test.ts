import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  applyMigrations,
  baselineMigrations,
  migrationStatus,
  MigrationFailedError,
  MigrationRefusedError,
  planMigrations,
  verifyMigrations,
  type MigrateOptions,
} from '../../src/migrate/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

const info = {
  actor: 'jest',
  via: 'cli' as const,
  runUrl: 'https://github.com/o/r/actions/runs/7',
};

let db: TestDatabase;
const dirs: string[] = [];
beforeEach(async () => {
  db = await freshDatabase('migrate');
});
afterEach(async () => {
  await db.dispose();
  for (const d of dirs.splice(0)) removeDir(d);
});

function dirOf(files: Record<string, string>): string {
  const d = migrationsDir(files);
  dirs.push(d);
  return d;
}

function opts(dir: string, extra: Partial<MigrateOptions> = {}): MigrateOptions {
  return { databaseUrl: db.url, dir, runInfo: info, retryBackoffMs: 50, ...extra };
}

const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  withClient(db.url, async (c) => (await c.query(sql, params)).rows as T[]);

const tableExists = async (name: string) =>
  (await q<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name]))[0].ok;

describe('apply', () => {
  it('applies the Paket 7 migrations once, records history, and applies nothing the second time', async () => {
    const o = opts('examples/paket7/migrations');
    const plan = await planMigrations(o, silentLogger);
    expect(plan.pending.length).toBeGreaterThanOrEqual(6);
    const first = await applyMigrations(o, silentLogger);
    expect(first.applied).toEqual(plan.pending);
    expect(first.pending).toEqual([]);
    expect(await tableExists('webhook_dead_letter_queue')).toBe(true);
    const rows = await q<{
      version: string;
      applied_by: string;
      run_url: string;
      execution_ms: number;
    }>(
      'SELECT version, applied_by, run_url, execution_ms FROM runbook.schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(first.applied);
    expect(rows[0]).toMatchObject({ applied_by: 'jest', run_url: info.runUrl });
    expect(rows.every((r) => r.execution_ms >= 0)).toBe(true);
    // RLS is on and the CONCURRENTLY index is valid.
    const rls = await q<{ relrowsecurity: boolean }>(
      `SELECT relrowsecurity FROM pg_class WHERE relname IN ('billing_audit_log', 'grace_periods', 'webhook_events')`,
    );
    expect(rls.map((r) => r.relrowsecurity)).toEqual([true, true, true]);
    const second = await applyMigrations(o, silentLogger);
    expect(second.applied).toEqual([]);
    expect(second.rows.every((r) => r.state === 'already applied')).toBe(true);
    const status = await migrationStatus(o, silentLogger);
    expect(status.pending).toEqual([]);
    expect(status.problems).toEqual([]);
  });

  it('applies every file exactly once when two runs start at the same time', async () => {
    const files: Record<string, string> = {};
    for (let i = 1; i <= 8; i++) {
      files[`${i}_t${i}.sql`] =
        `CREATE TABLE t${i} (id int);\nINSERT INTO t${i} VALUES (${i});\nSELECT pg_sleep(0.02);`;
    }
    const dir = dirOf(files);
    const [a, b] = await Promise.all([
      applyMigrations(opts(dir, { applicationName: 'run-a' }), silentLogger),
      applyMigrations(opts(dir, { applicationName: 'run-b' }), silentLogger),
    ]);
    expect([...a.applied, ...b.applied].sort()).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(a.applied.length === 0 || b.applied.length === 0).toBe(true);
    const counts = await q<{ version: string; n: string }>(
      'SELECT version, count(*) AS n FROM runbook.schema_migrations GROUP BY version',
    );
    expect(counts).toHaveLength(8);
    expect(counts.every((c) => c.n === '1')).toBe(true);
  });

  it('names the lock holder when another run holds the lock past lock-wait', async () => {
    const dir = dirOf({ '1_a.sql': 'CREATE TABLE a (id int);' });
    const holder = new pg.Client({ connectionString: db.url, application_name: 'other-release' });
    await holder.connect();
    const { lockKey } = await import('../../src/db/lock.js');
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [
      lockKey('runbook-migrate runbook.schema_migrations'),
    ]);
    try {
      const err = await applyMigrations(opts(dir, { lockWaitMs: 300 }), silentLogger).catch(
        (e) => e,
      );
      expect(err.message).toMatch(/application_name 'other-release'/);
      expect(err.message).toMatch(/pid \d+/);
    } finally {
      await holder.end();
    }
    expect(await tableExists('a')).toBe(false);
  });

  it('rolls back a failing file, names its line, and keeps earlier files', async () => {
    const dir = dirOf({
      '1_ok.sql': 'CREATE TABLE ok (id int);',
      '2_bad.sql':
        'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\n\nINSERT INTO missing_table VALUES (1);\n',
      '3_later.sql': 'CREATE TABLE later (id int);',
    });
    const err = await applyMigrations(opts(dir), silentLogger).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err.location).toEqual({ file: join(dir, '2_bad.sql'), line: 4 });
    expect(err.sqlState).toBe('42P01');
    expect(err.applied).toEqual(['1']);
    expect(err.message).toMatch(
      /relation "missing_table" does not exist.*nothing of this file was committed/,
    );
    expect(await tableExists('ok')).toBe(true);
    expect(await tableExists('half')).toBe(false);
    expect(await tableExists('later')).toBe(false);
    const versions = await q<{ version: string }>('SELECT version FROM runbook.schema_migrations');
    expect(versions.map((v) => v.version)).toEqual(['1']);
  });

  it('handles a file ending in a comment without a newline, and a wrapping BEGIN/COMMIT', async () => {
    const dir = dirOf({
      '1_a.sql': 'CREATE TABLE tail_a (id int) -- no newline, no semicolon',
      '2_b.sql': 'BEGIN;\nCREATE TABLE tail_b (id int);\nCOMMIT;\n',
    });
    const res = await applyMigrations(opts(dir), silentLogger);
    expect(res.applied).toEqual(['1', '2']);
    expect(await tableExists('tail_a')).toBe(true);
    expect(await tableExists('tail_b')).toBe(true);
  });

  it('stops a statement that runs past statement_timeout and commits nothing of its file', async () => {
    const dir = dirOf({
      '1_slow.sql': 'CREATE TABLE slow_side (id int);\nSELECT pg_sleep(2);\n',
    });
    const err = await applyMigrations(opts(dir, { statementTimeoutMs: 100 }), silentLogger).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err.sqlState).toBe('57014');
    expect(err.message).toMatch(/statement timeout.*statement_timeout/);
    expect(await tableExists('slow_side')).toBe(false);
  });

  it('does not run a timed-out file a second time to find its line (the replay would hold its locks again)', async () => {
    await q('CREATE SEQUENCE replay_probe');
    const dir = dirOf({
      // nextval is not rolled back: it counts how often the file's statements ran.
      '1_slow.sql': "SELECT nextval('replay_probe');\nSELECT pg_sleep(2);\n",
    });
    const err = await applyMigrations(opts(dir, { statementTimeoutMs: 100 }), silentLogger).catch(
      (e) => e,
    );
    expect(err.sqlState).toBe('57014');
    expect(err.message).toMatch(/not run again to find the line/);
    expect((await q<{ v: string }>('SELECT last_value AS v FROM replay_probe'))[0].v).toBe('1');
  });

  it('names the failing line from the error position without running the file again', async () => {
    await q('CREATE SEQUENCE replay_probe2');
    const dir = dirOf({
      '1_bad.sql':
        "CREATE TABLE pos_a (id int);\nSELECT nextval('replay_probe2');\n\nSELECT missing_column FROM pos_a;\nCREATE TABLE pos_b (id int);\n",
    });
    const err = await applyMigrations(opts(dir), silentLogger).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err.location.line).toBe(4);
    expect(err.message).toMatch(/failed at line 4: column "missing_column" does not exist/);
    expect((await q<{ v: string }>('SELECT last_value AS v FROM replay_probe2'))[0].v).toBe('1');
    expect(await tableExists('pos_a')).toBe(false);
  });

  it('validates every pending file before applying any', async () => {
    const dir = dirOf({
      '1_ok.sql': 'CREATE TABLE ok (id int);',
      '2_typo.sql': 'CREATE TABLE b (id int);\nALTR TABLE b ADD COLUMN c int;\n',
    });
    const err = await applyMigrations(opts(dir), silentLogger).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.location).toEqual({ file: join(dir, '2_typo.sql'), line: 2 });
    expect(await tableExists('ok')).toBe(false);
  });

  it('runs a CREATE INDEX CONCURRENTLY migration outside a transaction', async () => {
    const dir = dirOf({
      '1_table.sql':
        'CREATE TABLE events (id bigint, kind text);\nINSERT INTO events SELECT g, g::text FROM generate_series(1, 1000) g;',
      '2_index.sql':
        "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);\n",
    });
    const res = await applyMigrations(opts(dir), silentLogger);
    expect(res.applied).toEqual(['1', '2']);
    expect(res.rows[1].nonTransactional).toBe('CREATE INDEX CONCURRENTLY');
    const idx = await q<{ indisvalid: boolean }>(
      `SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_kind_idx'::regclass`,
    );
    expect(idx).toEqual([{ indisvalid: true }]);
  });

  it('drops an invalid index left by an interrupted CREATE INDEX CONCURRENTLY and builds it again', async () => {
    const dir = dirOf({
      '1_table.sql': 'CREATE TABLE dup (a int);\nINSERT INTO dup VALUES (1), (1), (2);',
    });
    await applyMigrations(opts(dir), silentLogger);
    // A unique index built concurrently over duplicates fails and stays behind, invalid.
    await expect(q('CREATE UNIQUE INDEX CONCURRENTLY dup_a_key ON dup (a)')).rejects.toThrow(
      /could not create unique index/,
    );
    writeFileSync(
      join(dir, '2_unique.sql'),
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dup_a_key ON dup (a);\n',
    );
    await q('DELETE FROM dup WHERE ctid NOT IN (SELECT min(ctid) FROM dup GROUP BY a)');
    const logger = recordingLogger();
    expect((await applyMigrations(opts(dir), logger)).applied).toEqual(['2']);
    expect(logger.lines).toContain(
      'warning: dropping invalid index public.dup_a_key (CREATE UNIQUE INDEX dup_a_key ON public.dup USING btree (a)) left by a failed or interrupted CREATE INDEX CONCURRENTLY; building it again',
    );
    const idx = await q<{ indisvalid: boolean }>(
      `SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_a_key'::regclass`,
    );
    expect(idx).toEqual([{ indisvalid: true }]);
  });

  it('retries a statement blocked by another session after lock_timeout (55P03) and then applies it', async () => {
    const dir = dirOf({
      '1_table.sql': 'CREATE TABLE busy (id int);',
    });
    await applyMigrations(opts(dir), silentLogger);
    writeFileSync(join(dir, '2_alter.sql'), 'ALTER TABLE busy ADD COLUMN note text;\n');
    const blocker = new pg.Client(db.url);
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE');
    const logger = recordingLogger();
    // Release the blocker once the first lock timeout has been logged.
    const watcher = (async () => {
      while (!logger.lines.some((l) => l.includes('55P03')))
        await new Promise((r) => setTimeout(r, 20));
      await blocker.query('COMMIT');
    })();
    const res = await applyMigrations(opts(dir, { lockTimeoutMs: 100, retries: 5 }), logger);
    await watcher;
    await blocker.end();
    expect(res.applied).toEqual(['2']);
    expect(logger.lines.find((l) => l.includes('55P03'))).toMatch(
      /warning: lock timeout \(SQLSTATE 55P03, lock_timeout 100 ms\) at .*2_alter\.sql: retry 1\/5/,
    );
    const cols = await q<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'busy' ORDER BY ordinal_position`,
    );
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'note']);
  });

  it('gives up after the configured retries with SQLSTATE 55P03 and nothing committed', async () => {
    const dir = dirOf({ '1_table.sql': 'CREATE TABLE busy (id int);' });
    await applyMigrations(opts(dir), silentLogger);
    writeFileSync(
      join(dir, '2_alter.sql'),
      'CREATE TABLE side (id int);\nALTER TABLE busy ADD COLUMN note text;\n',
    );
    const blocker = new pg.Client(db.url);
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE');
    try {
      const logger = recordingLogger();
      const err = await applyMigrations(opts(dir, { lockTimeoutMs: 50, retries: 2 }), logger).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(MigrationFailedError);
      expect(err.sqlState).toBe('55P03');
      expect(err.location.line).toBe(2);
      expect(err.message).toMatch(/gave up after 2 retries/);
      expect(logger.lines.filter((l) => l.includes('retry'))).toHaveLength(2);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(await tableExists('side')).toBe(false);
  });
});

describe('refusals, verify and baseline', () => {
  it('refuses a changed applied file and shows both checksums', async () => {
    const dir = dirOf({
      '1_a.sql': 'CREATE TABLE a (id int);\n',
      '2_b.sql': 'CREATE TABLE b (id int);\n',
    });
    const first = await applyMigrations(opts(dir, {}), silentLogger);
    const before = first.rows[0].checksum!;
    writeFileSync(join(dir, '1_a.sql'), 'CREATE TABLE a (id bigint);\n');
    writeFileSync(join(dir, '3_c.sql'), 'CREATE TABLE c (id int);\n');
    const err = await applyMigrations(opts(dir), silentLogger).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationRefusedError);
    expect(err.location.file).toBe(join(dir, '1_a.sql'));
    expect(err.message).toContain(before);
    expect(err.message).toMatch(/checksum on disk [0-9a-f]{64}, applied [0-9a-f]{64}/);
    expect(await tableExists('c')).toBe(false);
    const verify = await verifyMigrations(opts(dir), silentLogger);
    expect(verify.problems).toHaveLength(1);
    expect(verify.rows[0].state).toBe('checksum changed');
    // A CRLF-only change is not a change.
    writeFileSync(join(dir, '1_a.sql'), 'CREATE TABLE a (id int);\r\n');
    expect((await verifyMigrations(opts(dir), silentLogger)).problems).toEqual([]);
  });

  it('refuses an out-of-order pending file unless allowed, and warns about a missing file', async () => {
    const dir = dirOf({
      '10_a.sql': 'CREATE TABLE a (id int);',
      '30_c.sql': 'CREATE TABLE c (id int);',
    });
    await applyMigrations(opts(dir), silentLogger);
    writeFileSync(join(dir, '20_b.sql'), 'CREATE TABLE b (id int);');
    const err = await planMigrations(opts(dir), silentLogger).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationRefusedError);
    expect(err.message).toMatch(
      /20_b\.sql is pending but older than the newest applied migration 30/,
    );
    await expect(applyMigrations(opts(dir), silentLogger)).rejects.toThrow(/allow-out-of-order/);
    expect(await tableExists('b')).toBe(false);
    const res = await applyMigrations(opts(dir, { allowOutOfOrder: true }), silentLogger);
    expect(res.applied).toEqual(['20']);
    rmSync(join(dir, '10_a.sql'));
    const logger = recordingLogger();
    const status = await migrationStatus(opts(dir), logger);
    expect(status.rows.find((r) => r.version === '10')?.state).toBe('missing file');
    expect(logger.lines).toContain(
      'warning: applied migration 10_a has no file in the migrations directory',
    );
  });

  it('baselines versions up to a given one without running them', async () => {
    const dir = dirOf({
      '1_a.sql': 'CREATE TABLE a (id int);',
      '2_b.sql': 'CREATE TABLE b (id int);',
      '3_c.sql': 'CREATE TABLE c (id int);',
    });
    const base = await baselineMigrations({ ...opts(dir), baselineVersion: '2' }, silentLogger);
    expect(base.baselined).toEqual(['1', '2']);
    expect(base.pending).toEqual(['3']);
    const res = await applyMigrations(opts(dir), silentLogger);
    expect(res.applied).toEqual(['3']);
    expect(await tableExists('a')).toBe(false);
    const kinds = await q<{ version: string; kind: string }>(
      'SELECT version, kind FROM runbook.schema_migrations ORDER BY version',
    );
    expect(kinds.map((k) => `${k.version}:${k.kind}`)).toEqual([
      '1:baseline',
      '2:baseline',
      '3:applied',
    ]);
    await expect(
      baselineMigrations({ ...opts(dir), baselineVersion: 'v2' }, silentLogger),
    ).rejects.toThrow(/input 'baseline-version'/);
  });

  it('uses a custom history table', async () => {
    const dir = dirOf({ '1_a.sql': 'CREATE TABLE a (id int);' });
    await applyMigrations(opts(dir, { historyTable: 'ops.migrations' }), silentLogger);
    expect(await tableExists('ops.migrations')).toBe(true);
    expect(await tableExists('runbook.schema_migrations')).toBe(false);
    await expect(
      applyMigrations(opts(dir, { historyTable: 'bad name; drop' }), silentLogger),
    ).rejects.toThrow(/input 'history-table'/);
  });
});

describe('bad input', () => {
  it('rejects a bad URL and an unreachable server without printing the password', async () => {
    const dir = dirOf({ '1_a.sql': 'select 1;' });
    const bad = await applyMigrations(
      opts(dir, { databaseUrl: 'mysql://app:hunter2@db/x' }),
      silentLogger,
    ).catch((e) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad.message).toMatch(/input 'database-url'.*postgres:\/\//);
    expect(bad.message).not.toContain('hunter2');
    const down = await applyMigrations(
      opts(dir, { databaseUrl: 'postgres://app:hunter2@127.0.0.1:1/x' }),
      silentLogger,
    ).catch((e) => e);
    expect(down.message).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:1/);
    expect(down.message).not.toContain('hunter2');
    const u = new URL(db.url);
    u.password = 'wrong-secret-pw';
    const auth = await migrationStatus(
      opts(dir, { databaseUrl: u.toString() }),
      silentLogger,
    ).catch((e) => e);
    expect(auth).toBeInstanceOf(ConfigError);
    expect(auth.message).not.toContain('wrong-secret-pw');
  });

  it('rejects a missing directory before connecting', async () => {
    await expect(
      applyMigrations(
        opts('/no/such/dir', { databaseUrl: 'postgres://u:p@127.0.0.1:1/x' }),
        silentLogger,
      ),
    ).rejects.toThrow(/migrations directory '\/no\/such\/dir' does not exist/);
  });
});

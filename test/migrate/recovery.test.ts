/**
 * Recovering from interrupted runs against a real PostgreSQL: invalid indexes left by a
 * CREATE INDEX CONCURRENTLY that did not finish (named or not), and a connection lost mid-run.
 * Drift between the live schema and the migrations (`verify --schema`, shadow database).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { recordingLogger, silentLogger } from '../../src/errors.js';
import {
  applyMigrations,
  migrationStatus,
  MigrationFailedError,
  runMigrateCommand,
  type MigrateOptions,
} from '../../src/migrate/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

const info = { actor: 'jest', via: 'cli' as const };
let db: TestDatabase;
const dirs: string[] = [];
beforeEach(async () => {
  db = await freshDatabase('recovery');
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
  return { databaseUrl: db.url, dir, runInfo: info, retryBackoffMs: 10, ...extra };
}
async function q<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return withClient(db.url, async (c) => (await c.query(sql)).rows as T[]);
}

it('lists invalid indexes in status; apply drops the unnamed one its statement left and says why it keeps another', async () => {
  const dir = dirOf({ '1_t.sql': 'CREATE TABLE dup (a int, b int);' });
  await applyMigrations(opts(dir), silentLogger);
  await q('INSERT INTO dup VALUES (1, 1), (1, 1), (2, 2)');
  // Two interrupted unnamed builds: the one the next migration builds again, and another.
  await expect(q('CREATE UNIQUE INDEX CONCURRENTLY ON dup (a)')).rejects.toThrow(
    /could not create unique index/,
  );
  await expect(q('CREATE UNIQUE INDEX CONCURRENTLY ON dup (a, b)')).rejects.toThrow(
    /could not create unique index/,
  );

  const status = await migrationStatus(opts(dir), silentLogger);
  expect(status.invalidIndexes!.map((i) => `${i.schema}.${i.name} ${i.table}`)).toEqual([
    'public.dup_a_b_idx public.dup',
    'public.dup_a_idx public.dup',
  ]);
  expect(status.warnings.join('\n')).toMatch(
    /invalid index public\.dup_a_idx on public\.dup left by a failed or interrupted CREATE INDEX CONCURRENTLY/,
  );

  await q('DELETE FROM dup WHERE ctid NOT IN (SELECT min(ctid) FROM dup GROUP BY a)');
  writeFileSync(join(dir, '2_unique.sql'), 'CREATE UNIQUE INDEX CONCURRENTLY ON dup (a);\n');
  const log = recordingLogger();
  expect((await applyMigrations(opts(dir), log)).applied).toEqual(['2']);
  const text = log.lines.join('\n');
  expect(text).toMatch(
    /dropping invalid index public\.dup_a_idx \(CREATE UNIQUE INDEX dup_a_idx ON public\.dup USING btree \(a\)\)/,
  );
  expect(text).toMatch(
    /invalid index public\.dup_a_b_idx on public\.dup is left in place: its definition .* is not the one this statement builds/,
  );
  // One valid unique index on (a), not a second copy next to the invalid one.
  expect(
    await q(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'dup'::regclass ORDER BY 1`,
    ),
  ).toEqual([
    { name: 'dup_a_b_idx', valid: false },
    { name: 'dup_a_idx', valid: true },
  ]);
});

it('a connection lost mid-run names the file, what is committed and the command that resumes', async () => {
  const dir = dirOf({
    '1_a.sql': 'CREATE TABLE lost_a (id int);',
    '2_slow.sql': 'CREATE TABLE lost_b (id int);\nSELECT pg_sleep(30);',
    '3_c.sql': 'CREATE TABLE lost_c (id int);',
  });
  const killer = new pg.Client(db.url);
  await killer.connect();
  const killing = (async () => {
    for (let i = 0; i < 200; i++) {
      const r = await killer.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'lost-conn' AND query LIKE '%pg_sleep%' AND state = 'active'`,
      );
      if (r.rows.length) return;
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  const r = await runMigrateCommand(
    'apply',
    opts(dir, { applicationName: 'lost-conn' }),
    silentLogger,
  );
  await killing;
  await killer.end();
  expect(r.failure?.kind).toBe('failed');
  const e = r.failure!.error as MigrationFailedError;
  expect(e).toBeInstanceOf(MigrationFailedError);
  expect(e.connectionLost).toBe(true);
  expect(e.location).toEqual({ file: join(dir, '2_slow.sql'), line: undefined });
  expect(e.message).toMatch(
    /lost the connection to the database while applying 2_slow\.sql \(.*\[SQLSTATE 57P01\]\)\. 2_slow\.sql was not committed .*; committed by this run before it: 1\. Resume with: runbook migrate apply --dir \S+ --format runbook/,
  );
  expect(r.summary).toContain('Resume with: runbook migrate apply');
  expect(r.summary).toMatch(/\| 2 \| slow \| {2}\| ❌ failed \|/);
  expect(
    await q(`SELECT to_regclass('lost_a') IS NOT NULL AS a, to_regclass('lost_b') AS b`),
  ).toEqual([{ a: true, b: null }]);
  writeFileSync(join(dir, '2_slow.sql'), 'CREATE TABLE lost_b (id int);\nSELECT pg_sleep(0);');
  // The resumed run picks up at the file that was lost (its checksum is not recorded yet).
  expect((await applyMigrations(opts(dir), silentLogger)).applied).toEqual(['2', '3']);
});

it('verify --schema reports a column added by hand on the live database, and nothing when none was', async () => {
  const dir = 'examples/paket7/migrations';
  await applyMigrations(opts(dir), silentLogger);
  const clean = await runMigrateCommand('verify', { ...opts(dir), schema: true }, silentLogger);
  expect(clean.result!.schemaDiff).toEqual([]);
  expect(clean.failure).toBeUndefined();
  expect(clean.summary).toContain('**Schema drift**: none');

  await q(`ALTER TABLE billing_audit_log ADD COLUMN added_by_hand text NOT NULL DEFAULT 'x'`);
  await q(`CREATE INDEX hand_idx ON billing_audit_log (added_by_hand)`);
  const drift = await runMigrateCommand('verify', { ...opts(dir), schema: true }, silentLogger);
  expect(drift.failure?.kind).toBe('verify');
  expect(drift.result!.schemaDiff).toEqual([
    `+ column public.billing_audit_log.added_by_hand text NOT NULL DEFAULT 'x'::text`,
    '+ index public.billing_audit_log hand_idx: CREATE INDEX ON public.billing_audit_log USING btree (added_by_hand)',
  ]);
  expect(drift.summary).toContain(
    "```diff\n+ column public.billing_audit_log.added_by_hand text NOT NULL DEFAULT 'x'::text",
  );
});

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
} from '../../src/migrate/index.js';
import { adminUrl } from '../support/postgres.js';
import { migrateTestKit } from './helpers.js';

const kit = migrateTestKit('recovery');
const { dirOf, opts, q } = kit;

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
  const killer = new pg.Client(kit.db.url);
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
  expect(r.summary).toContain('Format: **runbook** (detected from 1_a.sql)');
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
  // The shadow database on a given server (here the test server) instead of an embedded one.
  const verify = { ...opts(dir), schema: true, shadowDatabaseUrl: adminUrl() };
  const clean = await runMigrateCommand('verify', verify, silentLogger);
  expect(clean.result!.schemaDiff).toEqual([]);
  expect(
    await q(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'runbook_shadow_%'`),
  ).toEqual([{ n: 0 }]);
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

it('verify --schema compares functions, types, views, triggers, sequences and grants without false alarms', async () => {
  await q(
    `DO $$ BEGIN CREATE ROLE drift_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
  const dir = dirOf({
    '1_types.sql': `CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE SCHEMA app;
CREATE TABLE app.people (id bigserial PRIMARY KEY, mail email NOT NULL UNIQUE, m mood DEFAULT 'ok', born date,
  CONSTRAINT born_past CHECK (born < '2100-01-01'));
CREATE TABLE app.pets (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, owner bigint REFERENCES app.people (id) ON DELETE CASCADE);`,
    '2_logic.sql': `CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.born := coalesce(NEW.born, now()::date); RETURN NEW; END $$;
CREATE TRIGGER people_touch BEFORE INSERT ON app.people FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE VIEW app.adults AS SELECT id, mail FROM app.people WHERE born < now() - interval '18 years';
CREATE MATERIALIZED VIEW app.counts AS SELECT count(*) AS n FROM app.people;
GRANT USAGE ON SCHEMA app TO drift_reader;
GRANT SELECT ON app.adults TO drift_reader;
REVOKE EXECUTE ON FUNCTION app.touch() FROM PUBLIC;`,
  });
  await applyMigrations(opts(dir), silentLogger);
  // The shadow database on a given server (here the test server) instead of an embedded one.
  const verify = { ...opts(dir), schema: true, shadowDatabaseUrl: adminUrl() };
  const clean = await runMigrateCommand('verify', verify, silentLogger);
  expect(clean.result!.schemaDiff).toEqual([]);
  expect(
    await q(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'runbook_shadow_%'`),
  ).toEqual([{ n: 0 }]);

  await q(`GRANT DELETE ON app.people TO drift_reader;
    CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    ALTER TYPE mood ADD VALUE 'glad';
    ALTER TABLE app.pets DROP CONSTRAINT pets_owner_fkey`);
  const drift = await runMigrateCommand('verify', verify, silentLogger);
  const diff = drift.result!.schemaDiff!.join('\n');
  expect(diff).toMatch(/^\+ grant DELETE on table app\.people to drift_reader$/m);
  expect(diff).toMatch(
    /^- function app\.touch\(\) RETURNS trigger LANGUAGE plpgsql VOLATILE \(body md5 \w+\)$/m,
  );
  expect(diff).toMatch(/^\+ enum public\.mood: 'sad', 'ok', 'glad'$/m);
  expect(diff).toMatch(
    /^- constraint app\.pets pets_owner_fkey: FOREIGN KEY \(owner\) REFERENCES app\.people\(id\) ON DELETE CASCADE$/m,
  );
});

/**
 * Migration histories written for other tools (Flyway, golang-migrate, dbmate, Prisma, Diesel)
 * and awkward files (BOM, CRLF, transaction blocks mid-file), against a real PostgreSQL:
 * detection, each format's semantics, adopting the tool's own history table in place,
 * rollback, repair, target and placeholders.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  applyMigrations,
  checksum,
  loadMigrations,
  migrationStatus,
  MigrationRefusedError,
  planMigrations,
  repairMigrations,
  rollbackMigrations,
} from '../../src/migrate/index.js';
import { migrateTestKit } from './helpers.js';

const kit = migrateTestKit('formats');
const { dirOf, opts, q } = kit;
async function columns(table: string): Promise<string[]> {
  const r = await q<{ c: string }>(
    `SELECT attname AS c FROM pg_attribute WHERE attrelid = to_regclass('${table}') AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
  );
  return r.map((x) => x.c);
}
async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

it('applies a BOM file, a CRLF file and a mid-file transaction block fully; the rerun applies 0', async () => {
  const dir = dirOf({
    '1_bom.sql': '\uFEFFCREATE TABLE bom_t (id int);\n',
    '2_crlf.sql': 'CREATE TABLE crlf_t (id int);\r\nINSERT INTO crlf_t VALUES (1);\r\n',
    '3_block.sql':
      'CREATE TABLE blk_a (id int);\nBEGIN;\nINSERT INTO blk_a VALUES (1);\nCREATE TABLE blk_b (id int);\nCOMMIT;\nINSERT INTO blk_a VALUES (2);\n',
  });
  const files = loadMigrations(dir).files;
  // The BOM and the CRLF line ends are not part of the checksum.
  expect(files[0].checksum).toBe(checksum('CREATE TABLE bom_t (id int);\n'));
  expect(files[1].checksum).toBe(
    checksum('CREATE TABLE crlf_t (id int);\nINSERT INTO crlf_t VALUES (1);\n'),
  );
  const first = await applyMigrations(opts(dir), silentLogger);
  expect(first.applied).toEqual(['1', '2', '3']);
  expect(await q('SELECT id FROM blk_a ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  expect(await q('SELECT id FROM crlf_t')).toEqual([{ id: 1 }]);
  expect(await columns('blk_b')).toEqual(['id']);
  expect((await applyMigrations(opts(dir), silentLogger)).applied).toEqual([]);
});

it('runs a file with a mid-file block as one transaction: a later failure leaves nothing', async () => {
  const dir = dirOf({
    '1_x.sql':
      'CREATE TABLE half_a (id int);\nBEGIN;\nCREATE TABLE half_b (id int);\nCOMMIT;\nSELECT 1/0;\n',
  });
  const e = await errorOf(applyMigrations(opts(dir), silentLogger));
  expect(e.message).toMatch(/1_x\.sql failed at line 5: division by zero/);
  expect(await q(`SELECT to_regclass('half_a') AS a, to_regclass('half_b') AS b`)).toEqual([
    { a: null, b: null },
  ]);
});

it('refuses ROLLBACK and an unclosed BEGIN at their lines', async () => {
  const rb = dirOf({ '1_x.sql': 'BEGIN;\nCREATE TABLE r (id int);\nROLLBACK;\n' });
  expect((await errorOf(planMigrations(opts(rb), silentLogger))).message).toMatch(
    /1_x\.sql:3: transaction control \(ROLLBACK\)/,
  );
  const open = dirOf({ '1_x.sql': 'CREATE TABLE r (id int);\nBEGIN;\nCREATE TABLE s (id int);\n' });
  expect((await errorOf(planMigrations(opts(open), silentLogger))).message).toMatch(
    /1_x\.sql:2: BEGIN without a COMMIT/,
  );
});

it('runs each BEGIN ... COMMIT block of a CONCURRENTLY file as its own transaction', async () => {
  const dir = dirOf({
    '1_t.sql': 'CREATE TABLE cc (id int, email text);',
    '2_idx.sql':
      'BEGIN;\nALTER TABLE cc ADD COLUMN note text;\nUPDATE cc SET note = email;\nCOMMIT;\nCREATE INDEX CONCURRENTLY cc_email_idx ON cc (email);\n',
  });
  const res = await applyMigrations(opts(dir), silentLogger);
  expect(res.applied).toEqual(['1', '2']);
  expect(await columns('cc')).toEqual(['id', 'email', 'note']);
  expect(
    await q(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'cc_email_idx'::regclass`),
  ).toEqual([{ indisvalid: true }]);
});

it('refuses an empty directory, and one with no migration in any known format, naming it', async () => {
  const empty = dirOf({});
  for (const d of [empty, dirOf({ 'README.md': '# notes', 'schema.txt': 'x' })]) {
    const e = await errorOf(applyMigrations(opts(d), silentLogger));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(
      `migrations directory '${d}' holds no migration files in any known format`,
    );
  }
  const runbookOnly = dirOf({ 'V1__init.sql': 'select 1;' });
  expect(
    (await errorOf(applyMigrations(opts(runbookOnly, { format: 'runbook' }), silentLogger)))
      .message,
  ).toMatch(/bad migration file name 'V1__init\.sql'/);
  expect(
    (
      await errorOf(
        applyMigrations(
          opts(dirOf({ 'V1__a.sql': 'select 1;', '2_b.up.sql': 'select 1;' })),
          silentLogger,
        ),
      )
    ).message,
  ).toMatch(/mixes migration formats: flyway \(V1__a\.sql\), golang-migrate \(2_b\.up\.sql\)/);
});

describe('dbmate', () => {
  const files = {
    '20240101000000_users.sql':
      '-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n',
    '20240102000000_email.sql':
      '-- migrate:up\nALTER TABLE users ADD COLUMN email text;\n-- migrate:down\nALTER TABLE users DROP COLUMN email;\n',
    '20240103000000_idx.sql':
      '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n-- migrate:down\nDROP INDEX users_email_idx;\n',
  };

  it('detects dbmate, never runs a down section on apply, and adopts dbmate’s schema_migrations', async () => {
    const dir = dirOf(files);
    // dbmate ran the first migration before the switch.
    await q(
      `CREATE TABLE users (id int); CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000')`,
    );
    const log = recordingLogger();
    const res = await applyMigrations(opts(dir), log);
    expect(log.lines[0]).toMatch(
      /^migration format: dbmate \(detected from 20240101000000_users\.sql \(-- migrate:up\)\)/,
    );
    expect(log.lines.join('\n')).toMatch(
      /history table: public\.schema_migrations \(dbmate's own table/,
    );
    expect(res.applied).toEqual(['20240102000000', '20240103000000']);
    expect(await columns('users')).toEqual(['id', 'email']);
    expect(await q('SELECT version FROM schema_migrations ORDER BY 1')).toEqual([
      { version: '20240101000000' },
      { version: '20240102000000' },
      { version: '20240103000000' },
    ]);
    expect(await q(`SELECT to_regclass('runbook.schema_migrations') AS t`)).toEqual([{ t: null }]);

    const back = await rollbackMigrations(opts(dir, { steps: 2 }), silentLogger);
    expect(back.rolledBack).toEqual(['20240103000000', '20240102000000']);
    expect(await columns('users')).toEqual(['id']);
    expect(await q('SELECT version FROM schema_migrations')).toEqual([
      { version: '20240101000000' },
    ]);
    expect((await applyMigrations(opts(dir), silentLogger)).applied).toHaveLength(2);
  });
});

describe('flyway', () => {
  it('runs versioned then repeatable migrations, re-runs a changed repeatable, replaces placeholders, undoes with U files', async () => {
    const dir = dirOf({
      'V1__create_accounts.sql': 'CREATE TABLE ${schema}.accounts (id int, plan text);',
      'V1_1__add_email.sql': 'ALTER TABLE ${schema}.accounts ADD COLUMN email text;',
      'U1_1__add_email.sql': 'ALTER TABLE ${schema}.accounts DROP COLUMN email;',
      'V2__seed.sql': "INSERT INTO ${schema}.accounts VALUES (1, '${flyway:filename}');",
      'R__accounts_view.sql': 'CREATE OR REPLACE VIEW accounts_v AS SELECT id FROM accounts;',
    });
    const placeholders = { schema: 'public' };
    const res = await applyMigrations(opts(dir, { placeholders }), silentLogger);
    expect(res.format).toBe('flyway');
    expect(res.applied).toEqual(['1', '1.1', '2', 'R__accounts_view']);
    expect(await q('SELECT plan FROM accounts')).toEqual([{ plan: 'V2__seed.sql' }]);
    expect((await applyMigrations(opts(dir, { placeholders }), silentLogger)).applied).toEqual([]);

    writeFileSync(
      join(dir, 'R__accounts_view.sql'),
      'CREATE OR REPLACE VIEW accounts_v AS SELECT id, plan FROM accounts;',
    );
    expect((await applyMigrations(opts(dir, { placeholders }), silentLogger)).applied).toEqual([
      'R__accounts_view',
    ]);
    expect(await columns('accounts_v')).toEqual(['id', 'plan']);

    // A placeholder without a value names the file, line and input; nothing runs.
    writeFileSync(join(dir, 'V3__x.sql'), 'SELECT 1;\nSELECT ${missing};\n');
    const e = (await errorOf(
      applyMigrations(opts(dir, { placeholders }), silentLogger),
    )) as ConfigError;
    expect(e.message).toMatch(
      /input 'placeholders': .*V3__x\.sql:2: no value for placeholder \$\{missing\}/,
    );

    // Undo needs a U file for every version undone: V2 has none, so nothing is run.
    const refused = await errorOf(
      rollbackMigrations(opts(dir, { placeholders, target: '1' }), silentLogger),
    );
    expect(refused.message).toMatch(
      /rollback is refused, nothing was run: V2__seed\.sql has no down part/,
    );
    expect(await columns('accounts')).toEqual(['id', 'plan', 'email']);
  });

  it('adopts flyway_schema_history in place: applied rows are not re-run, new ones are recorded as Flyway does', async () => {
    const dir = dirOf({
      'V1__create_accounts.sql': 'CREATE TABLE accounts (id int);',
      'V2__add_email.sql': 'ALTER TABLE accounts ADD COLUMN email text;',
      'U2__add_email.sql': 'ALTER TABLE accounts DROP COLUMN email;',
    });
    const { flywayChecksum } = await import('../../src/migrate/index.js');
    await q(`CREATE TABLE accounts (id int);
      CREATE TABLE flyway_schema_history (
        installed_rank integer NOT NULL PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
        type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL,
        installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL, success boolean NOT NULL);
      INSERT INTO flyway_schema_history VALUES
        (1, '1', 'create accounts', 'SQL', 'V1__create_accounts.sql', ${flywayChecksum('CREATE TABLE accounts (id int);')}, 'flyway', now(), 5, true)`);
    const res = await applyMigrations(opts(dir), silentLogger);
    expect(res.historyTool).toBe('flyway');
    expect(res.applied).toEqual(['2']);
    const rows = await q(
      'SELECT installed_rank, version, description, type, script, success FROM flyway_schema_history ORDER BY 1',
    );
    expect(rows[1]).toEqual({
      installed_rank: 2,
      version: '2',
      description: 'add email',
      type: 'SQL',
      script: 'V2__add_email.sql',
      success: true,
    });
    await rollbackMigrations(opts(dir), silentLogger);
    expect(await columns('accounts')).toEqual(['id']);
    expect((await q(`SELECT type FROM flyway_schema_history WHERE installed_rank = 3`))[0]).toEqual(
      { type: 'UNDO_SQL' },
    );
    expect((await migrationStatus(opts(dir), silentLogger)).pending).toEqual(['2']);
    // A changed applied file is refused (Flyway's CRC32 checksum); repair realigns it.
    writeFileSync(
      join(dir, 'V1__create_accounts.sql'),
      'CREATE TABLE accounts (id int);\n-- reviewed\n',
    );
    expect(await errorOf(applyMigrations(opts(dir), silentLogger))).toBeInstanceOf(
      MigrationRefusedError,
    );
    const log = recordingLogger();
    expect((await repairMigrations(opts(dir), log)).repaired).toEqual(['1']);
    expect(log.lines.join('\n')).toMatch(
      /repair: V1__create_accounts\.sql: recorded checksum -?\d+ realigned/,
    );
    expect((await applyMigrations(opts(dir), silentLogger)).applied).toEqual(['2']);
  });
});

describe('golang-migrate', () => {
  const files = {
    '000001_users.up.sql': 'CREATE TABLE users (id int);',
    '000001_users.down.sql': 'DROP TABLE users;',
    '000002_email.up.sql': 'ALTER TABLE users ADD COLUMN email text;',
    '000002_email.down.sql': 'ALTER TABLE users DROP COLUMN email;',
    '000003_name.up.sql': 'ALTER TABLE users ADD COLUMN name text;',
    '000003_name.down.sql': 'ALTER TABLE users DROP COLUMN name;',
  };

  it('adopts schema_migrations (version, dirty), refuses a dirty database until repair, rolls back to a target', async () => {
    const dir = dirOf(files);
    await q(
      `CREATE TABLE users (id int); CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, true)`,
    );
    const e = await errorOf(applyMigrations(opts(dir), silentLogger));
    expect(e.message).toMatch(
      /migration 000001 is recorded as failed in public\.schema_migrations: .*run repair/,
    );
    await repairMigrations(opts(dir), silentLogger);
    expect(await q('SELECT version::int AS v, dirty FROM schema_migrations')).toEqual([
      { v: 1, dirty: false },
    ]);
    const res = await applyMigrations(opts(dir, { target: '2' }), silentLogger);
    expect(res.applied).toEqual(['000002']);
    expect(res.pending).toEqual(['000003']);
    expect(await q('SELECT version::int AS v FROM schema_migrations')).toEqual([{ v: 2 }]);
    expect((await applyMigrations(opts(dir), silentLogger)).applied).toEqual(['000003']);
    await rollbackMigrations(opts(dir, { target: '1' }), silentLogger);
    expect(await columns('users')).toEqual(['id']);
    expect(await q('SELECT version::int AS v, dirty FROM schema_migrations')).toEqual([
      { v: 1, dirty: false },
    ]);
    await rollbackMigrations(opts(dir), silentLogger);
    expect(await q('SELECT count(*)::int AS n FROM schema_migrations')).toEqual([{ n: 0 }]);
    expect(await q(`SELECT to_regclass('users') AS t`)).toEqual([{ t: null }]);
  });
});

describe('prisma and diesel', () => {
  it('applies Prisma folders, adopts _prisma_migrations, and refuses rollback (no down migrations)', async () => {
    const first = 'CREATE TABLE "User" (id serial PRIMARY KEY);\n';
    const dir = dirOf({
      '20240101000000_init/migration.sql': first,
      '20240201000000_email/migration.sql': 'ALTER TABLE "User" ADD COLUMN email text;\n',
      'migration_lock.toml': 'provider = "postgresql"\n',
    });
    await q(`${first}
      CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
        migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
        applied_steps_count integer NOT NULL DEFAULT 0);
      INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
        VALUES ('a', '${createHash('sha256').update(first).digest('hex')}', now(), '20240101000000_init', 1)`);
    const res = await applyMigrations(opts(dir), silentLogger);
    expect(res.format).toBe('prisma');
    expect(res.applied).toEqual(['20240201000000']);
    expect(
      await q(
        'SELECT migration_name, finished_at IS NOT NULL AS done FROM _prisma_migrations ORDER BY started_at, migration_name',
      ),
    ).toEqual([
      { migration_name: '20240101000000_init', done: true },
      { migration_name: '20240201000000_email', done: true },
    ]);
    const e = await errorOf(rollbackMigrations(opts(dir), silentLogger));
    expect(e.message).toMatch(
      /input 'format': rollback is refused: Prisma Migrate histories have no down migrations/,
    );
  });

  it('applies Diesel folders (dashed versions), never runs down.sql on apply, and rolls back', async () => {
    const dir = dirOf({
      '2024-01-01-000000_create_posts/up.sql': 'CREATE TABLE posts (id int);',
      '2024-01-01-000000_create_posts/down.sql': 'DROP TABLE posts;',
      '2024-02-01-000000_add_title/up.sql': 'ALTER TABLE posts ADD COLUMN title text;',
      '2024-02-01-000000_add_title/down.sql': 'ALTER TABLE posts DROP COLUMN title;',
    });
    await q(
      `CREATE TABLE posts (id int); CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP); INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')`,
    );
    const res = await applyMigrations(opts(dir), silentLogger);
    expect([res.format, res.historyTool, res.applied]).toEqual([
      'diesel',
      'diesel',
      ['20240201000000'],
    ]);
    expect(await columns('posts')).toEqual(['id', 'title']);
    await rollbackMigrations(opts(dir), silentLogger);
    expect(await columns('posts')).toEqual(['id']);
    expect(await q('SELECT version FROM __diesel_schema_migrations')).toEqual([
      { version: '20240101000000' },
    ]);
  });
});

it('plans the SQL each file runs and how; target stops the apply; repair realigns an edited file', async () => {
  const dir = dirOf({
    '1_a.sql': 'CREATE TABLE pa (id int);\nINSERT INTO pa VALUES (1);',
    '2_b.sql': 'CREATE INDEX CONCURRENTLY pa_id_idx ON pa (id);',
    '3_c.sql': 'CREATE TABLE pc (id int);',
  });
  const plan = await planMigrations(opts(dir), silentLogger);
  expect(plan.rows[0]).toMatchObject({
    runs: 'one transaction',
    sql: 'CREATE TABLE pa (id int);\n\nINSERT INTO pa VALUES (1);',
  });
  expect(plan.rows[1].runs).toBe(
    'statements alone, outside a transaction (CREATE INDEX CONCURRENTLY)',
  );
  expect((await applyMigrations(opts(dir, { target: '2' }), silentLogger)).applied).toEqual([
    '1',
    '2',
  ]);
  expect(await q(`SELECT to_regclass('pc') AS t`)).toEqual([{ t: null }]);
  expect(
    (await errorOf(applyMigrations(opts(dir, { target: 'latest' }), silentLogger))).message,
  ).toMatch(/input 'target': expected a migration version/);
  writeFileSync(
    join(dir, '1_a.sql'),
    'CREATE TABLE pa (id int);\nINSERT INTO pa VALUES (1); -- seeded',
  );
  expect(await errorOf(applyMigrations(opts(dir), silentLogger))).toBeInstanceOf(
    MigrationRefusedError,
  );
  const repaired = await repairMigrations(opts(dir), silentLogger);
  expect(repaired.repaired).toEqual(['1']);
  expect((await applyMigrations(opts(dir), silentLogger)).applied).toEqual(['3']);
  const rb = await errorOf(rollbackMigrations(opts(dir), silentLogger));
  expect(rb.message).toMatch(
    /input 'format': rollback is refused: the runbook format has no down migrations/,
  );
});

it('runs Flyway SQL callbacks around apply and warns about events it does not run', async () => {
  const dir = dirOf({
    'V1__a.sql': 'CREATE TABLE cb_a (id int);',
    'V2__b.sql': 'CREATE TABLE cb_b (id int);',
    'beforeMigrate.sql':
      'CREATE TABLE IF NOT EXISTS cb_log (event text, at timestamptz DEFAULT clock_timestamp());',
    'afterEachMigrate.sql': "INSERT INTO cb_log (event) VALUES ('afterEach');",
    'afterMigrate__grants.sql': "INSERT INTO cb_log (event) VALUES ('after ${env}');",
    'beforeClean.sql': 'SELECT 1;',
  });
  const log = recordingLogger();
  const res = await applyMigrations(opts(dir, { placeholders: { env: 'prod' } }), log);
  expect(res.applied).toEqual(['1', '2']);
  expect(await q('SELECT event FROM cb_log ORDER BY at')).toEqual([
    { event: 'afterEach' },
    { event: 'afterEach' },
    { event: 'after prod' },
  ]);
  expect(log.lines).toContain(
    `warning: Flyway callback beforeClean.sql (beforeClean) is not run by runbook migrate (${join(dir, 'beforeClean.sql')})`,
  );
  // afterMigrate runs on every migrate, also when nothing is pending.
  await applyMigrations(opts(dir, { placeholders: { env: 'prod' } }), silentLogger);
  expect(await q(`SELECT count(*)::int AS n FROM cb_log WHERE event = 'after prod'`)).toEqual([
    { n: 2 },
  ]);
});

it('finds Flyway migrations in subfolders, as Flyway scans its locations', async () => {
  const dir = dirOf({
    'release-1/V1__a.sql': 'CREATE TABLE sub_a (id int);',
    'release-2/V2__b.sql': 'CREATE TABLE sub_b (id int);',
    'release-2/U2__b.sql': 'DROP TABLE sub_b;',
  });
  const res = await applyMigrations(opts(dir), silentLogger);
  expect([res.format, res.formatReason, res.applied]).toEqual([
    'flyway',
    'detected from release-1/V1__a.sql',
    ['1', '2'],
  ]);
  expect((await rollbackMigrations(opts(dir), silentLogger)).rolledBack).toEqual(['2']);
});

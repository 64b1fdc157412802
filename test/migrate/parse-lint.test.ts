import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  checksum,
  discoverMigrations,
  lintMigrations,
  parseMigration,
  type MigrationFile,
} from '../../src/migrate/index.js';
import { silentLogger } from '../../src/errors.js';
import { migrationsDir, removeDir } from './helpers.js';

function file(sql: string, filename = '1_test.sql'): MigrationFile {
  return {
    version: '1',
    name: 'test',
    filename,
    path: `db/${filename}`,
    sql,
    checksum: checksum(sql),
  };
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<ConfigError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('expected an error');
}

describe('discoverMigrations', () => {
  it('sorts by numeric version and ignores non-SQL files', () => {
    const dir = migrationsDir({
      '10_ten.sql': 'select 10;',
      '9_nine.sql': 'select 9;',
      '20260101091000_billing-audit.sql': 'select 1;',
      'README.md': '# notes',
    });
    try {
      expect(discoverMigrations(dir).map((f) => f.version)).toEqual(['9', '10', '20260101091000']);
    } finally {
      removeDir(dir);
    }
  });

  it('names a missing directory and the input', async () => {
    const e = await errorOf(() => discoverMigrations('/nonexistent/migrations'));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/input 'dir'.*\/nonexistent\/migrations.*does not exist/);
  });

  it('names a badly named file', async () => {
    const dir = migrationsDir({ '1_ok.sql': 'select 1;', 'add users.sql': 'select 2;' });
    try {
      const e = await errorOf(() => discoverMigrations(dir));
      expect(e.location?.file).toBe(join(dir, 'add users.sql'));
      expect(e.message).toMatch(/bad migration file name 'add users.sql'.*<version>_<name>\.sql/);
    } finally {
      removeDir(dir);
    }
  });

  it('refuses two files with the same version', async () => {
    const dir = migrationsDir({ '001_a.sql': 'select 1;', '1_b.sql': 'select 2;' });
    try {
      const e = await errorOf(() => discoverMigrations(dir));
      expect(e.message).toMatch(/duplicate migration version.*'001_a.sql' and '1_b.sql'/);
    } finally {
      removeDir(dir);
    }
  });

  it('checksums with CRLF normalised to LF', () => {
    const dir = migrationsDir({ '1_lf.sql': 'select 1;\nselect 2;\n' });
    try {
      writeFileSync(join(dir, '2_crlf.sql'), 'select 1;\r\nselect 2;\r\n');
      const [lf, crlf] = discoverMigrations(dir);
      expect(crlf.checksum).toBe(lf.checksum);
      expect(lf.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(checksum('select 1;')).not.toBe(lf.checksum);
    } finally {
      removeDir(dir);
    }
  });
});

describe('parseMigration', () => {
  it('splits statements with their lines, including dollar-quoted bodies and multibyte text', async () => {
    const sql = [
      '-- Zählwerk: usage counters', // line 1 (multibyte)
      "SET lock_timeout = '5s';", // 2
      '',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;', // 4
      '/* block',
      '   comment */ CREATE TABLE t (a int);', // 6
      'VACUUM t', // 7 (no trailing semicolon)
    ].join('\n');
    const p = await parseMigration(file(sql), { checkMixing: false });
    expect(p.statements.map((s) => [s.kind, s.line])).toEqual([
      ['VariableSetStmt', 2],
      ['CreateFunctionStmt', 4],
      ['CreateStmt', 6],
      ['VacuumStmt', 7],
    ]);
    expect(p.statements[1].sql).toContain('$$ SELECT 1; $$');
    expect(p.statements[3].nonTransactional).toBe('VACUUM');
    expect(p.nonTransactional).toBe(true);
  });

  it('recognises statements that cannot run in a transaction', async () => {
    const cases: [string, string | undefined][] = [
      ['CREATE INDEX CONCURRENTLY i ON t (a)', 'CREATE INDEX CONCURRENTLY'],
      ['CREATE INDEX i ON t (a)', undefined],
      ['DROP INDEX CONCURRENTLY IF EXISTS i', 'DROP INDEX CONCURRENTLY'],
      ['REINDEX INDEX CONCURRENTLY i', 'REINDEX CONCURRENTLY'],
      ['VACUUM (ANALYZE) t', 'VACUUM'],
      ['ANALYZE t', undefined],
      ['ALTER TABLE p DETACH PARTITION c CONCURRENTLY', 'DETACH PARTITION CONCURRENTLY'],
      ['CREATE DATABASE x', 'CREATE DATABASE'],
      ["ALTER TYPE e ADD VALUE 'x'", undefined],
    ];
    for (const [sql, reason] of cases) {
      const p = await parseMigration(file(sql));
      expect([sql, p.statements[0].nonTransactional]).toEqual([sql, reason]);
    }
  });

  it('refuses a file mixing CONCURRENTLY with other DDL, at the offending line', async () => {
    const sql =
      "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY i ON t (a);\nALTER TABLE t ADD COLUMN b int;\n";
    const e = await errorOf(parseMigration(file(sql)));
    expect(e.location).toEqual({ file: 'db/1_test.sql', line: 3 });
    expect(e.message).toMatch(/CREATE INDEX CONCURRENTLY \(line 2\).*own migration file/);
  });

  it('drops a wrapping BEGIN/COMMIT and refuses other transaction control', async () => {
    const wrapped = await parseMigration(file('BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n'));
    expect(wrapped.statements.map((s) => s.kind)).toEqual(['CreateStmt']);
    expect(wrapped.wrappedAt).toBe(1);
    const e = await errorOf(parseMigration(file('CREATE TABLE t (a int);\nCOMMIT;\n')));
    expect(e.location?.line).toBe(2);
    expect(e.message).toMatch(/transaction control \(COMMIT\)/);
  });

  it('reports a syntax error at its line', async () => {
    const e = await errorOf(
      parseMigration(file('CREATE TABLE a (x int);\n\nCREAT TABLE b (y int);\n')),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.location).toEqual({ file: 'db/1_test.sql', line: 3 });
    expect(e.message).toMatch(/syntax error at or near "CREAT"/);
  });
});

describe('lintMigrations (Squawk rules, no database: every file)', () => {
  const risky = [
    'CREATE TABLE fresh (id int);', // 1
    'CREATE INDEX fresh_idx ON fresh (id);', // 2: new table, exempt
    'CREATE INDEX users_email_idx ON users (email);', // 3
    'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();', // 4
    'ALTER TABLE users ADD COLUMN plan text NOT NULL;', // 5
    'ALTER TABLE users ALTER COLUMN name SET NOT NULL;', // 6
    'ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES org (id);', // 7
    'ALTER TABLE users ADD CONSTRAINT users_org_fk2 FOREIGN KEY (org_id) REFERENCES org (id) NOT VALID;', // 8
    'ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age > 0);', // 9
    'ALTER TABLE users ALTER COLUMN age TYPE bigint;', // 10
    'ALTER TABLE users RENAME COLUMN name TO full_name;', // 11
    'ALTER TABLE users DROP COLUMN legacy;', // 12
    'DROP TABLE old_stuff;', // 13
    'ALTER TABLE users ADD COLUMN created timestamptz NOT NULL DEFAULT now();', // 14: fine
  ].join('\n');

  it('flags each dangerous operation at its line with its rule', async () => {
    const dir = migrationsDir({ '1_risky.sql': risky });
    try {
      // lock-timeout 0: the runner sets no lock_timeout, so the file must.
      const res = await lintMigrations({ dir, failOn: 'error', lockTimeoutMs: 0 }, silentLogger);
      const got = res.findings.map((f) => `${f.line} ${f.level} ${f.rule}`).sort();
      const byRunner = await lintMigrations({ dir, failOn: 'error' }, silentLogger);
      expect(byRunner.findings.map((f) => `${f.line} ${f.level} ${f.rule}`).sort()).toEqual(
        got.filter((x) => !x.includes('require-timeout-settings')),
      );
      expect(got).toEqual(
        [
          '3 warning require-timeout-settings',
          '3 error require-concurrent-index-creation',
          '4 error adding-field-with-default',
          '5 error adding-required-field',
          '6 warning adding-not-nullable-field',
          '7 warning adding-foreign-key-constraint',
          '9 warning constraint-missing-not-valid',
          '10 error changing-column-type',
          '11 warning renaming-column',
          '12 warning ban-drop-column',
          '13 warning ban-drop-table',
        ].sort(),
      );
      expect(res.failed).toBe(true);
      expect(res.findings[0].file).toBe(join(dir, '1_risky.sql'));
      expect(res.findings.find((f) => f.rule === 'adding-field-with-default')!.message).toMatch(
        /gen_random_uuid\(\).*squawkhq\.com\/docs\/adding-field-with-default/,
      );
    } finally {
      removeDir(dir);
    }
  });

  it('flags serial and identity columns, UNIQUE / PRIMARY KEY constraints and DROP INDEX on existing tables', async () => {
    const dir = migrationsDir({
      '1_more.sql': [
        "SET lock_timeout = '1s';", // 1
        'ALTER TABLE users ADD COLUMN seq bigserial NOT NULL;', // 2
        'ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;', // 3
        'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);', // 4
        'ALTER TABLE users ADD CONSTRAINT users_email_key2 UNIQUE USING INDEX users_email_idx;', // 5: fine
        'ALTER TABLE orgs ADD PRIMARY KEY (id);', // 6
        'ALTER TABLE orgs ADD COLUMN slug text UNIQUE;', // 7
        'DROP INDEX users_old_idx;', // 8
        'CREATE TABLE fresh (id serial PRIMARY KEY);', // 9: new table, fine
        'ALTER TABLE fresh ADD COLUMN code text UNIQUE;', // 10: new table, fine
      ].join('\n'),
    });
    try {
      const res = await lintMigrations({ dir }, silentLogger);
      const got = res.findings.map((f) => `${f.line} ${f.level} ${f.rule}`).sort();
      expect(got).toEqual(
        [
          '2 error adding-field-with-default',
          '3 error adding-field-with-default',
          '4 error disallowed-unique-constraint',
          '6 error disallowed-unique-constraint',
          '7 error disallowed-unique-constraint',
          '8 warning require-concurrent-index-deletion',
        ].sort(),
      );
      expect(res.findings[0].message).toMatch(
        /bigserial column "seq".*nextval\(\).*rewrites "users"/,
      );
    } finally {
      removeDir(dir);
    }
  });

  it('flags CONCURRENTLY mixed into a transactional file and honours fail-on', async () => {
    const dir = migrationsDir({
      '1_mixed.sql':
        "SET lock_timeout = '1s';\nCREATE TABLE x (a int);\nCREATE INDEX CONCURRENTLY x_a ON x (a);\n",
      '2_warn.sql': "SET lock_timeout = '1s';\nALTER TABLE users DROP COLUMN legacy;\n",
    });
    try {
      const res = await lintMigrations({ dir, failOn: 'never' }, silentLogger);
      expect(res.failed).toBe(false);
      const mixed = res.findings.find(
        (f) => f.rule === 'ban-concurrent-index-creation-in-transaction',
      );
      expect(mixed?.line).toBe(2);
      expect(res.findings.filter((f) => f.file.endsWith('2_warn.sql')).map((f) => f.rule)).toEqual([
        'ban-drop-column',
      ]);
      const warnOnly = migrationsDir({
        '2_warn.sql': "SET lock_timeout = '1s';\nALTER TABLE users DROP COLUMN legacy;\n",
      });
      expect((await lintMigrations({ dir: warnOnly, failOn: 'error' }, silentLogger)).failed).toBe(
        false,
      );
      expect(
        (await lintMigrations({ dir: warnOnly, failOn: 'warning' }, silentLogger)).failed,
      ).toBe(true);
      removeDir(warnOnly);
    } finally {
      removeDir(dir);
    }
  });

  it('finds nothing to complain about in the Paket 7 example migrations', async () => {
    const res = await lintMigrations({ dir: 'examples/paket7/migrations' }, silentLogger);
    expect(res.linted.length).toBeGreaterThanOrEqual(6);
    expect(res.findings).toEqual([]);
  });
});

describe('lint exemptions for tables created in the same file or run', () => {
  it('exempts CREATE TABLE AS, materialized views, SELECT INTO and temporary tables created earlier in the file', async () => {
    const dir = migrationsDir({
      '1_new.sql': [
        'CREATE TABLE stats AS SELECT 1 AS id;',
        'CREATE INDEX stats_idx ON stats (id);',
        'CREATE MATERIALIZED VIEW mv AS SELECT 1 AS id;',
        'CREATE INDEX mv_idx ON mv (id);',
        'CREATE TEMP TABLE tmp (id int);',
        'ALTER TABLE tmp ADD COLUMN x int NOT NULL;',
        'SELECT 1 AS id INTO sel;',
        'CREATE INDEX sel_idx ON sel (id);',
        'CREATE INDEX users_idx ON users (id);',
      ].join('\n'),
    });
    try {
      const res = await lintMigrations({ dir }, silentLogger);
      expect(res.findings.map((f) => `${f.line} ${f.rule}`)).toEqual([
        '9 require-concurrent-index-creation',
      ]);
    } finally {
      removeDir(dir);
    }
  });

  it('exempts a table created by an earlier pending file of the same run, not one already applied', async () => {
    const { freshDatabase } = await import('../support/postgres.js');
    const { applyMigrations } = await import('../../src/migrate/index.js');
    const db = await freshDatabase('lintrun');
    const dir = migrationsDir({ '1_old.sql': 'CREATE TABLE old_t (id int);' });
    try {
      await applyMigrations({ databaseUrl: db.url, dir }, silentLogger);
      writeFileSync(join(dir, '2_new.sql'), 'CREATE TABLE new_t (id int);');
      writeFileSync(
        join(dir, '3_idx.sql'),
        'CREATE INDEX new_idx ON new_t (id);\nCREATE INDEX old_idx ON old_t (id);',
      );
      const pending = await lintMigrations({ dir, databaseUrl: db.url }, silentLogger);
      expect(pending.linted).toEqual(['2_new.sql', '3_idx.sql']);
      expect(pending.findings.map((f) => `${f.file.split('/').pop()}:${f.line} ${f.rule}`)).toEqual(
        ['3_idx.sql:2 require-concurrent-index-creation'],
      );
      // Every file on its own (no run): new_t is a table in use by the time 3 runs.
      const all = await lintMigrations({ dir, all: true }, silentLogger);
      expect(
        all.findings.filter((f) => f.rule === 'require-concurrent-index-creation'),
      ).toHaveLength(2);
    } finally {
      removeDir(dir);
      await db.dispose();
    }
  });
});

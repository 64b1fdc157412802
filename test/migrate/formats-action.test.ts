/**
 * One history written in Flyway, golang-migrate and dbmate naming, applied and rolled back
 * through the bundled `migrate` action (actions/migrate/dist/index.js, run as the runner runs
 * it) with `format: auto`. Build it first: `node scripts/bundle.mjs migrate`.
 */
import { runBundledAction } from '../support/action.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

const up = [
  'CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);',
  'ALTER TABLE accounts ADD COLUMN plan text;\nBEGIN;\nINSERT INTO accounts VALUES (1, $$a@example.com$$, $$pro$$);\nCOMMIT;',
  'CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);',
];
// Each down part also drops a table that only a wrongly run down part would touch.
const down = [
  'DROP TABLE accounts;\nDROP TABLE IF EXISTS sentinel;',
  'DELETE FROM accounts WHERE id = 1;\nALTER TABLE accounts DROP COLUMN plan;\nDROP TABLE IF EXISTS sentinel;',
  'DROP INDEX CONCURRENTLY accounts_email_idx;',
];
const names = ['create_accounts', 'add_plan', 'email_index'];

const layouts: Record<string, () => Record<string, string>> = {
  flyway: () =>
    Object.fromEntries(
      up.flatMap((sql, i) => [
        [`V${i + 1}__${names[i]}.sql`, sql],
        [`U${i + 1}__${names[i]}.sql`, down[i]],
      ]),
    ),
  'golang-migrate': () =>
    Object.fromEntries(
      up.flatMap((sql, i) => [
        [`00000${i + 1}_${names[i]}.up.sql`, sql],
        [`00000${i + 1}_${names[i]}.down.sql`, down[i]],
      ]),
    ),
  dbmate: () =>
    Object.fromEntries(
      up.map((sql, i) => [
        `2024010${i + 1}000000_${names[i]}.sql`,
        `-- migrate:up${i === 2 ? ' transaction:false' : ''}\n${sql}\n\n-- migrate:down${i === 2 ? ' transaction:false' : ''}\n${down[i]}\n`,
      ]),
    ),
};

describe.each(Object.keys(layouts))('the bundled action with format auto: %s', (format) => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase(format);
    dir = migrationsDir(layouts[format]());
  });
  afterAll(async () => {
    removeDir(dir);
    await db.dispose();
  });
  const q = (sql: string) => withClient(db.url, async (c) => (await c.query(sql)).rows);
  const columns = async () =>
    (
      await q(
        `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('accounts') AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      )
    ).map((r) => r.attname);
  const run = (inputs: Record<string, string>) =>
    runBundledAction('migrate', { 'database-url': db.url, dir, format: 'auto', ...inputs });

  it('applies every up part (down parts untouched), reruns to 0, and rolls back', async () => {
    await q('CREATE TABLE sentinel (id int)');
    const first = await run({ command: 'apply' });
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.outputs.format).toBe(format);
    expect(first.outputs['applied-count']).toBe('3');
    expect(first.stdout).toContain(`migration format: ${format} (detected from`);
    expect(first.summary).toContain(`Format: **${format}** (detected from`);
    expect(await columns()).toEqual(['id', 'email', 'plan']);
    expect(await q(`SELECT to_regclass('sentinel') IS NOT NULL AS kept`)).toEqual([{ kept: true }]);
    expect(await q('SELECT plan FROM accounts')).toEqual([{ plan: 'pro' }]);
    expect(
      await q(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_idx'::regclass`),
    ).toEqual([{ indisvalid: true }]);

    const again = await run({ command: 'apply' });
    expect([again.exitCode, again.outputs['applied-count']]).toEqual([0, '0']);

    const one = await run({ command: 'rollback' });
    expect(one.exitCode).toBe(0);
    expect(JSON.parse(one.outputs['rolled-back'])).toHaveLength(1);
    expect(await q(`SELECT to_regclass('accounts_email_idx') AS i`)).toEqual([{ i: null }]);
    expect(await columns()).toEqual(['id', 'email', 'plan']);

    const toFirst = await run({
      command: 'rollback',
      target: format === 'dbmate' ? '20240101000000' : '1',
    });
    expect(toFirst.exitCode).toBe(0);
    expect(await columns()).toEqual(['id', 'email']);
    expect(toFirst.summary).toMatch(/↩️ rolled back/);

    const reapply = await run({ command: 'apply' });
    expect(reapply.outputs['applied-count']).toBe('2');
    expect(await columns()).toEqual(['id', 'email', 'plan']);
  });
});

it('refuses rollback through the bundled action where the format has no down parts', async () => {
  const db = await freshDatabase('prisma_rb');
  const dir = migrationsDir({ '20240101000000_init/migration.sql': 'CREATE TABLE p (id int);' });
  try {
    const apply = await runBundledAction('migrate', {
      command: 'apply',
      'database-url': db.url,
      dir,
    });
    expect([apply.exitCode, apply.outputs.format]).toEqual([0, 'prisma']);
    const rb = await runBundledAction('migrate', {
      command: 'rollback',
      'database-url': db.url,
      dir,
    });
    expect(rb.exitCode).toBe(1);
    expect(rb.stdout).toMatch(
      /::error ?::input 'format': rollback is refused: Prisma Migrate histories have no down migrations/,
    );
    expect(
      await withClient(
        db.url,
        async (c) => (await c.query(`SELECT to_regclass('p') IS NOT NULL AS t`)).rows,
      ),
    ).toEqual([{ t: true }]);
  } finally {
    removeDir(dir);
    await db.dispose();
  }
});

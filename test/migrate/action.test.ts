/**
 * The bundled `migrate` action (actions/migrate/dist/index.js) run as the GitHub runner runs it.
 * Build it first: `node scripts/bundle.mjs migrate`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { lockKey } from '../../src/db/lock.js';
import { runBundledAction, type ActionRun } from '../support/action.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

const PASSWORD = 'Zq9-migrate-Secret-77';
let db: TestDatabase;
let url: string;

beforeAll(async () => {
  db = await freshDatabase('action');
  await withClient(db.url, async (c) => {
    await c
      .query(`CREATE ROLE release_bot LOGIN SUPERUSER PASSWORD '${PASSWORD}'`)
      .catch(async () => {
        await c.query(`ALTER ROLE release_bot LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
      });
  });
  const u = new URL(db.url);
  u.username = 'release_bot';
  u.password = PASSWORD;
  url = u.toString();
});
afterAll(async () => db.dispose());

const runnerEnv = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'paket7/app',
  GITHUB_RUN_ID: '4242',
  GITHUB_ACTOR: 'release-bot',
};

/** Everything the action printed or wrote, except the `::add-mask::` commands themselves. */
function everything(run: ActionRun): string {
  return [
    run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    run.stderr,
    run.summary,
    JSON.stringify(run.outputs),
    JSON.stringify(run.env),
  ].join('\n');
}

it('ships the parser wasm byte for byte in the bundle', () => {
  const bundled = readFileSync('actions/migrate/dist/libpg-query.wasm');
  const original = readFileSync('node_modules/libpg-query/wasm/libpg-query.wasm');
  expect(bundled.equals(original)).toBe(true);
});

it('applies the Paket 7 migrations, sets outputs and writes the summary; a second run applies nothing', async () => {
  const first = await runBundledAction(
    'migrate',
    { command: 'apply', 'database-url': url, dir: 'examples/paket7/migrations' },
    { env: runnerEnv },
  );
  expect(first.stderr).toBe('');
  expect(first.exitCode).toBe(0);
  const applied = JSON.parse(first.outputs.applied);
  expect(applied).toEqual(expect.arrayContaining(['20250101000000', '20260101093000']));
  expect(first.outputs['applied-count']).toBe(String(applied.length));
  expect(first.outputs['pending-count']).toBe('0');
  expect(first.summary).toContain('| Version | Name | Duration | Status |');
  expect(first.summary).toMatch(
    /\| 20260101091000 \| billing_audit_log \| \d+ ms \| ✅ applied \|/,
  );
  expect(first.masks).toContain(PASSWORD);
  expect(everything(first)).not.toContain(PASSWORD);
  const runUrl = await withClient(
    db.url,
    async (c) =>
      (await c.query(`SELECT DISTINCT run_url, applied_by FROM runbook.schema_migrations`)).rows,
  );
  expect(runUrl).toEqual([
    { run_url: 'https://github.com/paket7/app/actions/runs/4242', applied_by: 'release-bot' },
  ]);

  const second = await runBundledAction(
    'migrate',
    { 'database-url': url, dir: 'examples/paket7/migrations' },
    { env: runnerEnv },
  );
  expect(second.exitCode).toBe(0);
  expect(second.outputs).toMatchObject({
    applied: '[]',
    'applied-count': '0',
    'pending-count': '0',
  });
  expect(second.summary).toContain('already applied');
  expect(everything(second)).not.toContain(PASSWORD);
});

it('annotates a failing migration at its file and line, without the password', async () => {
  const dir = migrationsDir({
    '1_ok.sql': 'CREATE TABLE act_ok (id int);\n',
    '2_bad.sql': 'CREATE TABLE act_half (id int);\nALTER TABLE act_nope ADD COLUMN x int;\n',
  });
  try {
    const run = await runBundledAction('migrate', {
      'database-url': url,
      dir,
      'history-table': 'ops.action_history',
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.applied).toBe('["1"]');
    const err = run.annotations.find((a) => a.level === 'error');
    expect(err).toMatchObject({ file: join(dir, '2_bad.sql'), line: 2 });
    expect(err?.message).toMatch(/relation "act_nope" does not exist/);
    expect(run.outputs['pending-count']).toBe('1');
    expect(run.summary).toMatch(/\| 2 \| bad \| {2}\| ❌ failed \|/);
    expect(everything(run)).not.toContain(PASSWORD);
  } finally {
    removeDir(dir);
  }
});

it('fails clearly on a bad directory, a bad file name and a bad URL', async () => {
  const badDir = await runBundledAction('migrate', { 'database-url': url, dir: 'no/such/dir' });
  expect(badDir.exitCode).toBe(1);
  expect(badDir.annotations[0].message).toMatch(
    /input 'dir': migrations directory 'no\/such\/dir' does not exist/,
  );

  const dir = migrationsDir({ 'V1__init.sql': 'select 1;' });
  try {
    // A Flyway name where the runbook format is set; with format auto it would be Flyway's.
    const badName = await runBundledAction('migrate', {
      'database-url': url,
      dir,
      format: 'runbook',
    });
    expect(badName.exitCode).toBe(1);
    expect(badName.annotations[0]).toMatchObject({
      level: 'error',
      file: join(dir, 'V1__init.sql'),
    });
    expect(badName.annotations[0].message).toMatch(/bad migration file name 'V1__init.sql'/);
  } finally {
    removeDir(dir);
  }
  const unknown = migrationsDir({ 'init.sql': 'select 1;', 'README.md': '# db' });
  try {
    const none = await runBundledAction('migrate', { 'database-url': url, dir: unknown });
    expect(none.exitCode).toBe(1);
    expect(none.annotations[0].message).toContain(
      `input 'dir': migrations directory '${unknown}' holds no migration files in any known format`,
    );
  } finally {
    removeDir(unknown);
  }

  const badUrl = await runBundledAction('migrate', {
    'database-url': `postgres://release_bot:${PASSWORD}@127.0.0.1:1/nowhere`,
    dir: 'examples/paket7/migrations',
  });
  expect(badUrl.exitCode).toBe(1);
  expect(badUrl.annotations[0].message).toMatch(
    /input 'database-url': cannot connect to PostgreSQL at 127\.0\.0\.1:1/,
  );
  expect(everything(badUrl)).not.toContain(PASSWORD);

  const noUrl = await runBundledAction('migrate', { dir: 'examples/paket7/migrations' });
  expect(noUrl.exitCode).toBe(1);
  expect(noUrl.annotations[0].message).toMatch(/input 'database-url': is required/);
});

it('lints pending files into annotations at file and line, honouring fail-on', async () => {
  const dir = migrationsDir({ '1_users.sql': 'CREATE TABLE lint_users (id int, email text);\n' });
  const base = { 'database-url': url, dir, 'history-table': 'ops.lint_history' };
  try {
    // Apply file 1, then add file 2: its index targets an existing table.
    const apply = await runBundledAction('migrate', base);
    expect(apply.exitCode).toBe(0);
    writeFileSync(
      join(dir, '2_index.sql'),
      "SET lock_timeout = '2s';\n\nCREATE INDEX lint_users_email_idx ON lint_users (email);\n",
    );
    const lint = await runBundledAction('migrate', { ...base, command: 'lint' });
    expect(lint.exitCode).toBe(1);
    expect(lint.outputs['lint-findings']).toBe('1');
    expect(lint.annotations[0]).toMatchObject({
      level: 'error',
      file: join(dir, '2_index.sql'),
      line: 3,
      title: 'require-concurrent-index-creation',
    });
    expect(lint.summary).toContain('require-concurrent-index-creation');
    const never = await runBundledAction('migrate', {
      ...base,
      command: 'lint',
      'fail-on': 'never',
    });
    expect(never.exitCode).toBe(0);
    expect(everything(lint) + everything(never)).not.toContain(PASSWORD);
  } finally {
    removeDir(dir);
  }
});

it('lint runs without database-url, linting every file', async () => {
  const run = await runBundledAction('migrate', {
    command: 'lint',
    dir: 'examples/paket7/migrations',
    'fail-on': 'never',
  });
  expect(run.exitCode).toBe(0);
  expect(run.annotations.filter((a) => /database-url/.test(a.message))).toEqual([]);
  expect(run.outputs['lint-findings']).toBe('0');
  expect(run.summary).toMatch(/\d+ file\(s\) linted, 0 finding\(s\)/);
  expect(run.summary).toContain('No findings.');
});

it('takes lock-wait as a duration (500ms, 2m) or plain seconds, and names a bad one', async () => {
  const dir = migrationsDir({ '1_lock_wait.sql': 'CREATE TABLE lock_wait_probe (id int);\n' });
  const base = { 'database-url': url, dir, 'history-table': 'ops.lock_wait_history' };
  const holder = new pg.Client({ connectionString: url, application_name: 'other-release' });
  await holder.connect();
  try {
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [
      lockKey('runbook-migrate ops.lock_wait_history'),
    ]);
    for (const wait of ['500ms', '0.5']) {
      const run = await runBundledAction('migrate', { ...base, 'lock-wait': wait });
      expect(run.exitCode).toBe(1);
      expect(run.annotations[0].message).toMatch(
        /locked by another session \(pid \d+, application_name 'other-release'\)/,
      );
    }
    await holder.query('SELECT pg_advisory_unlock_all()');
    const ok = await runBundledAction('migrate', { ...base, 'lock-wait': '2m' });
    expect(ok.exitCode).toBe(0);
    expect(ok.outputs['applied-count']).toBe('1');

    const bad = await runBundledAction('migrate', { ...base, 'lock-wait': 'soon' });
    expect(bad.exitCode).toBe(1);
    expect(bad.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
    expect(bad.annotations[0].message).toMatch(/^input 'lock-wait': .*'soon' is not a duration/);
  } finally {
    await holder.end();
    removeDir(dir);
  }
});

it('names ca-cert when it points at a file that does not exist', async () => {
  const run = await runBundledAction('migrate', {
    'database-url': url,
    dir: 'examples/paket7/migrations',
    'ca-cert': 'certs/rds-global-bundle.pem',
  });
  expect(run.exitCode).toBe(1);
  const errors = run.annotations.filter((a) => a.level === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0].message).toMatch(/^input 'ca-cert': 'certs\/rds-global-bundle.pem' is neither/);
  expect(everything(run)).not.toContain(PASSWORD);
});

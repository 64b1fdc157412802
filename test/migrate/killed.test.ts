/**
 * A migration run killed in the middle of a file (SIGKILL of the `runbook migrate apply`
 * process while its file's transaction is open) leaves no partial change, and the next run
 * completes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { silentLogger } from '../../src/errors.js';
import { applyMigrations } from '../../src/migrate/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('killed');
  dir = migrationsDir({
    '1_first.sql': 'CREATE TABLE blocker (id int);\nCREATE TABLE first (id int);\n',
  });
});
afterAll(async () => {
  await db.dispose();
  removeDir(dir);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('leaves no partial change when the runner is killed mid-file, and the next run completes', async () => {
  // Apply file 1 so that `blocker` exists, then hold a lock on it so file 2 stops halfway.
  await applyMigrations(
    { databaseUrl: db.url, dir, runInfo: { actor: 't', via: 'cli' } },
    silentLogger,
  );
  writeFileSync(
    join(dir, '2_second.sql'),
    'CREATE TABLE second (id int);\nINSERT INTO second VALUES (1);\nINSERT INTO blocker VALUES (1);\nCREATE TABLE third (id int);\n',
  );

  const blocker = new pg.Client(db.url);
  await blocker.connect();
  await blocker.query('BEGIN; LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE');
  // A separate session watches pg_stat_activity (a transaction keeps one stats snapshot).
  const watcher = new pg.Client(db.url);
  await watcher.connect();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'migrate', 'apply', '--dir', dir, '--lock-timeout', '0'],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: db.url } },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    // Wait until the runner's backend is blocked inside file 2 (after CREATE TABLE second).
    let pid: number | undefined;
    for (let i = 0; i < 400 && !pid; i++) {
      const r = await watcher.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'runbook-migrate' AND wait_event_type = 'Lock'`,
      );
      pid = r.rows[0]?.pid;
      if (!pid) await sleep(50);
    }
    if (!pid) throw new Error(`the runner never blocked inside file 2:\n${output}`);
    child.kill('SIGKILL');
    await exited;
    // The backend notices the dead client (client_connection_check_interval); a crashed runner
    // host would be dropped by TCP keepalive instead, so fall back to terminating it.
    let gone = false;
    for (let i = 0; i < 60 && !gone; i++) {
      const r = await watcher.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      gone = r.rowCount === 0;
      if (!gone) await sleep(100);
    }
    if (!gone) await watcher.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await blocker.query('ROLLBACK');
    await blocker.end();
    await watcher.end();
  }

  const state = await withClient(db.url, async (c) => ({
    second: (await c.query(`SELECT to_regclass('second') IS NOT NULL AS ok`)).rows[0].ok,
    blockerRows: (await c.query('SELECT count(*)::int AS n FROM blocker')).rows[0].n,
    versions: (
      await c.query('SELECT version FROM runbook.schema_migrations ORDER BY version')
    ).rows.map((r) => r.version),
  }));
  expect(state).toEqual({ second: false, blockerRows: 0, versions: ['1'] });

  const res = await applyMigrations(
    { databaseUrl: db.url, dir, runInfo: { actor: 't', via: 'cli' } },
    silentLogger,
  );
  expect(res.applied).toEqual(['2']);
  const after = await withClient(db.url, async (c) => ({
    third: (await c.query(`SELECT to_regclass('third') IS NOT NULL AS ok`)).rows[0].ok,
    second: (await c.query('SELECT count(*)::int AS n FROM second')).rows[0].n,
  }));
  expect(after).toEqual({ third: true, second: 1 });
});

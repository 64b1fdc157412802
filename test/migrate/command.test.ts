/**
 * runMigrateCommand: the dispatch shared by the migrate action and `runbook migrate`, against the
 * run's real PostgreSQL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  isMigrateCommand,
  MigrationFailedError,
  MigrationRefusedError,
  runMigrateCommand,
  type MigrateCommandOptions,
} from '../../src/migrate/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

let db: TestDatabase;
const dirs: string[] = [];
const dirOf = (files: Record<string, string>) => {
  const d = migrationsDir(files);
  dirs.push(d);
  return d;
};
beforeAll(async () => (db = await freshDatabase('migrate_command')));
afterAll(async () => {
  await db.dispose();
  for (const d of dirs) removeDir(d);
});

const opts = (dir: string, extra: Partial<MigrateCommandOptions> = {}): MigrateCommandOptions => ({
  databaseUrl: db.url,
  dir,
  historyTable: `runbook.cmd_${dirs.length}`,
  lockWaitMs: 5000,
  retries: 0,
  ...extra,
});

it('plan, apply, status and verify return the result and its summary; verify problems are a failure', async () => {
  const dir = dirOf({ '1_a.sql': 'CREATE TABLE cmd_a (id int);\n' });
  const plan = await runMigrateCommand('plan', opts(dir), silentLogger);
  expect(plan.failure).toBeUndefined();
  expect(plan.result?.pending).toEqual(['1']);
  expect(plan.summary).toContain('Database migrations');

  const apply = await runMigrateCommand('apply', opts(dir), silentLogger);
  expect(apply.command).toBe('apply');
  expect(apply.failure).toBeUndefined();
  expect(apply.lint).toBeUndefined();
  expect(apply.result?.applied).toEqual(['1']);
  expect(apply.result?.pending).toEqual([]);

  expect((await runMigrateCommand('status', opts(dir), silentLogger)).result?.rows).toHaveLength(1);
  expect((await runMigrateCommand('verify', opts(dir), silentLogger)).failure).toBeUndefined();

  writeFileSync(join(dir, '1_a.sql'), 'CREATE TABLE cmd_a (id bigint);\n');
  const verify = await runMigrateCommand('verify', opts(dir), silentLogger);
  expect(verify.failure?.kind).toBe('verify');
  expect(verify.failure?.error).toBeInstanceOf(ConfigError);
  expect(verify.failure?.error.message).toMatch(
    /^verify found 1 problem\(s\): .*1_a\.sql was changed/,
  );
  expect(verify.result?.rows[0].state).toBe('checksum changed');
  expect(verify.summary).toMatch(/\| 1 \| a \| .* \| ❌ checksum changed \|/);

  // apply refuses the changed file: the engine's error, nothing applied, and a summary that
  // shows which file made it refuse and why
  writeFileSync(join(dir, '2_b.sql'), 'CREATE TABLE cmd_b (id int);\n');
  const refused = await runMigrateCommand('apply', opts(dir), silentLogger);
  expect(refused.failure?.kind).toBe('refused');
  expect(refused.failure?.error).toBeInstanceOf(MigrationRefusedError);
  expect(refused.result?.applied).toEqual([]);
  expect(refused.result?.pending).toEqual(['2']);
  expect(refused.summary).toMatch(/0 applied by this run · 1 pending · 1 problem\(s\)/);
  expect(refused.summary).toMatch(/\| 1 \| a \| .* \| ❌ checksum changed \|/);
  expect(refused.summary).toMatch(/\| 2 \| b \| {2}\| ⏳ pending \|/);
  expect(refused.summary).toMatch(
    /\*\*Problems\*\*\n\n- 1_a\.sql was changed after it was applied: checksum on disk [0-9a-f]{64}, applied [0-9a-f]{64}/,
  );
  expect(
    await withClient(
      db.url,
      async (c) => (await c.query(`SELECT to_regclass('cmd_b') AS t`)).rows[0].t,
    ),
  ).toBeNull();
});

it('a failed migration returns the state at the failure: applied, pending with the failed file, summary', async () => {
  const dir = dirOf({
    '1_ok.sql': 'CREATE TABLE cmd_ok (id int);',
    '2_bad.sql': 'INSERT INTO cmd_missing VALUES (1);',
    '3_later.sql': 'CREATE TABLE cmd_later (id int);',
  });
  const r = await runMigrateCommand('apply', opts(dir), silentLogger);
  expect(r.failure?.kind).toBe('failed');
  expect(r.failure?.error).toBeInstanceOf(MigrationFailedError);
  expect(r.failure?.error.location?.file).toBe(join(dir, '2_bad.sql'));
  expect(r.result?.applied).toEqual(['1']);
  expect(r.result?.pending).toEqual(['2', '3']);
  expect(r.result?.problems).toEqual([r.failure?.error.message]);
  expect(r.summary).toContain('cmd_missing');
});

it('lint: findings at or above fail-on are a failure naming fail-on; the URL is optional', async () => {
  const dir = dirOf({ '1_idx.sql': 'CREATE INDEX users_email_idx ON users (email);\n' });
  const log = recordingLogger();
  const r = await runMigrateCommand(
    'lint',
    { dir, databaseUrl: '', failOn: 'error', logFindings: false },
    log,
  );
  expect(r.result).toBeUndefined();
  expect(r.lint?.findings.map((f) => f.rule)).toContain('require-concurrent-index-creation');
  expect(r.summary).toContain('require-concurrent-index-creation');
  expect(r.failure?.kind).toBe('lint');
  expect(r.failure?.error.message).toBe(
    `input 'fail-on': lint found ${r.lint!.findings.length} finding(s) at or above fail-on 'error'`,
  );
  expect(log.lines.join('\n')).not.toContain('require-concurrent-index-creation');
  const never = await runMigrateCommand(
    'lint',
    { dir, databaseUrl: '', failOn: 'never' },
    silentLogger,
  );
  expect(never.failure).toBeUndefined();
});

it('baseline needs a version of digits; unknown commands are told apart', async () => {
  const dir = dirOf({ '1_a.sql': 'CREATE TABLE cmd_b (id int);' });
  await expect(runMigrateCommand('baseline', opts(dir), silentLogger)).rejects.toThrow(
    "input 'baseline-version': expected a migration version (digits), got ''",
  );
  const r = await runMigrateCommand('baseline', opts(dir, { baselineVersion: '1' }), silentLogger);
  expect(r.result?.baselined).toEqual(['1']);
  expect(isMigrateCommand('apply')).toBe(true);
  expect(isMigrateCommand('migrate-all')).toBe(false);
  expect(isMigrateCommand(undefined)).toBe(false);
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, recordingLogger } from '../../src/errors.js';
import { command } from '../../src/migrate/cli.js';
import { main } from '../../src/cli.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await freshDatabase('cli');
  dir = migrationsDir({ '1_a.sql': 'CREATE TABLE cli_a (id int);\n' });
});
afterAll(async () => {
  await db.dispose();
  removeDir(dir);
});

it('plans, applies, shows status and verifies with exit codes', async () => {
  const url = ['--database-url', db.url, '--dir', dir];
  const log = recordingLogger();
  expect(await command.run(['plan', ...url], log)).toBe(0);
  expect(log.lines).toContain('pending 1_a.sql: 1 statement(s), runs as one transaction');
  expect(await command.run(['apply', ...url], log)).toBe(0);
  expect(await command.run(['status', ...url], log)).toBe(0);
  expect(log.lines.at(-1)).toMatch(
    /^VERSION\s+NAME\s+DURATION\s+STATUS\n1\s+a\s+\d+ ms\s+already applied$/,
  );
  writeFileSync(join(dir, '1_a.sql'), 'CREATE TABLE cli_a (id bigint);\n');
  expect(await command.run(['verify', ...url], log)).toBe(1);
  expect(await command.run(['apply', ...url], log)).toBe(1);
  expect(log.lines.at(-1)).toMatch(
    /^error: .*1_a\.sql: refusing to migrate: 1_a\.sql was changed after it was applied/,
  );
  expect(log.lines.join('\n')).not.toContain(new URL(db.url).password);
});

it('reports usage errors as ConfigError (exit code 2 from the runbook command)', async () => {
  const saved = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  try {
    await expect(command.run(['apply', '--dir', dir], recordingLogger())).rejects.toThrow(
      ConfigError,
    );
    await expect(command.run(['migrate-all'], recordingLogger())).rejects.toThrow(
      /unknown migrate command/,
    );
    expect(await main(['migrate', 'apply', '--dir', dir])).toBe(2);
  } finally {
    if (saved !== undefined) process.env.DATABASE_URL = saved;
  }
  // lint needs no database
  expect(
    await command.run(['lint', '--dir', 'examples/paket7/migrations'], recordingLogger()),
  ).toBe(0);
});

it('takes --format, --placeholder, --target and rollback --steps', async () => {
  const fdb = await freshDatabase('cli_fw');
  const fdir = migrationsDir({
    'V1__t.sql': 'CREATE TABLE ${name} (id int);',
    'U1__t.sql': 'DROP TABLE ${name};',
    'V2__u.sql': 'ALTER TABLE ${name} ADD COLUMN u int;',
    'U2__u.sql': 'ALTER TABLE ${name} DROP COLUMN u;',
  });
  try {
    const base = ['--database-url', fdb.url, '--dir', fdir, '--placeholder', 'name=cli_fw'];
    const log = recordingLogger();
    expect(await command.run(['apply', ...base, '--format', 'flyway', '--target', '1'], log)).toBe(
      0,
    );
    expect(log.lines.filter((l) => l.startsWith('applied '))).toEqual([
      expect.stringMatching(/^applied V1__t\.sql \(\d+ ms\)$/),
    ]);
    expect(await command.run(['apply', ...base], log)).toBe(0);
    expect(await command.run(['rollback', ...base, '--steps', '2'], log)).toBe(0);
    expect(log.lines.at(-1)).toMatch(
      /^VERSION\s+NAME\s+DURATION\s+STATUS\n1\s+t\s+rolled back\n2\s+u\s+rolled back$/,
    );
    await expect(command.run(['status', ...base, '--format', 'liquibase'], log)).rejects.toThrow(
      /input '--format': expected one of auto, runbook, flyway/,
    );
  } finally {
    removeDir(fdir);
    await fdb.dispose();
  }
});

/**
 * `runbook backfill ...` in-process: generate, analyze, verify before and after execute (exit
 * codes), and usage errors.
 */
import { command } from '../../src/backfill/cli.js';
import { ConfigError, recordingLogger } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { applyPaket7Schema, exampleSpec } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase('backfill_cli');
  await applyPaket7Schema(db.url);
});
afterAll(async () => db.dispose());

it('generate → analyze → verify (exit 1) → execute → verify (exit 0)', async () => {
  const log = recordingLogger();
  const run = (...args: string[]) => command.run([...args, '--database-url', db.url], log);
  expect(await run('generate', '--users', '400')).toBe(0);
  const users = await withClient(db.url, (c) => c.query('SELECT count(*) AS n FROM "user"'));
  expect(users.rows[0].n).toBe('400');
  await expect(run('generate', '--users', '400')).rejects.toThrow(/already has rows/);

  expect(await run('analyze', '--spec', exampleSpec)).toBe(0);
  expect(await run('analyze', '--spec', exampleSpec, '--fail-on-checks')).toBe(1);
  expect(log.lines.join('\n')).toMatch(/total database operations planned:\s+[1-9]\d*/);
  expect(await run('verify', '--spec', exampleSpec)).toBe(1);
  expect(await run('execute', '--spec', exampleSpec, '--batch-size', '50')).toBe(0);
  expect(await run('verify', '--spec', exampleSpec)).toBe(0);
  expect(log.lines.join('\n')).toMatch(/verify passed/);
});

it('usage errors are ConfigErrors naming the flag', async () => {
  const log = recordingLogger();
  await expect(command.run(['analyze', '--database-url', db.url], log)).rejects.toThrow(
    "input '--spec': is required",
  );
  await expect(
    command.run(['explode', '--spec', exampleSpec, '--database-url', db.url], log),
  ).rejects.toThrow(ConfigError);
  await expect(
    command.run(
      ['execute', '--spec', exampleSpec, '--database-url', db.url, '--batch-size', '0'],
      log,
    ),
  ).rejects.toThrow("input '--batch-size': expected a positive integer");
  // Refused without echoing the URL, so the password cannot appear.
  const wrong = command.run(
    ['analyze', '--spec', exampleSpec, '--database-url', 'mysql://u:hunter2@h/db'],
    log,
  );
  await expect(wrong).rejects.toThrow(
    /expected a postgres:\/\/ or postgresql:\/\/ URL, got 'mysql:\/\/'/,
  );
  await expect(wrong).rejects.not.toThrow(/hunter2/);
});

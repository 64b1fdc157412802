/**
 * A backfill killed with SIGKILL mid-run (the CLI in a child process) resumes from its
 * checkpoint: same run, every source row counted exactly once, no duplicate rows, and the same
 * result as an uninterrupted run (checked against an independent computation of the rule).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  analyzeBackfill,
  executeBackfill,
  generatePaket7Data,
  verifyBackfill,
} from '../../src/backfill/index.js';
import { recordingLogger, silentLogger, sleep } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { applyPaket7Schema, exampleSpec, limitChecksums, root } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase('backfill_kill');
  await applyPaket7Schema(db.url);
  await generatePaket7Data({ databaseUrl: db.url, users: 3000 }, silentLogger);
});
afterAll(async () => db.dispose());

it('resumes after SIGKILL with the same result and no duplicate rows', async () => {
  const plan = await analyzeBackfill({ spec: exampleSpec, databaseUrl: db.url }, silentLogger);
  const statsBefore = await withClient(db.url, (c) =>
    c.query('SELECT count(*) AS n FROM user_stats'),
  );

  const child = spawn(
    process.execPath,
    [
      // One process (tsx as a loader, not its CLI, which would run the script in a grandchild).
      '--import',
      'tsx',
      join(root, 'src/cli.ts'),
      'backfill',
      'execute',
      '--spec',
      exampleSpec,
      '--database-url',
      db.url,
      '--batch-size',
      '40',
      '--pause',
      '50ms',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));

  // Kill it once a few batches have committed.
  let batches = 0;
  for (let i = 0; i < 600 && batches < 4; i++) {
    await sleep(50);
    batches = await withClient(db.url, async (c) => {
      const r = await c.query(
        `SELECT coalesce(max(batches), 0) AS b FROM pg_tables t
           LEFT JOIN LATERAL (SELECT batches FROM runbook.backfill_runs) r ON true
          WHERE t.schemaname = 'runbook' AND t.tablename = 'backfill_runs'`,
      );
      return Number(r.rows[0]?.b ?? 0);
    }).catch(() => 0);
  }
  expect(batches).toBeGreaterThanOrEqual(4);
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const killed = await withClient(db.url, (c) =>
    c.query('SELECT id, status, last_key, batches, rows_seen FROM runbook.backfill_runs'),
  );
  expect(killed.rows).toHaveLength(1);
  expect(killed.rows[0].status).toBe('running'); // nobody could mark it: it was killed
  expect(Number(killed.rows[0].rows_seen)).toBeLessThan(plan.sourceRows);
  expect(killed.rows[0].last_key).toHaveLength(1);
  expect(output).toMatch(/Run #\d+ of 'usage-limits'/);

  // The killed session's advisory lock goes with its connection; allow the server a moment.
  const log = recordingLogger();
  const resumed = await executeBackfill(
    { spec: exampleSpec, databaseUrl: db.url, batchSize: 500, lockWaitMs: 10_000 },
    log,
  );
  expect(log.lines.join('\n')).toMatch(/Resuming run #\d+ of 'usage-limits' \(running\) after key/);
  expect(resumed).toMatchObject({ resumed: true });
  expect(resumed.runId).toBe(Number(killed.rows[0].id));
  expect(resumed.resumedFrom).toEqual(killed.rows[0].last_key);
  expect(resumed.status).toBe('completed');
  // Every source row was walked exactly once across the two processes.
  expect(resumed.rowsSeen).toBe(plan.sourceRows);
  expect(resumed.inserted).toBe(plan.toCreate);
  expect(resumed.updated).toBe(plan.toUpdate);

  const stats = await withClient(db.url, (c) =>
    c.query('SELECT count(*) AS n, count(DISTINCT user_id) AS d FROM user_stats'),
  );
  expect(Number(stats.rows[0].n)).toBe(Number(statsBefore.rows[0].n) + plan.toCreate);
  expect(stats.rows[0].d).toBe(stats.rows[0].n);
  const sums = await limitChecksums(db.url);
  expect(sums.actual).toBe(sums.expected);
  expect(
    (await verifyBackfill({ spec: exampleSpec, databaseUrl: db.url }, silentLogger)).verified,
  ).toBe(true);
});

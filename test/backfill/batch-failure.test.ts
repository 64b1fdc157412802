/**
 * A batch that fails part-way through a run (here a CHECK constraint the source violates at
 * key 17): the error names the batch, its key range, the SQLSTATE, what the earlier batches
 * committed and how to resume, and points at the spec's source; the checkpoint keeps the earlier
 * batches, and after the data is fixed the next execute resumes and completes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeBackfill, verifyBackfill } from '../../src/backfill/index.js';
import { ConfigError, silentLogger } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { writeSpec } from './helpers.js';
import { runBundledAction } from '../support/action.js';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('backfill_batch_failure');
  dir = mkdtempSync(join(tmpdir(), 'bf-fail-'));
  await withClient(db.url, (c) =>
    c.query(`
      CREATE TABLE reading (id integer PRIMARY KEY, value integer NOT NULL);
      INSERT INTO reading SELECT i, CASE WHEN i = 17 THEN -1 ELSE i END FROM generate_series(1, 30) AS i;
      CREATE TABLE reading_copy (id integer PRIMARY KEY, value integer NOT NULL CHECK (value >= 0));`),
  );
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.dispose();
});

it('names the failing batch and what is committed; the next execute resumes after the fix', async () => {
  const spec = writeSpec(
    dir,
    'copy.yml',
    `name: reading-copy
target:
  table: reading_copy
  key: id
  columns: [value]
source: SELECT id, value FROM reading
batch-size: 5
throttle:
  max-batch-duration: 60s
  target-batch-duration: 60s
`,
  );
  const e = await executeBackfill(
    { spec, databaseUrl: db.url, pauseMs: 0, lockRetries: 0 },
    silentLogger,
  ).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ConfigError);
  const err = e as ConfigError & { sqlState?: string };
  expect(err.sqlState).toBe('23514');
  expect(err.message).toMatch(
    /copy\.yml:6: batch 4 \(keys after \["15"\] up to \["20"\]\) failed: new row for relation "reading_copy" violates check constraint .* \[SQLSTATE 23514\]; /,
  );
  expect(err.message).toMatch(
    /3 earlier batch\(es\) of run #\d+ are committed \(15 rows written\); the next execute resumes after \["15"\]/,
  );
  expect(err.location).toMatchObject({ file: spec, line: 6 });
  const copied = await withClient(db.url, async (c) =>
    Number((await c.query('SELECT count(*) AS n FROM reading_copy')).rows[0].n),
  );
  expect(copied).toBe(15);

  await withClient(db.url, (c) => c.query('UPDATE reading SET value = 17 WHERE id = 17'));
  const r = await executeBackfill({ spec, databaseUrl: db.url, pauseMs: 0 }, silentLogger);
  expect(r.resumed).toBe(true);
  expect(r.rowsWritten).toBe(30);
  expect((await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger)).verified).toBe(true);
});

it('the bundled action writes a job summary for a failed batch and one annotation at the source', async () => {
  await withClient(db.url, (c) =>
    c.query(`
      CREATE TABLE meter (id integer PRIMARY KEY, value integer NOT NULL);
      INSERT INTO meter SELECT i, CASE WHEN i = 12 THEN -1 ELSE i END FROM generate_series(1, 20) AS i;
      CREATE TABLE meter_copy (id integer PRIMARY KEY, value integer NOT NULL CHECK (value >= 0));`),
  );
  const spec = writeSpec(
    dir,
    'meter.yml',
    `name: meter-copy
target:
  table: meter_copy
  key: id
  columns: [value]
source: SELECT id, value FROM meter
batch-size: 5
throttle:
  max-batch-duration: 60s
  target-batch-duration: 60s
`,
  );
  const run = await runBundledAction('backfill', {
    command: 'execute',
    spec,
    'database-url': db.url,
  });
  expect(run.exitCode).toBe(1);
  expect(run.summary).toContain('## Backfill meter-copy: execute failed');
  expect(run.summary).toMatch(/\| Failed batch key range \| after `\["10"\]` up to `\["15"\]` \|/);
  expect(run.summary).toContain('| SQLSTATE | `23514` |');
  expect(run.summary).toMatch(
    /2 earlier batch\(es\) of run #\d+ are committed \(10 rows written\)/,
  );
  const errors = run.annotations.filter((a) => a.level === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ line: 6 });
});

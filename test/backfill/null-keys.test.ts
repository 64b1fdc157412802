/**
 * A source that yields rows with a NULL key (e.g. a LEFT JOIN that finds no owner): keyset
 * ranges `(lo, hi]` can never hold such a row, so analyze reports them at the spec's source,
 * execute refuses before writing anything, and a batch boundary is never a NULL key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeBackfill, executeBackfill } from '../../src/backfill/index.js';
import { analyzeMarkdown } from '../../src/backfill/report.js';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { writeSpec } from './helpers.js';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('backfill_null_keys');
  dir = mkdtempSync(join(tmpdir(), 'bf-null-'));
  await withClient(db.url, (c) =>
    c.query(`
      CREATE TABLE account (id integer PRIMARY KEY);
      INSERT INTO account SELECT generate_series(1, 20);
      -- Orders 1..25; orders 21..25 belong to no account.
      CREATE TABLE orders (id integer PRIMARY KEY, account_id integer, total integer NOT NULL);
      INSERT INTO orders SELECT i, CASE WHEN i <= 20 THEN i END, i * 10 FROM generate_series(1, 25) AS i;
      CREATE TABLE account_total (account_id integer PRIMARY KEY, total bigint NOT NULL);`),
  );
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.dispose();
});

function spec(): string {
  return writeSpec(
    dir,
    'totals.yml',
    `name: account-totals
target:
  table: account_total
  key: account_id
  columns: [total]
source: |
  SELECT a.id AS account_id, o.total FROM orders o LEFT JOIN account a ON a.id = o.account_id
batch-size: 4
throttle:
  max-batch-duration: 60s
  target-batch-duration: 60s
`,
  );
}

const targetRows = () =>
  withClient(db.url, async (c) =>
    Number((await c.query('SELECT count(*) AS n FROM account_total')).rows[0].n),
  );

it('analyze counts the rows with a NULL key and warns at the source line', async () => {
  const log = recordingLogger();
  const r = await analyzeBackfill({ spec: spec(), databaseUrl: db.url }, log);
  expect(r.nullKeys).toBe(5);
  const w = log.lines.find((l) => l.startsWith('warning:') && /NULL key/.test(l));
  expect(w).toMatch(/5 source row\(s\) have a NULL key \(account_id\)/);
  expect(w).toMatch(/totals\.yml:6/);
  expect(analyzeMarkdown(r)).toMatch(
    /Source rows with a NULL key \| ⚠️ 5 \(execute refuses to run\)/,
  );
});

it('execute refuses a source with NULL keys before writing anything', async () => {
  const e = await executeBackfill({ spec: spec(), databaseUrl: db.url }, silentLogger).catch(
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConfigError);
  expect((e as ConfigError).message).toMatch(/5 source row\(s\) have a NULL key \(account_id\)/);
  expect((e as ConfigError).location).toMatchObject({ line: 6 });
  expect(await targetRows()).toBe(0);
});

it('execute writes every row once the source filters NULL keys out', async () => {
  const file = writeSpec(
    dir,
    'totals-ok.yml',
    `name: account-totals
target:
  table: account_total
  key: account_id
  columns: [total]
source: |
  SELECT a.id AS account_id, o.total FROM orders o JOIN account a ON a.id = o.account_id
batch-size: 4
throttle:
  max-batch-duration: 60s
  target-batch-duration: 60s
`,
  );
  const r = await executeBackfill({ spec: file, databaseUrl: db.url, pauseMs: 0 }, silentLogger);
  expect(r.inserted).toBe(20);
  expect(await targetRows()).toBe(20);
});

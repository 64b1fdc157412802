/**
 * Spec features beyond the example's upsert: `update` and `insert` modes, a composite
 * (two-column) key end to end, and the batch that shrinks when one batch exceeds
 * `throttle.max-batch-duration`. Small self-contained tables on a real PostgreSQL; no timed
 * assertions (the slow batch is made slow with `pg_sleep` and checked through row counts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  analyzeBackfill,
  dryRunBackfill,
  executeBackfill,
  verifyBackfill,
} from '../../src/backfill/index.js';
import { recordingLogger, silentLogger } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { writeSpec } from './helpers.js';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('backfill_modes');
  dir = mkdtempSync(join(tmpdir(), 'bf-modes-'));
  await withClient(db.url, (c) =>
    c.query(`
      CREATE TABLE price (sku integer PRIMARY KEY, cents integer NOT NULL, currency text NOT NULL);
      INSERT INTO price SELECT i, i * 100 + 99, CASE WHEN i % 2 = 0 THEN 'EUR' ELSE 'USD' END
        FROM generate_series(1, 60) AS i;
      CREATE TABLE catalog (
        sku       integer PRIMARY KEY,
        amount    numeric(10, 2),
        currency  text,
        synced_at timestamptz,
        note      text
      );

      CREATE TABLE event (id serial PRIMARY KEY, org_id text NOT NULL, at timestamptz NOT NULL);
      -- 7 organizations × 12 months, a different number of events in each month.
      INSERT INTO event (org_id, at)
      SELECT 'org-' || o, make_timestamptz(2026, m, 1 + (e % 27), 12, 0, 0, 'UTC')
        FROM generate_series(1, 7) AS o, generate_series(1, 12) AS m,
             LATERAL generate_series(1, 1 + (o * m) % 5) AS e;
      CREATE TABLE org_month (
        org_id      text NOT NULL,
        month       date NOT NULL,
        calls       bigint NOT NULL DEFAULT 0,
        computed_at timestamptz,
        PRIMARY KEY (org_id, month)
      );

      CREATE TABLE item (id integer PRIMARY KEY);
      INSERT INTO item SELECT generate_series(1, 300);
      CREATE TABLE item_double (id integer PRIMARY KEY, v integer NOT NULL);`),
  );
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.dispose();
});

/** md5 of every row of `table`, ordered. */
async function tableChecksum(table: string): Promise<string> {
  return withClient(db.url, async (c) => {
    const r = await c.query(
      `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${table} x`,
    );
    return r.rows[0].h;
  });
}

/**
 * Resets `catalog`: of the 60 prices, sku % 3 = 0 is missing, sku % 3 = 1 differs (old amount,
 * a note), sku % 3 = 2 already equals the source; sku 1000 is not in the source at all.
 * Missing and differing rows interleave, so a sample limited to N rows must still find N rows of
 * the kind the mode writes.
 */
async function resetCatalog(): Promise<void> {
  await withClient(db.url, (c) =>
    c.query(`
      TRUNCATE catalog;
      INSERT INTO catalog (sku, amount, currency, note)
      SELECT sku, CASE WHEN sku % 3 = 1 THEN 1 ELSE cents / 100.0 END, currency,
             CASE WHEN sku % 3 = 1 THEN 'old price' END
        FROM price WHERE sku % 3 <> 0;
      INSERT INTO catalog (sku, amount, currency, note) VALUES (1000, 9.99, 'USD', 'not in source');
      DROP SCHEMA IF EXISTS runbook CASCADE;`),
  );
}

function catalogSpec(mode: 'update' | 'insert'): string {
  return writeSpec(
    dir,
    `catalog-${mode}.yml`,
    `name: catalog-${mode}
target:
  table: catalog
  key: sku
  columns: [amount, currency]
  set-on-write:
    synced_at: now()
mode: ${mode}
source: |
  SELECT sku, cents / 100.0 AS amount, currency FROM price
batch-size: 7
# Batch sizes must not depend on this machine's speed here.
throttle:
  max-batch-duration: 60s
  target-batch-duration: 60s
`,
  );
}

/** sku → row of catalog. */
async function catalog(): Promise<Map<number, Record<string, unknown>>> {
  const r = await withClient(db.url, (c) =>
    c.query(
      `SELECT sku, amount::float8 AS amount, currency, synced_at IS NOT NULL AS synced, note FROM catalog`,
    ),
  );
  return new Map(r.rows.map((row) => [row.sku as number, row]));
}

const price = (sku: number) => (sku * 100 + 99) / 100;

describe('update mode', () => {
  it('updates differing rows only: missing rows stay missing, equal rows are not rewritten', async () => {
    await resetCatalog();
    const spec = catalogSpec('update');
    const plan = await analyzeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(plan).toMatchObject({
      mode: 'update',
      sourceRows: 60,
      toCreate: 0,
      toUpdate: 20,
      unchanged: 20,
      skipped: 20,
      totalOperations: 20,
    });

    const dry = await dryRunBackfill({ spec, databaseUrl: db.url, sampleSize: 5 }, silentLogger);
    // The sample holds 5 rows this mode updates, even though missing rows come between them.
    expect(dry.sample.map((d) => d.key)).toEqual([['1'], ['4'], ['7'], ['10'], ['13']]);
    expect(dry.sample[0]).toEqual({
      key: ['1'],
      before: { amount: 1, currency: 'USD' },
      after: { amount: 1.99, currency: 'USD' },
    });
    expect(dry.firstBatch).toMatchObject({ seen: 7, inserted: 0, updated: 3 });

    const r = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(r).toMatchObject({ status: 'completed', inserted: 0, updated: 20, rowsSeen: 60 });
    expect(r.batches).toBeGreaterThanOrEqual(9); // 60 rows, at most 7 per batch
    const rows = await catalog();
    for (let sku = 1; sku <= 60; sku++) {
      const row = rows.get(sku);
      if (sku % 3 === 0) expect(row).toBeUndefined();
      else if (sku % 3 === 1)
        expect(row).toMatchObject({ amount: price(sku), synced: true, note: 'old price' });
      else expect(row).toMatchObject({ amount: price(sku), synced: false, note: null });
    }
    expect(rows.get(1000)).toMatchObject({ amount: 9.99, synced: false });

    const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(v).toMatchObject({ verified: true, toCreate: 0, toUpdate: 0, skipped: 20 });
    expect(v.differences).toEqual([]);

    const before = await tableChecksum('catalog');
    const again = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(again).toMatchObject({ rowsWritten: 0, unchanged: 60 });
    expect(await tableChecksum('catalog')).toBe(before);
  });

  it('verify names the first updatable keys after drift, not the missing ones', async () => {
    const spec = catalogSpec('update');
    await withClient(db.url, (c) =>
      c.query(`UPDATE catalog SET amount = 0 WHERE sku IN (40, 50, 52)`),
    );
    const v = await verifyBackfill({ spec, databaseUrl: db.url, sampleSize: 2 }, silentLogger);
    expect(v).toMatchObject({ verified: false, toUpdate: 3 });
    expect(v.differences.map((d) => d.key)).toEqual([['40'], ['50']]);
  });
});

describe('insert mode', () => {
  it('creates missing rows only: differing rows keep their values', async () => {
    await resetCatalog();
    const spec = catalogSpec('insert');
    const plan = await analyzeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(plan).toMatchObject({
      mode: 'insert',
      sourceRows: 60,
      toCreate: 20,
      toUpdate: 0,
      unchanged: 20,
      skipped: 20,
      totalOperations: 20,
    });

    const dry = await dryRunBackfill({ spec, databaseUrl: db.url, sampleSize: 5 }, silentLogger);
    expect(dry.sample.map((d) => d.key)).toEqual([['3'], ['6'], ['9'], ['12'], ['15']]);
    expect(dry.sample.every((d) => d.before === null)).toBe(true);
    expect(dry.firstBatch).toMatchObject({ seen: 7, inserted: 2, updated: 0 });

    const r = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(r).toMatchObject({ status: 'completed', inserted: 20, updated: 0, rowsSeen: 60 });
    const rows = await catalog();
    for (let sku = 1; sku <= 60; sku++) {
      const row = rows.get(sku);
      if (sku % 3 === 0) expect(row).toMatchObject({ amount: price(sku), synced: true });
      else if (sku % 3 === 1) expect(row).toMatchObject({ amount: 1, synced: false });
      else expect(row).toMatchObject({ amount: price(sku), synced: false });
    }

    const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(v).toMatchObject({ verified: true, toCreate: 0, toUpdate: 0, skipped: 20 });

    const before = await tableChecksum('catalog');
    const again = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(again).toMatchObject({ rowsWritten: 0, inserted: 0, updated: 0 });
    expect(await tableChecksum('catalog')).toBe(before);
  });
});

describe('composite key', () => {
  const independent = `
    SELECT md5(string_agg(org_id || '/' || month || '=' || calls, ',' ORDER BY org_id, month)) AS h,
           count(*) AS n
      FROM (SELECT org_id, (date_trunc('month', at AT TIME ZONE 'UTC'))::date AS month, count(*) AS calls
              FROM event GROUP BY 1, 2) x`;
  const target = `
    SELECT md5(string_agg(org_id || '/' || month || '=' || calls, ',' ORDER BY org_id, month)) AS h,
           count(*) AS n
      FROM org_month`;

  it('analyze → execute (paused, resumed) → verify → a second execute writes nothing', async () => {
    await withClient(db.url, (c) =>
      c.query(`
        -- Some rows equal, some differing, the rest missing.
        INSERT INTO org_month (org_id, month, calls)
        SELECT org_id, month, CASE WHEN org_id = 'org-2' THEN calls + 1 ELSE calls END
          FROM (SELECT org_id, (date_trunc('month', at AT TIME ZONE 'UTC'))::date AS month, count(*) AS calls
                  FROM event GROUP BY 1, 2) x
         WHERE org_id IN ('org-1', 'org-2') AND month < '2026-07-01'`),
    );
    const spec = writeSpec(
      dir,
      'org-month.yml',
      `name: org-month-calls
target:
  table: org_month
  key: [org_id, month]
  columns: [calls]
  set-on-write:
    computed_at: now()
source: |
  SELECT org_id, (date_trunc('month', at AT TIME ZONE 'UTC'))::date AS month, count(*) AS calls
    FROM event GROUP BY 1, 2
# 10 rows per batch: boundaries fall inside one organization's months.
batch-size: 10
throttle:
  max-batch-duration: 60s
  target-batch-duration: 60s
`,
    );
    const plan = await analyzeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(plan).toMatchObject({
      sourceRows: 84,
      toCreate: 84 - 12,
      toUpdate: 6,
      unchanged: 6,
      duplicateKeys: [],
    });

    const first = await executeBackfill({ spec, databaseUrl: db.url, maxBatches: 3 }, silentLogger);
    expect(first).toMatchObject({ status: 'paused', batches: 3, rowsSeen: 30 });
    // The checkpoint is the composite key of the 30th row: org-3's 6th month.
    expect(first.lastKey).toEqual(['org-3', '2026-06-01']);

    const log = recordingLogger();
    const second = await executeBackfill({ spec, databaseUrl: db.url }, log);
    expect(second).toMatchObject({
      status: 'completed',
      resumed: true,
      runId: first.runId,
      resumedFrom: ['org-3', '2026-06-01'],
      // Every source row exactly once across both invocations.
      rowsSeen: 84,
      inserted: 72,
      updated: 6,
      unchanged: 6,
    });
    expect(log.lines.join('\n')).toMatch(/54 source row\(s\) to walk after the checkpoint/);

    const [want, got] = await withClient(db.url, async (c) => [
      (await c.query(independent)).rows[0],
      (await c.query(target)).rows[0],
    ]);
    expect(got).toEqual(want);
    expect(Number(got.n)).toBe(84);

    const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(v).toMatchObject({ verified: true, toCreate: 0, toUpdate: 0, sourceRows: 84 });

    const before = await tableChecksum('org_month');
    const again = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(again).toMatchObject({ status: 'completed', resumed: false, rowsWritten: 0 });
    expect(again.rowsSeen).toBe(84);
    expect(await tableChecksum('org_month')).toBe(before);
  });
});

describe('max batch duration', () => {
  it('halves the batch after a batch that takes longer, and never exceeds batch-size', async () => {
    // Key 1 sleeps 400 ms, so the first batch (keys 1..100) always exceeds the 150 ms bound.
    const spec = writeSpec(
      dir,
      'slow.yml',
      `name: slow-first-batch
target:
  table: item_double
  key: id
  columns: [v]
source: |
  SELECT id, id * 2 AS v FROM item WHERE id <> 1 OR pg_sleep(0.4) IS NOT NULL
batch-keys: SELECT id FROM item
batch-size: 100
throttle:
  max-batch-duration: 150ms
`,
    );
    const log = recordingLogger();
    const first = await executeBackfill(
      { spec, databaseUrl: db.url, maxBatches: 2, progressIntervalMs: 0 },
      log,
    );
    // Batch 1: 100 rows (the slow one); batch 2: half of that.
    expect(first).toMatchObject({ status: 'paused', batches: 2, rowsSeen: 150, inserted: 150 });
    expect(first.lastKey).toEqual(['150']);
    const lines = log.lines.join('\n');
    expect(lines).toMatch(/debug: batch 1: 100 rows/);
    expect(lines).toMatch(/debug: batch 2: 50 rows/);
    expect(lines).toMatch(/batch took \d+ ms \(> max batch duration 150 ms\): batch size now 50\n/);
    const run = await withClient(db.url, (c) =>
      c.query(`SELECT batch_size FROM runbook.backfill_runs WHERE id = $1`, [first.runId]),
    );
    expect(run.rows[0].batch_size).toBe(50);

    // The rest, resumed; fast batches grow back, but never past batch-size.
    const rest = recordingLogger();
    const done = await executeBackfill({ spec, databaseUrl: db.url }, rest);
    expect(done).toMatchObject({ status: 'completed', resumed: true, rowsSeen: 300 });
    const sizes = rest.lines
      .map((l) => /^debug: batch \d+: (\d+) rows/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(150);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(v.verified).toBe(true);
  });

  it('a batch-size that is not a multiple of its granule is still an upper bound', async () => {
    await withClient(db.url, (c) => c.query(`TRUNCATE item_double`));
    const spec = writeSpec(
      dir,
      'odd.yml',
      `name: odd-batch-size
target:
  table: item_double
  key: id
  columns: [v]
source: SELECT id, id * 2 AS v FROM item
batch-size: 45
`,
    );
    const log = recordingLogger();
    const r = await executeBackfill({ spec, databaseUrl: db.url }, log);
    expect(r).toMatchObject({ status: 'completed', rowsSeen: 300, inserted: 300 });
    const sizes = log.lines
      .map((l) => /^debug: batch \d+: (\d+) rows/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(45);
  });
});

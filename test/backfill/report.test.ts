/**
 * What a person reads in the job summary: the dry-run and verify samples list only the columns
 * that change (in the spec's column order), a missing row as a new row, and execute's last key
 * as inline code in its table cell.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  analyzeMarkdown,
  dryRunBackfill,
  executeBackfill,
  executeMarkdown,
  verifyBackfill,
  verifyMarkdown,
} from '../../src/backfill/index.js';
import { silentLogger } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { writeSpec } from './helpers.js';

let db: TestDatabase;
let dir: string;
let spec: string;

beforeAll(async () => {
  db = await freshDatabase('backfill_report');
  dir = mkdtempSync(join(tmpdir(), 'bf-report-'));
  await withClient(db.url, (c) =>
    c.query(`
      CREATE TABLE plan (id integer PRIMARY KEY, zone text NOT NULL, quota integer NOT NULL, label text);
      INSERT INTO plan SELECT i, 'eu', i * 10, 'plan ' || i FROM generate_series(1, 3) AS i;
      CREATE TABLE plan_copy (id integer PRIMARY KEY, zone text, quota integer, label text);
      -- 1: only quota differs; 2: equal; 3: missing.
      INSERT INTO plan_copy VALUES (1, 'eu', 5, 'plan 1'), (2, 'eu', 20, 'plan 2');`),
  );
  spec = writeSpec(
    dir,
    'plan-copy.yml',
    `name: plan-copy
target:
  table: plan_copy
  key: id
  columns: [zone, quota, label]
source: SELECT id, zone, quota, label FROM plan
`,
  );
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.dispose();
});

it('dry-run lists only the changed columns, in spec order, and a missing row as a new row', async () => {
  const r = await dryRunBackfill({ spec, databaseUrl: db.url }, silentLogger);
  expect(Object.keys(r.sample[0].after)).toEqual(['zone', 'quota', 'label']);
  const md = analyzeMarkdown(r);
  expect(md).toContain('| Key | Change (before → after) |');
  expect(md).toContain('| 1 | quota: 5 → 10 |');
  expect(md).toContain('| 3 | new row: zone = "eu", quota = 30, label = "plan 3" |');
});

it('verify names the drifted column; execute shows the last key as inline code', async () => {
  const ex = await executeBackfill({ spec, databaseUrl: db.url, pauseMs: 0 }, silentLogger);
  expect(executeMarkdown(ex)).toContain('| Last key | `["3"]` |');
  await withClient(db.url, (c) => c.query(`UPDATE plan_copy SET label = 'renamed' WHERE id = 2`));
  const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
  expect(v.verified).toBe(false);
  expect(verifyMarkdown(v)).toContain('| 2 | label: "renamed" → "plan 2" |');
});

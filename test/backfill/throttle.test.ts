/**
 * Throttling by the database's health and by request: an application session waiting for a lock
 * on the target table pauses the backfill until it is served (recorded as a pause of the run);
 * `backfill pause` holds every partition between batches until `backfill resume`; batch-size
 * control converges on the target duration and does not shrink a batch whose cost is fixed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { executeBackfill, setRunControl } from '../../src/backfill/index.js';
import { BatchSizer } from '../../src/backfill/health.js';
import { recordingLogger, sleep } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { writeSpec } from './helpers.js';

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'bf-throttle-'));
beforeAll(async () => {
  db = await freshDatabase('backfill_throttle');
});
afterAll(async () => db.dispose());

async function table(name: string, rows: number): Promise<string> {
  await withClient(db.url, async (c) => {
    await c.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, v integer NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO ${name} (id) SELECT generate_series(1, $1)`, [rows]);
  });
  return writeSpec(
    dir,
    `${name}.yml`,
    `name: ${name}
target:
  table: ${name}
  key: id
  columns: [v]
source: SELECT id, id::integer AS v FROM generate_series(2, ${rows}) AS id
mode: update
partitions: 2
batch-size: 10
throttle:
  pause: 20ms
  target-batch-duration: 5s
  max-batch-duration: 10s
`,
  );
}

const written = (name: string) =>
  withClient(db.url, (c) =>
    c
      .query(`SELECT count(*) FILTER (WHERE v <> 0) AS n FROM ${name}`)
      .then((r) => Number(r.rows[0].n)),
  );

it('an application session waiting for a lock on the target table pauses the backfill until it is served', async () => {
  const spec = await table('hot', 400);
  const holder = new pg.Client(db.url);
  const waiter = new pg.Client({ connectionString: db.url, application_name: 'app-writer' });
  await holder.connect();
  await waiter.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('UPDATE hot SET v = -1 WHERE id = 1');
    const waiting = waiter.query('UPDATE hot SET v = -2 WHERE id = 1');
    const log = recordingLogger();
    const run = executeBackfill({ spec, databaseUrl: db.url }, log);
    await sleep(1500);
    // Paused: nothing written while the app session waits.
    expect(await written('hot')).toBe(0);
    expect(log.lines.join('\n')).toMatch(
      /pausing: 1 other session\(s\) waiting for locks on hot \(longest \d+\.\d s\) > 0/,
    );
    await holder.query('COMMIT');
    await waiting;
    const r = await run;
    expect(r.status).toBe('completed');
    expect(r.rowsSeen).toBe(399);
    const pause = r.pauses.find((p) => p.kind === 'lock-waiters');
    expect(pause).toBeDefined();
    expect(pause!.totalMs).toBeGreaterThanOrEqual(1000);
    expect(pause!.worst).toMatch(/waiting for locks on hot/);
  } finally {
    await holder.end();
    await waiter.end();
  }
});

it('backfill pause holds every partition between batches until backfill resume', async () => {
  const spec = await table('held', 600);
  const log = recordingLogger();
  const run = executeBackfill({ spec, databaseUrl: db.url }, log);
  while ((await written('held')) < 40) await sleep(30);
  const paused = await withClient(db.url, (c) => setRunControl(c, 'held', 'pause', 'tester'));
  expect(paused).toMatchObject({ status: 'running' });
  await sleep(800);
  const a = await written('held');
  await sleep(700);
  expect(await written('held')).toBe(a);
  expect(a).toBeLessThan(599);
  expect(log.lines.filter((l) => /paused through the checkpoint table/.test(l))).toHaveLength(2);
  await withClient(db.url, (c) => setRunControl(c, 'held', null, 'tester'));
  const r = await run;
  expect(r).toMatchObject({ status: 'completed', rowsSeen: 599 });
  expect(r.pauses.find((p) => p.kind === 'requested')?.count).toBe(2);
  // Nothing left to pause.
  expect(await withClient(db.url, (c) => setRunControl(c, 'held', 'pause', 'x'))).toBeUndefined();
});

describe('batch-size control', () => {
  it('converges on the target duration when cost grows with size', () => {
    const s = new BatchSizer(10_000, 50, 100, 250, 10_000);
    for (let i = 0; i < 12; i++) s.observe(s.size, 2 + s.size * 0.05); // 0.05 ms per row
    expect(s.size).toBeGreaterThan(1800);
    expect(s.size).toBeLessThan(2100);
  });

  it('does not shrink batches whose cost is fixed (it grows them to the bound instead)', () => {
    const s = new BatchSizer(2000, 100, 100, 250, 2000);
    for (let i = 0; i < 12; i++) s.observe(s.size, 300 + (i % 2)); // 300 ms whatever the size
    expect(s.size).toBe(2000);
  });
});

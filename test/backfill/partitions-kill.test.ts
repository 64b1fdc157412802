/**
 * Four partitions, the real CLI SIGKILLed at random moments ten times, then resumed: every row
 * is written exactly once. The spec is a counter (`hits = hits + 1`, `idempotent: false`), so a
 * row lost stays at 0 and a row written twice shows 2; the checkpoint row of each partition is
 * committed with its batch, which is what makes this hold.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeBackfill, readPartitions, verifyBackfill } from '../../src/backfill/index.js';
import { recordingLogger, silentLogger, sleep } from '../../src/errors.js';
import { seededRandom } from '../support/gate-prometheus.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { root, writeSpec } from './helpers.js';

const ROWS = 4000;
let db: TestDatabase;
let spec: string;

beforeAll(async () => {
  db = await freshDatabase('backfill_parts_kill');
  await withClient(db.url, async (c) => {
    await c.query(`CREATE TABLE counter (id bigint PRIMARY KEY, hits integer NOT NULL DEFAULT 0)`);
    // Skewed keys: half dense at the start, half spread wide, so equal-width ranges would be
    // lopsided and quantile partitions are not.
    await c.query(
      `INSERT INTO counter (id) SELECT g FROM generate_series(1, $1 / 2) g
       UNION ALL SELECT 1000000 + g * 997 FROM generate_series(1, $1 / 2) g`,
      [ROWS],
    );
  });
  spec = writeSpec(
    mkdtempSync(join(tmpdir(), 'bf-kill-')),
    'counter.yml',
    `name: counter
target:
  table: counter
  key: id
  columns: [hits]
source: SELECT id, hits + 1 AS hits FROM counter
mode: update
idempotent: false
partitions: 4
batch-size: 25
throttle:
  # Long enough that ten kills (at most 800 ms into each run) land before the work is done,
  # however fast the machine: a whole run takes 40 batches x 250 ms per partition.
  pause: 250ms
  target-batch-duration: 5s
  max-batch-duration: 10s
verify:
  - name: every-row-once
    sql: SELECT id, hits FROM counter WHERE hits <> 1 ORDER BY id
`,
  );
});
afterAll(async () => db.dispose());

function startCli(): {
  exited: Promise<NodeJS.Signals | number | null>;
  firstLine: Promise<void>;
  kill: () => void;
  output: () => string;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures/execute-child.ts'), spec, db.url],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let seen: () => void;
  const firstLine = new Promise<void>((res) => (seen = res));
  const on = (d: Buffer) => {
    out += d;
    if (/Run #\d+|Resuming run/.test(out)) seen();
  };
  child.stdout.on('data', on);
  child.stderr.on('data', on);
  const exited = new Promise<NodeJS.Signals | number | null>((res) =>
    child.on('exit', (code, sig) => {
      seen();
      res(sig ?? code);
    }),
  );
  return { exited, firstLine, kill: () => child.kill('SIGKILL'), output: () => out };
}

it('4 partitions SIGKILLed 10 times resume to a verified result: no row lost, none written twice', async () => {
  const random = seededRandom(14);
  let kills = 0;
  for (let i = 0; i < 10; i++) {
    const cli = startCli();
    await cli.firstLine;
    // From before the partitions start to well into their batches.
    await sleep(Math.floor(random() * 800));
    cli.kill();
    const how = await cli.exited;
    if (how === 'SIGKILL') kills++;
    else throw new Error(`the CLI ended before the kill (${how}):\n${cli.output()}`);
  }
  expect(kills).toBe(10);
  const mid = await withClient(db.url, (c) =>
    c.query(
      `SELECT count(*) FILTER (WHERE hits = 1) AS once, count(*) FILTER (WHERE hits > 1) AS twice FROM counter`,
    ),
  );
  // The kills left work behind, and nothing was applied twice so far.
  expect(Number(mid.rows[0].once)).toBeLessThan(ROWS);
  expect(Number(mid.rows[0].twice)).toBe(0);

  const log = recordingLogger();
  const r = await executeBackfill({ spec, databaseUrl: db.url, lockWaitMs: 15_000 }, log);
  expect(log.lines.join('\n')).toMatch(/Resuming run #\d+ of 'counter'/);
  expect(r).toMatchObject({ status: 'completed', resumed: true, rowsSeen: ROWS, updated: ROWS });
  expect(r.partitions).toHaveLength(4);
  expect(r.partitions.every((p) => p.status === 'completed')).toBe(true);

  const final = await withClient(db.url, (c) =>
    c.query(
      `SELECT count(*) FILTER (WHERE hits = 0) AS lost, count(*) FILTER (WHERE hits > 1) AS twice,
              count(*) AS n FROM counter`,
    ),
  );
  expect(final.rows[0]).toEqual({ lost: '0', twice: '0', n: String(ROWS) });
  // Quantile partitions hold about a quarter of the keys each despite the skew.
  const parts = await withClient(db.url, (c) => readPartitions(c, r.runId));
  for (const p of parts) expect(p.rowsSeen).toBeGreaterThan(ROWS / 4 - 30);
  const runs = await withClient(db.url, (c) =>
    c.query(`SELECT count(*) AS n FROM runbook.backfill_runs`),
  );
  expect(runs.rows[0].n).toBe('1');

  const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
  expect(v.verified).toBe(true);
  expect(v.assertions[0].rows).toBe(0);
}, 180_000);

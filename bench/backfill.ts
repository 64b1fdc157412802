/**
 * `npm run bench:backfill`: the usage-limits backfill over 1,000,000 target rows on the embedded
 * PostgreSQL, three ways, each on an identical copy of the generated data (CREATE DATABASE ...
 * TEMPLATE):
 *
 *   1. the single INSERT ... ON CONFLICT DO UPDATE statement over the whole source — the floor;
 *      it locks every row it writes until it commits;
 *   2. our `execute` with 1, 2 and 4 partitions: keyset batches, one transaction each,
 *      checkpoint, default batch size; the 4-partition run alongside an application writer
 *      whose p99 write latency is printed with and without the backfill;
 *   3. a row-by-row loop (SELECT, then UPDATE or INSERT, one autocommit round trip each), what a
 *      hand-written backfill script does — measured on a sample and extrapolated.
 *
 * Prints rows/s, the ratios and the longest batch; checks that 1 and 2 give identical tables.
 * Size: BENCH_USERS (default 1000000); sample for the loop: BENCH_LOOP_SAMPLE (default 20000).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { recordingLogger, silentLogger } from '../src/errors.js';
import { formatMs } from '../src/report/markdown.js';
import {
  executeBackfill,
  generatePaket7Data,
  loadBackfillSpec,
  type ExecuteResult,
} from '../src/backfill/index.js';
import pg from 'pg';
import { validateSpecAgainstDatabase } from '../src/backfill/spec.js';
import { BackfillSql } from '../src/backfill/sql.js';
import { withClient } from '../test/support/postgres.js';

const root = resolve(import.meta.dirname, '..');
const users = Number(process.env.BENCH_USERS ?? 1_000_000);
const loopSample = Number(process.env.BENCH_LOOP_SAMPLE ?? 20_000);
const spec = loadBackfillSpec(join(root, 'examples/paket7/backfills/usage-limits.yml'));

const server = await startEmbeddedPostgres();
const dbUrl = (name: string) => {
  const u = new URL(server.url);
  u.pathname = `/${name}`;
  return u.toString();
};
async function copyOf(name: string): Promise<string> {
  await withClient(server.url, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE gen`));
  await withClient(dbUrl(name), (c) => c.query('VACUUM ANALYZE'));
  return dbUrl(name);
}
/**
 * md5 over user_stats without the timestamps that take now() on write (usage_limit_updated_at,
 * and last_active's default on created rows) and total_api_calls (the app writer's column).
 */
async function tableSum(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const r = await c.query(`SELECT md5(string_agg(concat_ws('|', user_id, total_manual_executions,
        total_cost, current_usage_limit, usage_limit_set_by, billing_period_start, billing_period_end,
        current_period_cost), ',' ORDER BY user_id)) AS h, count(*) AS n FROM user_stats`);
    return `${r.rows[0].n} rows, md5 ${r.rows[0].h}`;
  });
}

/**
 * An application writer: short transactions that each update one random user_stats row (the
 * backfill's target) and hold its row lock for 5 ms before committing, back to back. `stop()`
 * returns each write's latency in milliseconds.
 */
function appWriter(url: string): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const done = (async () => {
    const c = new pg.Client(url);
    await c.connect();
    const ids = (await c.query(`SELECT user_id FROM user_stats`)).rows.map((r) => r.user_id);
    while (running) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const t = performance.now();
      await c.query('BEGIN');
      await c.query(
        `UPDATE user_stats SET total_api_calls = total_api_calls + 1 WHERE user_id = $1`,
        [id],
      );
      await new Promise((res) => setTimeout(res, 5));
      await c.query('COMMIT');
      latencies.push(performance.now() - t);
    }
    await c.end();
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return latencies;
    },
  };
}

function p99(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

try {
  console.log(
    `embedded PostgreSQL on 127.0.0.1:${server.port}; generating ${users} users (all with an active paid subscription)...`,
  );
  await withClient(server.url, (c) => c.query('CREATE DATABASE gen'));
  await withClient(dbUrl('gen'), async (c) => {
    for (const f of [
      '20250101000000_base_schema.sql',
      '20251201090000_user_stats_usage_limits.sql',
    ]) {
      await c.query(readFileSync(join(root, 'examples/paket7/migrations', f), 'utf8'));
    }
  });
  const gen = await generatePaket7Data(
    { databaseUrl: dbUrl('gen'), users, profile: 'all-subscribed' },
    silentLogger,
  );
  console.log(
    `generated in ${formatMs(gen.durationMs)}: ${gen.userStats} user_stats rows (target), ${gen.subscriptions} subscriptions`,
  );

  // 1. The single statement: the same upsert, over the whole source, in one transaction.
  const singleUrl = await copyOf('single');
  const single = await withClient(singleUrl, async (c) => {
    const types = await validateSpecAgainstDatabase(c, spec);
    const sql = new BackfillSql(spec, types);
    const t0 = performance.now();
    const r = (await c.query(sql.batch(false, false))).rows[0];
    return {
      ms: performance.now() - t0,
      seen: Number(r.seen),
      written: Number(r.inserted) + Number(r.updated),
    };
  });
  console.log(
    `single statement: ${single.seen} source rows, ${single.written} written in ${formatMs(single.ms)}`,
  );

  // 2. Our execute with 1, 2 and 4 partitions; the 4-partition run with an app writer.
  const runs: { partitions: number; url: string; ms: number; r: ExecuteResult; log: string[] }[] =
    [];
  let appDuring: number[] = [];
  for (const partitions of [1, 2, 4]) {
    const url = await copyOf(`ours${partitions}`);
    const log = recordingLogger();
    const writer = partitions === 4 ? appWriter(url) : undefined;
    const t0 = performance.now();
    const r = await executeBackfill({ spec, databaseUrl: url, partitions }, log);
    const ms = performance.now() - t0;
    if (writer) appDuring = await writer.stop();
    runs.push({ partitions, url, ms, r, log: log.lines });
    console.log(
      `execute, ${partitions} partition(s): ${r.rowsSeen} source rows, ${r.rowsWritten} written in ${r.batches} batches, ${formatMs(ms)}`,
    );
  }
  // The app writer alone, on a copy at rest, for the same time as the 4-partition run.
  const idleUrl = await copyOf('idle');
  const idle = appWriter(idleUrl);
  await new Promise((res) => setTimeout(res, Math.min(runs[2].ms, 20_000)));
  const appAlone = await idle.stop();
  const ours = runs[0].r;
  const oursMs = runs[0].ms;
  const boundaries = runs[0].log.find((l) => l.includes('keyset boundaries'));
  const shrunk = runs[0].log.filter((l) => l.includes('> max batch duration')).length;

  // 3. Row by row, on the first `loopSample` source rows.
  const loopUrl = await copyOf('loop');
  const loop = await withClient(loopUrl, async (c) => {
    const rows = (
      await c.query(`SELECT * FROM (${spec.source}) AS s ORDER BY user_id LIMIT $1`, [loopSample])
    ).rows;
    const t = performance.now();
    let written = 0;
    for (const r of rows) {
      const cur = await c.query(
        `SELECT current_usage_limit, usage_limit_set_by, billing_period_start, billing_period_end
           FROM user_stats WHERE user_id = $1`,
        [r.user_id],
      );
      const vals = [
        r.user_id,
        r.current_usage_limit,
        r.usage_limit_set_by,
        r.billing_period_start,
        r.billing_period_end,
      ];
      if (cur.rowCount === 0) {
        await c.query(
          `INSERT INTO user_stats (user_id, current_usage_limit, usage_limit_set_by, billing_period_start,
             billing_period_end, usage_limit_updated_at) VALUES ($1, $2, $3, $4, $5, now())`,
          vals,
        );
        written++;
      } else {
        const x = cur.rows[0];
        if (
          Number(x.current_usage_limit) !== Number(r.current_usage_limit) ||
          x.usage_limit_set_by !== r.usage_limit_set_by ||
          x.billing_period_start?.getTime() !== r.billing_period_start?.getTime() ||
          x.billing_period_end?.getTime() !== r.billing_period_end?.getTime()
        ) {
          await c.query(
            `UPDATE user_stats SET current_usage_limit = $2, usage_limit_set_by = $3, billing_period_start = $4,
               billing_period_end = $5, usage_limit_updated_at = now() WHERE user_id = $1`,
            vals,
          );
          written++;
        }
      }
    }
    return { ms: performance.now() - t, rows: rows.length, written };
  });

  const singleRate = (single.seen / single.ms) * 1000;
  const oursRate = (ours.rowsSeen / oursMs) * 1000;
  const loopRate = (loop.rows / loop.ms) * 1000;
  const loopExtrapolatedMs = (single.seen / loopRate) * 1000;
  const sums = await Promise.all([singleUrl, ...runs.map((x) => x.url)].map(tableSum));
  const same = sums.every((x) => x === sums[0]);

  const line = (label: string, rows: string, time: string, rate: number, note = '') =>
    console.log(
      `${label.padEnd(34)} ${rows.padStart(10)} ${time.padStart(12)} ${`${Math.round(rate).toLocaleString('en-US')} rows/s`.padStart(16)}  ${note}`,
    );
  console.log('');
  console.log(
    `usage-limits backfill, ${gen.userStats.toLocaleString('en-US')} target rows (user_stats), ${single.seen.toLocaleString('en-US')} source rows, PostgreSQL embedded`,
  );
  console.log(
    `${'method'.padEnd(34)} ${'rows'.padStart(10)} ${'time'.padStart(12)} ${'throughput'.padStart(16)}`,
  );
  line(
    'single INSERT ... ON CONFLICT',
    String(single.seen),
    formatMs(single.ms),
    singleRate,
    '(one transaction: locks every written row until it commits)',
  );
  for (const x of runs) {
    line(
      `our execute, ${x.partitions} partition(s)`,
      String(x.r.rowsSeen),
      formatMs(x.ms),
      (x.r.rowsSeen / x.ms) * 1000,
      `${x.r.batches} batches, median ${x.r.medianBatchMs} ms, longest ${x.r.longestBatchMs} ms${x.partitions === 4 ? ', with the app writer' : ''}`,
    );
  }
  line(
    'row-by-row loop (sample)',
    String(loop.rows),
    formatMs(loop.ms),
    loopRate,
    `measured on the first ${loop.rows} rows; full run extrapolated: ${formatMs(loopExtrapolatedMs)}`,
  );
  console.log('');
  for (const x of runs) {
    console.log(
      `ours with ${x.partitions} partition(s) / single statement throughput: ${(((x.r.rowsSeen / x.ms) * 1000) / singleRate).toFixed(2)}x${x.partitions === 4 ? ' (target >= 1.0x)' : ''}`,
    );
  }
  console.log(
    `app writer p99 write latency: ${p99(appAlone).toFixed(1)} ms alone (${appAlone.length} writes), ${p99(appDuring).toFixed(1)} ms during the 4-partition backfill (${appDuring.length} writes)`,
  );
  console.log(
    `longest batch with 4 partitions: ${runs[2].r.longestBatchMs} ms (target < 250 ms); health pauses: ${runs[2].r.pauses.map((x) => `${x.count}x ${x.kind}`).join(', ') || 'none'}`,
  );
  console.log(
    `row-by-row is ${(oursRate / loopRate).toFixed(1)}x slower than ours (target >= 20x; extrapolated from the sample)`,
  );
  console.log(
    `longest batch: ${ours.longestBatchMs} ms at the default batch size ${spec.batchSize} (target < 250 ms)`,
  );
  console.log(
    `execute detail: ${boundaries}; batch size halved ${shrunk} time(s) by the max batch duration`,
  );
  console.log(
    `single statement and execute (1, 2, 4 partitions) give identical user_stats: ${same ? 'yes' : 'NO'}`,
  );
  if (!same) process.exitCode = 1;
} finally {
  await server.stop();
}

/**
 * The backfill engine on a real PostgreSQL with the Paket 7 schema and generated data:
 * analyze counts, dry-run leaves every table unchanged, execute equals an independent
 * computation of the rule, a second execute writes nothing, staged runs resume, concurrent runs
 * are refused, verify names differing keys.
 */
import {
  analyzeBackfill,
  dryRunBackfill,
  executeBackfill,
  verifyBackfill,
  generatePaket7Data,
  BackfillBusyError,
  loadBackfillSpec,
} from '../../src/backfill/index.js';
import { recordingLogger, silentLogger } from '../../src/errors.js';
import { connect } from '../../src/db/connect.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyPaket7Schema,
  databaseChecksum,
  exampleSpec,
  exampleText,
  limitChecksums,
} from './helpers.js';

let db: TestDatabase;
const spec = exampleSpec;

beforeAll(async () => {
  db = await freshDatabase('backfill');
  await applyPaket7Schema(db.url);
  await generatePaket7Data({ databaseUrl: db.url, users: 3000 }, silentLogger);
  // An exact tie (same limit, same period end) that only the lowest subscription id breaks.
  await withClient(db.url, (c) =>
    c.query(`INSERT INTO subscription (id, plan, reference_id, status, period_start, period_end, metadata)
             SELECT id, 'enterprise', 'u000000002', 'active', '2026-11-01', '2026-12-01', '{"usageLimit": 5000}'
               FROM unnest(ARRAY['sub_tie_b', 'sub_tie_a']) AS id`),
  );
});
afterAll(async () => db.dispose());

describe('backfill engine on generated Paket 7 data', () => {
  let toCreate = 0;
  let toUpdate = 0;

  it('analyze counts creates and updates as an independent query does, and runs the checks', async () => {
    const log = recordingLogger();
    const r = await analyzeBackfill({ spec, databaseUrl: db.url }, log);
    const independent = await withClient(db.url, async (c) => {
      const covered = await c.query(`
        SELECT count(DISTINCT x.user_id) AS covered,
               count(DISTINCT x.user_id) FILTER (WHERE us.user_id IS NULL) AS missing
          FROM (SELECT s.reference_id AS user_id FROM subscription s JOIN "user" u ON u.id = s.reference_id
                 WHERE s.status = 'active'
                UNION ALL
                SELECT m.user_id FROM member m JOIN subscription s ON s.reference_id = m.organization_id
                 WHERE s.status = 'active') x
          LEFT JOIN user_stats us ON us.user_id = x.user_id`);
      const orphans = await c.query(`SELECT count(*) AS n FROM subscription
        WHERE reference_id NOT IN (SELECT id FROM "user") AND reference_id NOT IN (SELECT id FROM organization)`);
      return { ...covered.rows[0], orphans: Number(orphans.rows[0].n) };
    });
    expect(r.sourceRows).toBe(Number(independent.covered));
    expect(r.toCreate).toBe(Number(independent.missing));
    expect(r.toCreate).toBeGreaterThan(0);
    expect(r.toUpdate).toBe(r.sourceRows - r.toCreate); // fresh columns: every subscriber differs
    expect(r.totalOperations).toBe(r.toCreate + r.toUpdate);
    expect(r.duplicateKeys).toEqual([]);
    const orphaned = r.checks.find((c) => c.name === 'orphaned-subscriptions')!;
    expect(orphaned.rows).toBe(independent.orphans);
    expect(orphaned.location.file).toBe(spec);
    expect(orphaned.location.line).toBeGreaterThan(1);
    expect(log.lines.join('\n')).toMatch(/total database operations planned:\s+\d+/);
    toCreate = r.toCreate;
    toUpdate = r.toUpdate;
  });

  it('dry-run shows before → after and leaves every table byte-for-byte unchanged', async () => {
    const before = await databaseChecksum(db.url);
    const r = await dryRunBackfill(
      { spec, databaseUrl: db.url, batchSize: 500, sampleSize: 5 },
      silentLogger,
    );
    const after = await databaseChecksum(db.url);
    expect(after).toEqual(before);
    expect(Object.keys(after).some((t) => t.startsWith('runbook.'))).toBe(false);
    expect(r.sample).toHaveLength(5);
    expect(r.sample[0].after.current_usage_limit).toBeGreaterThanOrEqual(20);
    // The first batch covers the first 500 users (batch-keys); their subscribers are source rows.
    expect(r.firstBatch.seen).toBeGreaterThan(0);
    expect(r.firstBatch.seen).toBeLessThanOrEqual(500);
    expect(r.firstBatch.inserted + r.firstBatch.updated).toBe(r.firstBatch.seen);
  });

  it('execute makes the target equal the independent computation; verify passes', async () => {
    const pre = await limitChecksums(db.url);
    expect(pre.actual).not.toBe(pre.expected);
    const log = recordingLogger();
    const r = await executeBackfill(
      { spec, databaseUrl: db.url, batchSize: 200, progressIntervalMs: 0 },
      log,
    );
    expect(r.status).toBe('completed');
    expect(r.inserted).toBe(toCreate);
    expect(r.updated).toBe(toUpdate);
    expect(r.batches).toBeGreaterThan(3);
    expect(log.lines.some((l) => /rows\/s, ETA/.test(l))).toBe(true);
    const post = await limitChecksums(db.url);
    expect(post.firstDifference).toBeUndefined();
    const tie = await withClient(db.url, (c) =>
      c.query(`SELECT usage_limit_set_by FROM user_stats WHERE user_id = 'u000000002'`),
    );
    expect(tie.rows[0].usage_limit_set_by).toBe('subscription:sub_tie_a');
    expect(post.actual).toBe(post.expected);
    const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(v.verified).toBe(true);
    expect(v.toCreate + v.toUpdate).toBe(0);
    expect(v.assertions.map((a) => a.rows)).toEqual(v.assertions.map(() => 0));
    const run = await withClient(db.url, (c) =>
      c.query(
        'SELECT status, rows_seen, rows_inserted, rows_updated FROM runbook.backfill_runs WHERE id = $1',
        [r.runId],
      ),
    );
    expect(run.rows[0]).toMatchObject({ status: 'completed', rows_inserted: String(toCreate) });
  });

  it('a second execute changes nothing', async () => {
    const before = await databaseChecksum(db.url);
    const r = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(r.rowsWritten).toBe(0);
    expect(r.unchanged).toBe(r.rowsSeen);
    const after = await databaseChecksum(db.url);
    expect(after['public.user_stats']).toBe(before['public.user_stats']);
  });

  it('verify names the first differing keys after the target drifts', async () => {
    await withClient(db.url, (c) =>
      c.query(`UPDATE user_stats SET current_usage_limit = 5
                 WHERE user_id IN (SELECT user_id FROM user_stats WHERE current_usage_limit > 5 ORDER BY user_id LIMIT 2)`),
    );
    const v = await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(v.verified).toBe(false);
    expect(v.toUpdate).toBe(2);
    expect(v.differences).toHaveLength(2);
    expect(v.differences[0].before?.current_usage_limit).toBe(5);
    expect(v.assertions.find((a) => a.name === 'paid-subscribers-at-free-tier-limit')?.rows).toBe(
      2,
    );
  });

  it('max-batches pauses a run and the next execute resumes it from the checkpoint', async () => {
    await withClient(db.url, (c) =>
      c.query(`UPDATE user_stats SET current_usage_limit = 5, billing_period_start = NULL`),
    );
    const first = await executeBackfill(
      { spec, databaseUrl: db.url, batchSize: 300, maxBatches: 2 },
      silentLogger,
    );
    expect(first.status).toBe('paused');
    expect(first.batches).toBe(2);
    const plan = await analyzeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(plan.lastRun).toMatchObject({
      id: first.runId,
      status: 'paused',
      resumable: true,
      lastKey: first.lastKey,
    });
    const second = await executeBackfill(
      { spec, databaseUrl: db.url, batchSize: 300 },
      silentLogger,
    );
    expect(second.status).toBe('completed');
    expect(second.resumed).toBe(true);
    expect(second.runId).toBe(first.runId);
    expect(second.resumedFrom).toEqual(first.lastKey);
    expect(second.rowsSeen).toBe(second.inserted + second.updated + second.unchanged);
    const post = await limitChecksums(db.url);
    expect(post.actual).toBe(post.expected);
  });

  it('refuses a second concurrent execute of the same backfill, naming the holder', async () => {
    await withClient(db.url, (c) => c.query(`UPDATE user_stats SET current_usage_limit = 5`));
    const slow = executeBackfill(
      { spec, databaseUrl: db.url, batchSize: 100, pauseMs: 60 },
      silentLogger,
    );
    // Wait until the slow run holds the lock and has committed a batch.
    for (let i = 0; i < 200; i++) {
      const n = await withClient(db.url, (c) =>
        c.query(
          `SELECT count(*) AS n FROM runbook.backfill_runs WHERE status = 'running' AND batches > 0`,
        ),
      );
      if (Number(n.rows[0].n) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const runsBefore = await withClient(db.url, (c) =>
      c.query('SELECT count(*) AS n FROM runbook.backfill_runs'),
    );
    const err = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger).catch((e) => e);
    expect(err).toBeInstanceOf(BackfillBusyError);
    expect(err.message).toMatch(
      /already running.*application_name 'runbook-backfill execute usage-limits'/,
    );
    const runsAfter = await withClient(db.url, (c) =>
      c.query('SELECT count(*) AS n FROM runbook.backfill_runs'),
    );
    expect(runsAfter.rows[0].n).toBe(runsBefore.rows[0].n);
    const done = await slow;
    expect(done.status).toBe('completed');
    expect((await limitChecksums(db.url)).actual).toBe((await limitChecksums(db.url)).expected);
  });

  it('a changed spec starts a new run instead of resuming one with another checksum', async () => {
    await withClient(db.url, (c) => c.query(`UPDATE user_stats SET current_usage_limit = 5`));
    const paused = await executeBackfill(
      { spec, databaseUrl: db.url, batchSize: 100, maxBatches: 1 },
      silentLogger,
    );
    expect(paused.status).toBe('paused');
    const dir = mkdtempSync(join(tmpdir(), 'bf-spec-'));
    const changed = join(dir, 'usage-limits.yml');
    writeFileSync(
      changed,
      exampleText().replace(
        'ORDER BY user_id, usage_limit DESC',
        'ORDER BY user_id, usage_limit DESC /* v2 */',
      ),
    );
    expect(loadBackfillSpec(changed).checksum).not.toBe(loadBackfillSpec(spec).checksum);
    const log = recordingLogger();
    const r = await executeBackfill({ spec: changed, databaseUrl: db.url }, log);
    expect(r.resumed).toBe(false);
    expect(r.runId).not.toBe(paused.runId);
    expect(log.lines.join('\n')).toMatch(/different spec checksum; starting a new run/);
    const old = await withClient(db.url, (c) =>
      c.query('SELECT status FROM runbook.backfill_runs WHERE id = $1', [paused.runId]),
    );
    expect(old.rows[0].status).toBe('abandoned');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a batch blocked past lock-timeout fails the run (status failed); the next execute resumes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bf-lock-'));
    const fast = join(dir, 'usage-limits.yml');
    writeFileSync(fast, exampleText().replace('lock-timeout: 2s', 'lock-timeout: 100ms'));
    await withClient(db.url, (c) => c.query(`UPDATE user_stats SET current_usage_limit = 5`));
    const holder = await connect(db.url, { applicationName: 'row-lock-holder' });
    await holder.query('BEGIN');
    await holder.query(
      `SELECT 1 FROM user_stats WHERE user_id = (
         SELECT min(s.reference_id) FROM subscription s JOIN user_stats us ON us.user_id = s.reference_id
          WHERE s.status = 'active' AND s.reference_id > 'u000001500') FOR UPDATE`,
    );
    const log = recordingLogger();
    const err = await executeBackfill(
      { spec: fast, databaseUrl: db.url, batchSize: 200, lockRetries: 1 },
      log,
    ).catch((e) => e);
    expect(err.code).toBe('55P03');
    expect(log.lines.join('\n')).toMatch(/SQLSTATE 55P03\); retry 1\/1/);
    const failed = await withClient(db.url, (c) =>
      c.query(
        `SELECT id, status, error, batches FROM runbook.backfill_runs ORDER BY id DESC LIMIT 1`,
      ),
    );
    expect(failed.rows[0]).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/lock timeout/),
    });
    expect(failed.rows[0].batches).toBeGreaterThan(0); // batches before the locked row committed
    await holder.query('ROLLBACK');
    await holder.end();
    const resumed = await executeBackfill({ spec: fast, databaseUrl: db.url }, silentLogger);
    expect(resumed).toMatchObject({
      resumed: true,
      runId: Number(failed.rows[0].id),
      status: 'completed',
    });
    expect((await limitChecksums(db.url)).actual).toBe((await limitChecksums(db.url)).expected);
    rmSync(dir, { recursive: true, force: true });
  });
});

/**
 * Execute: the keyset-batch writer (Shopify's maintenance_tasks, GitLab's batched background
 * migrations). The key space is cut into `partitions` ranges at quantiles of the key
 * distribution; each range runs on its own session, concurrently, and walks its keys in batches
 * `(lo, hi]`. Each batch writes the differing rows in its own transaction together with its
 * partition's checkpoint row, so a run killed at any point resumes every unfinished partition
 * after its last committed batch, with no row lost or written twice.
 *
 * Locks: a session advisory lock per backfill (the coordinator) and one per partition (PostgreSQL
 * "Advisory Locks"); a holder whose heartbeat is stale is terminated and the lock taken over.
 * Between batches every partition checks the database's health (see health.ts), obeys a pause
 * requested through the checkpoint table (`backfill pause|resume`) and steers its batch size
 * towards the target batch duration.
 */
import type pg from 'pg';
import { ConfigError, sleep, type Logger, type SourceLocation } from '../errors.js';
import { formatMs } from '../report/markdown.js';
import { redactCredentials } from '../redact.js';
import { runInfo } from '../runinfo.js';
import {
  ensureCheckpointSchema,
  readPartitions,
  readPauses,
  recordEvent,
  type PartitionRow,
  type PauseSummary,
} from './checkpoint.js';
import { keyOf, num, prepare, type BackfillOptions, type Prepared } from './prepare.js';
import { BatchSizer, HealthMonitor } from './health.js';
import { MAX_PARTITIONS } from './spec.js';
import { BackfillBusyError, lockOrTakeOver, openSession } from './session.js';
import { BackfillSql, type KeyValue } from './sql.js';

export { BackfillBusyError };

/** Options of {@link executeBackfill}. */
export interface ExecuteOptions extends BackfillOptions {
  /** Stop each partition after this many batches (status `paused`; the next execute resumes). */
  maxBatches?: number;
  /** How long to wait for another run of this backfill to finish, milliseconds. Default 0: refuse at once. */
  lockWaitMs?: number;
  /** Overrides the spec's `throttle.pause`, milliseconds. */
  pauseMs?: number;
  /** Minimum time between progress lines, milliseconds. Default 2000. */
  progressIntervalMs?: number;
  /**
   * Retries of one batch that hit `lock_timeout` (55P03), a deadlock (40P01), a serialization
   * failure (40001) or `statement_timeout` (57014); each retry halves the batch. Default 20.
   */
  lockRetries?: number;
  /** Overrides the spec's `partitions` for a new run (a resumed run keeps its partitions). */
  partitions?: number;
  /**
   * Run only this partition (0-based) of the latest prepared run, as one index of a Kubernetes
   * Indexed Job does; the run must exist (see {@link prepareRun}).
   */
  partitionIndex?: number;
  /**
   * With `partitionIndex`: an id shared by the indexes of one submission (a Kubernetes Job).
   * The first index to arrive creates the run (or adopts the unfinished run of the same spec)
   * and tags it; the others join it.
   */
  runToken?: string;
  /** PostgreSQL URL of a replica whose replay lag throttles the backfill. */
  replicaUrl?: string;
  /** Aborting stops every partition after its current batch (status `paused`). */
  signal?: AbortSignal;
}

/** One partition's part of an {@link ExecuteResult}. */
export interface PartitionResult {
  idx: number;
  status: 'completed' | 'paused' | 'failed';
  /** Totals of the partition, including earlier invocations. */
  batches: number;
  rowsSeen: number;
  inserted: number;
  updated: number;
  lastKey: KeyValue | null;
  error?: string;
}

/** Result of {@link executeBackfill}. Counts are the run's totals, including before a resume. */
export interface ExecuteResult {
  name: string;
  runId: number;
  /** `completed`, or `paused` when `maxBatches` or a cancel stopped it before the end. */
  status: 'completed' | 'paused';
  /** The key the run resumed after (single-partition runs), when it continued an interrupted run. */
  resumedFrom?: KeyValue | null;
  resumed: boolean;
  batches: number;
  rowsSeen: number;
  inserted: number;
  updated: number;
  /**
   * Source rows not written: `rowsSeen - inserted - updated`. Unlike analyze's `unchanged`, this
   * includes the rows the mode skips (missing rows in `update` mode, differing rows in `insert`).
   */
  unchanged: number;
  rowsWritten: number;
  /** Longest single batch in this invocation, milliseconds. */
  longestBatchMs: number;
  /** Median batch duration in this invocation, milliseconds. */
  medianBatchMs: number;
  /** Wall time of this invocation, milliseconds. */
  durationMs: number;
  /** Source rows per second in this invocation. */
  rowsPerSecond: number;
  /** Last committed key of a single-partition run; null for several partitions. */
  lastKey: KeyValue | null;
  partitions: PartitionResult[];
  /** Health and requested pauses of the whole run, by kind. */
  pauses: PauseSummary[];
}

/**
 * A batch failed with a database error that retrying does not cure (a constraint the source
 * violates, a key the source yields twice, a type error). The earlier batches stay committed
 * and checkpointed; the message says which batch and key range failed, what is committed and
 * where the next execute resumes. Located at the spec's `source`.
 */
export class BackfillBatchError extends ConfigError {
  override readonly name = 'BackfillBatchError' as 'ConfigError';
  constructor(
    message: string,
    location: SourceLocation,
    /** SQLSTATE of the failure, e.g. `23514`. */
    readonly sqlState: string,
    /** The failing batch's key range `(after, upTo]`; null is an open end. */
    readonly range: { after: KeyValue | null; upTo: KeyValue | null },
  ) {
    super(message, location);
  }
  /** The SQLSTATE under the name `pg` errors use, for callers that check `error.code`. */
  get code(): string {
    return this.sqlState;
  }
}

/**
 * The connection to the database was lost during a batch (network, server restart, the session
 * terminated). The batch and its checkpoint commit or roll back together, so nothing is half
 * applied; the message names the batch, what is committed and the command that resumes.
 */
export class BackfillConnectionError extends Error {
  override readonly name = 'BackfillConnectionError';
  constructor(
    message: string,
    /** The failing batch's key range `(after, upTo]`; null is an open end. */
    readonly range: { after: KeyValue | null; upTo: KeyValue | null },
    /** The command that resumes the run. */
    readonly resumeCommand: string,
  ) {
    super(message);
  }
}

/** Hints for SQLSTATEs a batch commonly fails with (PostgreSQL "Appendix A. Error Codes"). */
const BATCH_HINTS: Record<string, string> = {
  '21000': ' (the source yields a key more than once; analyze lists the duplicate keys)',
  '23502': ' (the source yields NULL for a NOT NULL target column)',
  '55P03': ' (lock_timeout: another transaction holds rows of this range; retries exhausted)',
  '57014': ' (statement_timeout: even the smallest batch is too slow; raise statement-timeout)',
};

const RETRYABLE = new Set(['55P03', '40P01', '40001', '57014']);
const isSqlState = (code: unknown): code is string =>
  typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);

/** The command that resumes a run of `spec` (printed with failures). */
export function resumeCommand(p: Prepared): string {
  return `runbook backfill execute --spec ${p.spec.file} --database-url "$DATABASE_URL" (or re-run the step)`;
}

/** A run as {@link prepareRun} leaves it. */
export interface PreparedRun {
  runId: number;
  resumed: boolean;
  /** The single partition's last key at the start, for a resumed single-partition run. */
  resumedFrom?: KeyValue | null;
  partitions: PartitionRow[];
}

/**
 * Creates the run and its partition rows (key ranges at quantiles of the key distribution), or
 * picks up the latest unfinished run of the same spec checksum. The caller holds the run lock.
 */
async function openRun(p: Prepared, options: ExecuteOptions, logger: Logger): Promise<PreparedRun> {
  const { spec, client } = p;
  const previous = (
    await client.query(
      `SELECT *, extract(epoch FROM now() - heartbeat_at) AS age FROM runbook.backfill_runs
        WHERE name = $1 AND status IN ('running', 'paused', 'failed') ORDER BY id DESC LIMIT 1`,
      [spec.name],
    )
  ).rows[0];
  if (previous && previous.checksum === spec.checksum) {
    const runId = Number(previous.id);
    let parts = await readPartitions(client, runId);
    if (!parts.length) {
      // A run recorded before partitions existed: one partition from its last key.
      await client.query(
        `INSERT INTO runbook.backfill_partitions
           (run_id, idx, last_key, status, batches, rows_seen, rows_inserted, rows_updated)
         VALUES ($1, 0, $2, 'pending', $3, $4, $5, $6)`,
        [
          runId,
          previous.last_key === null ? null : JSON.stringify(previous.last_key),
          previous.batches,
          previous.rows_seen,
          previous.rows_inserted,
          previous.rows_updated,
        ],
      );
      parts = await readPartitions(client, runId);
    }
    if (previous.status === 'running' && options.partitionIndex === undefined) {
      logger.warning(
        `run #${runId} was still marked running, last heartbeat ${Math.round(Number(previous.age))} s ago: the process that ran it is dead (its locks are gone); resuming it`,
      );
    }
    await client.query(
      `UPDATE runbook.backfill_runs SET status = 'running', error = NULL, pid = pg_backend_pid(),
              heartbeat_at = now() WHERE id = $1`,
      [runId],
    );
    const open = parts.filter((x) => x.status !== 'completed');
    const single = parts.length === 1 ? parts[0] : undefined;
    logger.info(
      single
        ? `Resuming run #${runId} of '${spec.name}' (${previous.status}) after key ${JSON.stringify(single.lastKey)}: ${num(previous.batches)} batch(es), ${num(previous.rows_seen)} rows done`
        : `Resuming run #${runId} of '${spec.name}' (${previous.status}): ${open.length} of ${parts.length} partition(s) unfinished, ${num(previous.batches)} batch(es), ${num(previous.rows_seen)} rows done`,
    );
    return { runId, resumed: true, resumedFrom: single?.lastKey ?? null, partitions: parts };
  }
  if (previous) {
    await client.query(
      `UPDATE runbook.backfill_runs SET status = 'abandoned', finished_at = now() WHERE id = $1`,
      [previous.id],
    );
    logger.warning(
      `run #${previous.id} of '${spec.name}' was ${previous.status} with a different spec checksum; starting a new run from the beginning`,
      spec.locate(['source']),
    );
  }
  const n = options.partitions ?? spec.partitions;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new ConfigError(
      `must be an integer from 1 to ${MAX_PARTITIONS}, got ${n}`,
      undefined,
      'partitions',
    );
  }
  const tb = Date.now();
  const bounds =
    n > 1
      ? (await client.query(p.sql.partitionBounds(), [n])).rows.map((r) =>
          keyOf(r, spec.key.length),
        )
      : [];
  const info = runInfo();
  await client.query('BEGIN');
  let runId: number;
  try {
    const r = await client.query(
      `INSERT INTO runbook.backfill_runs (name, checksum, status, batch_size, actor, run_url, partitions, pid)
       VALUES ($1, $2, 'running', $3, $4, $5, $6, pg_backend_pid()) RETURNING id`,
      [spec.name, spec.checksum, p.batchSize, info.actor, info.runUrl ?? null, bounds.length + 1],
    );
    runId = Number(r.rows[0].id);
    const edges: (KeyValue | null)[] = [null, ...bounds, null];
    for (let i = 0; i <= bounds.length; i++) {
      await client.query(
        `INSERT INTO runbook.backfill_partitions (run_id, idx, lo, hi, status) VALUES ($1, $2, $3, $4, 'pending')`,
        [
          runId,
          i,
          edges[i] === null ? null : JSON.stringify(edges[i]),
          edges[i + 1] === null ? null : JSON.stringify(edges[i + 1]),
        ],
      );
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
  logger.info(
    `Run #${runId} of '${spec.name}': ${spec.mode} into ${spec.table}${bounds.length ? ` in ${bounds.length + 1} partitions (key quantiles in ${formatMs(Date.now() - tb)}): ${[null, ...bounds].map((b, i) => `#${i} after ${JSON.stringify(b)}`).join(', ')}` : ''}`,
  );
  return { runId, resumed: false, partitions: await readPartitions(client, runId) };
}

/**
 * Creates (or picks up) the run and its partitions without running them, for runners that start
 * each partition elsewhere (`runner: kubernetes`).
 * @throws BackfillBusyError when the backfill is running elsewhere; ConfigError for a bad spec
 */
export async function prepareRun(options: ExecuteOptions, logger: Logger): Promise<PreparedRun> {
  const p = await prepare(options, 'execute');
  try {
    await ensureCheckpointSchema(p.client);
    const release = await lockOrTakeOver(
      p.client,
      `runbook:backfill:${p.spec.name}`,
      `backfill '${p.spec.name}'`,
      options.lockWaitMs ?? 0,
      p.spec.staleAfterMs,
      logger,
    );
    try {
      await refuseNullKeys(p);
      const run = await openRun(p, options, logger);
      await p.client.query(
        `UPDATE runbook.backfill_runs SET pid = NULL, heartbeat_at = now() WHERE id = $1`,
        [run.runId],
      );
      return run;
    } finally {
      await release();
    }
  } finally {
    await p.client.end().catch(() => {});
  }
}

async function refuseNullKeys(p: Prepared): Promise<void> {
  const n = num((await p.client.query(p.sql.nullKeys())).rows[0].n);
  if (n) {
    throw new ConfigError(
      `${n} source row(s) have a NULL key (${p.spec.key.join(', ')}); keyset batches can never reach them, so execute refuses to run: filter them out of the source (e.g. an inner JOIN or WHERE ${p.spec.key[0]} IS NOT NULL) or report them as a check`,
      p.spec.locate(['source']),
    );
  }
}

/** What the partitions of one invocation share. */
interface RunContext {
  p: Prepared;
  options: ExecuteOptions;
  runId: number;
  logger: Logger;
  progress: Map<number, { keysTotal: number; keysDone: number; startDone: number; seen: number }>;
  durations: number[];
  /** Number of partitions of the run. */
  partitions: number;
  /** The last progress line's numbers, so an unchanged state is not printed again. */
  lastProgress?: string;
}

/**
 * Execute: writes the differences in keyset batches over `partitions` concurrent key ranges,
 * each batch in its own transaction with its partition's checkpoint; resumes every unfinished
 * partition of an interrupted run of the same spec (same checksum); refuses when another live
 * session runs the same backfill. A second execute writes nothing. With `partitionIndex`, runs
 * that one partition of the latest prepared run (a Kubernetes Indexed Job's index).
 * @throws BackfillBusyError when the backfill is already running elsewhere
 * @throws BackfillBatchError when a batch fails for good (earlier batches stay committed)
 * @throws BackfillConnectionError when the connection is lost mid-run
 * @throws ConfigError for a bad spec (before anything is written)
 */
export async function executeBackfill(
  options: ExecuteOptions,
  logger: Logger,
): Promise<ExecuteResult> {
  const worker = options.partitionIndex !== undefined;
  const p = await prepare(options, worker ? `execute#${options.partitionIndex}` : 'execute');
  const { spec, client } = p;
  const started = Date.now();
  let release: (() => Promise<void>) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let runId: number | undefined;
  try {
    await ensureCheckpointSchema(client);
    let run: PreparedRun;
    if (worker) {
      run = await joinRun(p, options, logger);
    } else {
      release = await lockOrTakeOver(
        client,
        `runbook:backfill:${spec.name}`,
        `backfill '${spec.name}'`,
        options.lockWaitMs ?? 0,
        spec.staleAfterMs,
        logger,
      );
      await refuseNullKeys(p);
      run = await openRun(p, options, logger);
      heartbeat = setInterval(
        () => {
          client
            .query(`UPDATE runbook.backfill_runs SET heartbeat_at = now() WHERE id = $1`, [
              run.runId,
            ])
            .catch(() => {});
        },
        Math.max(200, Math.min(5000, spec.staleAfterMs / 4)),
      );
    }
    runId = run.runId;
    const ctx: RunContext = {
      p,
      options,
      runId,
      logger,
      progress: new Map(),
      durations: [],
      partitions: run.partitions.length,
    };
    const todo = run.partitions.filter(
      (x) => x.status !== 'completed' && (!worker || x.idx === options.partitionIndex),
    );
    const progressMs = options.progressIntervalMs ?? 2000;
    const logProgress = () => progressLine(ctx, run.partitions.length, started);
    progressTimer = setInterval(logProgress, Math.max(50, progressMs));
    const settled = await Promise.allSettled(todo.map((part) => runPartition(ctx, part)));
    clearInterval(progressTimer);
    progressTimer = undefined;
    if (todo.length) logProgress();
    const failure = settled.find((s) => s.status === 'rejected') as
      PromiseRejectedResult | undefined;
    if (failure) throw failure.reason;
    const stopped = settled.some(
      (s) =>
        s.status === 'fulfilled' && (s as PromiseFulfilledResult<string>).value !== 'completed',
    );
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
    const final = await finalizeRun(client, runId, stopped ? 'paused' : undefined, worker);
    const parts = await readPartitions(client, runId);
    const durationMs = Date.now() - started;
    const seenHere = [...ctx.progress.values()].reduce((a, x) => a + x.seen, 0);
    const sorted = [...ctx.durations].sort((a, b) => a - b);
    const result: ExecuteResult = {
      name: spec.name,
      runId,
      status: final.status === 'completed' ? 'completed' : 'paused',
      resumed: run.resumed,
      resumedFrom: run.resumed && run.partitions.length === 1 ? run.resumedFrom : undefined,
      batches: final.batches,
      rowsSeen: final.rowsSeen,
      inserted: final.inserted,
      updated: final.updated,
      unchanged: final.rowsSeen - final.inserted - final.updated,
      rowsWritten: final.inserted + final.updated,
      longestBatchMs: sorted.length ? sorted[sorted.length - 1] : 0,
      medianBatchMs: sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0,
      durationMs,
      rowsPerSecond: durationMs > 0 ? Math.round((seenHere / durationMs) * 1000) : 0,
      lastKey: parts.length === 1 ? parts[0].lastKey : null,
      partitions: parts.map((x) => ({
        idx: x.idx,
        status:
          x.status === 'completed' ? 'completed' : x.status === 'failed' ? 'failed' : 'paused',
        batches: x.batches,
        rowsSeen: x.rowsSeen,
        inserted: x.inserted,
        updated: x.updated,
        lastKey: x.lastKey,
        ...(x.error ? { error: x.error } : {}),
      })),
      pauses: await readPauses(client, runId),
    };
    logger.info(
      `Run #${runId} ${result.status}: ${result.batches} batch(es), ${result.rowsSeen} source rows, ${result.inserted} inserted, ${result.updated} updated, ${result.unchanged} unchanged; longest batch ${formatMs(result.longestBatchMs)}${result.pauses.length ? `; paused ${result.pauses.map((x) => `${x.count}× ${x.kind} (${formatMs(x.totalMs)})`).join(', ')}` : ''}`,
    );
    return result;
  } catch (e) {
    if (runId !== undefined && !worker) {
      await client
        .query(
          `UPDATE runbook.backfill_runs SET status = 'failed', error = $2, pid = NULL, heartbeat_at = now() WHERE id = $1`,
          [runId, redactCredentials((e as Error).message).slice(0, 2000)],
        )
        .catch(() => {});
    }
    throw e;
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    if (progressTimer) clearInterval(progressTimer);
    if (release) await release();
    await client.end().catch(() => {});
  }
}

/**
 * A partition worker's run: the one tagged with `runToken`, else the unfinished run of the same
 * spec, else a new one with `partitions` ranges; taken under the run lock, which each index
 * holds only for this.
 */
async function joinRun(p: Prepared, options: ExecuteOptions, logger: Logger): Promise<PreparedRun> {
  const { spec, client } = p;
  const release = await lockOrTakeOver(
    client,
    `runbook:backfill:${spec.name}`,
    `backfill '${spec.name}'`,
    Math.max(options.lockWaitMs ?? 0, 60_000),
    spec.staleAfterMs,
    logger,
  );
  try {
    if (options.runToken) {
      const r = (
        await client.query(
          `SELECT id FROM runbook.backfill_runs WHERE name = $1 AND token = $2 ORDER BY id DESC LIMIT 1`,
          [spec.name, options.runToken],
        )
      ).rows[0];
      if (r) {
        const runId = Number(r.id);
        return { runId, resumed: true, partitions: await readPartitions(client, runId) };
      }
    }
    await refuseNullKeys(p);
    const run = await openRun(p, options, logger);
    await client.query(`UPDATE runbook.backfill_runs SET token = $2, pid = NULL WHERE id = $1`, [
      run.runId,
      options.runToken ?? null,
    ]);
    return run;
  } finally {
    await release();
  }
}

interface RunTotals {
  status: string;
  batches: number;
  rowsSeen: number;
  inserted: number;
  updated: number;
}

/**
 * Marks the run completed when every partition is, else `status` (or leaves it running when a
 * partition worker finishes while others still run).
 */
async function finalizeRun(
  client: pg.Client,
  runId: number,
  status: 'paused' | undefined,
  worker: boolean,
): Promise<RunTotals> {
  const r = await client.query(
    `UPDATE runbook.backfill_runs r
        SET status = CASE WHEN NOT EXISTS (SELECT 1 FROM runbook.backfill_partitions p
                                            WHERE p.run_id = r.id AND p.status <> 'completed')
                          THEN 'completed' ELSE coalesce($2, CASE WHEN $3 THEN r.status ELSE 'paused' END) END,
            finished_at = CASE WHEN NOT EXISTS (SELECT 1 FROM runbook.backfill_partitions p
                                                 WHERE p.run_id = r.id AND p.status <> 'completed')
                               THEN now() END,
            pid = CASE WHEN $3 THEN r.pid END, heartbeat_at = now()
      WHERE id = $1
      RETURNING status, batches, rows_seen, rows_inserted, rows_updated`,
    [runId, status ?? null, worker],
  );
  const row = r.rows[0];
  return {
    status: row.status,
    batches: row.batches,
    rowsSeen: num(row.rows_seen),
    inserted: num(row.rows_inserted),
    updated: num(row.rows_updated),
  };
}

function progressLine(ctx: RunContext, partitions: number, started: number): void {
  const all = [...ctx.progress.entries()];
  if (!all.length) return;
  const total = all.reduce((a, [, x]) => a + x.keysTotal, 0);
  const done = all.reduce((a, [, x]) => a + x.keysDone, 0);
  const seen = all.reduce((a, [, x]) => a + x.seen, 0);
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const before = all.reduce((a, [, x]) => a + x.startDone, 0);
  // ETA from this invocation's pace over the keys it had left.
  const here = total - before > 0 ? Math.min(1, (done - before) / (total - before)) : 1;
  const elapsed = Date.now() - started;
  const rate = elapsed > 0 ? (seen / elapsed) * 1000 : 0;
  const etaMs = here > 0 ? (elapsed * (1 - here)) / here : NaN;
  const state = `${done}/${total}/${seen}`;
  if (state === ctx.lastProgress) return;
  ctx.lastProgress = state;
  const per =
    partitions > 1
      ? ` [${all
          .sort((a, b) => a[0] - b[0])
          .map(
            ([i, x]) => `#${i} ${(100 * (x.keysTotal ? x.keysDone / x.keysTotal : 1)).toFixed(0)}%`,
          )
          .join(', ')}]`
      : '';
  ctx.logger.info(
    `progress: ${(100 * frac).toFixed(1)}% of ${total} keys, ${seen} source rows, ${Math.round(rate)} rows/s, ETA ${Number.isFinite(etaMs) ? formatMs(etaMs) : '?'}${per}`,
  );
}

/**
 * Runs one partition to its end (or until `maxBatches`, a cancel or a pause that outlives the
 * invocation) on its own session under its own advisory lock.
 * @returns `completed` or `paused`
 */
async function runPartition(ctx: RunContext, part: PartitionRow): Promise<'completed' | 'paused'> {
  const { p, options, runId, logger } = ctx;
  const { spec } = p;
  const idx = part.idx;
  const label = `partition #${idx}`;
  const s = await openSession(options.databaseUrl, {
    caCert: options.caCert,
    applicationName: `runbook-backfill execute ${spec.name}#${idx}`,
    idleInTransactionMs: spec.idleInTransactionMs,
  });
  const replica = options.replicaUrl
    ? await openSession(options.replicaUrl, {
        caCert: options.caCert,
        applicationName: `runbook-backfill health ${spec.name}`,
        idleInTransactionMs: spec.idleInTransactionMs,
      })
    : undefined;
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockOrTakeOver(
      s,
      `runbook:backfill:${spec.name}#${idx}`,
      `${label} of backfill '${spec.name}'`,
      Math.max(options.lockWaitMs ?? 0, 5000),
      spec.staleAfterMs,
      logger,
    );
    const row = (await readPartitions(s, runId)).find((x) => x.idx === idx)!;
    if (row.status === 'completed') return 'completed';
    await s.query(
      `UPDATE runbook.backfill_partitions SET status = 'running', pid = pg_backend_pid(), error = NULL,
              heartbeat_at = now() WHERE run_id = $1 AND idx = $2`,
      [runId, idx],
    );
    try {
      return await partitionBatches(ctx, s, replica, row);
    } catch (e) {
      await s
        .query(
          `UPDATE runbook.backfill_partitions SET status = 'failed', error = $3 WHERE run_id = $1 AND idx = $2`,
          [runId, idx, redactCredentials((e as Error).message).slice(0, 2000)],
        )
        .catch(() => {});
      throw e;
    }
  } finally {
    if (release) await release().catch(() => {});
    await s.end().catch(() => {});
    await replica?.end().catch(() => {});
  }
}

async function partitionBatches(
  ctx: RunContext,
  s: pg.Client,
  replica: pg.Client | undefined,
  row: PartitionRow,
): Promise<'completed' | 'paused'> {
  const { p, options, runId, logger } = ctx;
  const { spec, sql } = p;
  const idx = row.idx;
  const several = ctx.partitions > 1;
  const label = several ? `partition #${idx}` : 'backfill';
  const prefix = several ? `partition #${idx}: ` : '';
  const nk = spec.key.length;
  const pauseMs = options.pauseMs ?? spec.pauseMs;
  const maxBatches = options.maxBatches ?? Infinity;
  const retries = options.lockRetries ?? 20;
  const start = row.lastKey ?? row.lo;
  const end = row.hi;
  // Boundaries at a fine granule, so batch-size control can move in steps of 1/20 of the
  // batch size; a batch is a whole number of granules and never more than the batch size.
  const granule = Math.max(1, Math.floor(p.batchSize / 20));
  const tb = Date.now();
  const b = await s.query(sql.boundaries(start !== null, end !== null), [
    granule,
    ...(start ?? []),
    ...(end ?? []),
  ]);
  const bounds = b.rows.map((r) => keyOf(r, nk));
  const keysLeft = b.rows.length ? num(b.rows[b.rows.length - 1].total) : 0;
  const keysTotal = row.keysDone + keysLeft;
  await s.query(
    `UPDATE runbook.backfill_partitions SET keys_total = $3 WHERE run_id = $1 AND idx = $2`,
    [runId, idx, keysTotal],
  );
  const progress = { keysTotal, keysDone: row.keysDone, startDone: row.keysDone, seen: 0 };
  ctx.progress.set(idx, progress);
  const where = several
    ? `${start ? ` after ${JSON.stringify(start)}` : ''}${end ? ` up to ${JSON.stringify(end)}` : ''}`
    : start
      ? ' after the checkpoint'
      : '';
  logger.info(
    `${prefix}${keysLeft} ${spec.batchKeys ? 'batch key(s)' : 'source row(s)'} to walk${where} (keyset boundaries in ${formatMs(Date.now() - tb)}); batch size up to ${p.batchSize}, target batch duration ${spec.targetBatchMs} ms, max ${spec.maxBatchMs} ms`,
  );
  const sizer = new BatchSizer(p.batchSize, granule, spec.targetBatchMs, spec.maxBatchMs);
  const health = new HealthMonitor(spec, s, replica, (m) => logger.warning(m));
  let used = 0; // boundaries consumed
  let lo = start;
  let batchesHere = 0;
  let attempt = 0;
  let lastHealth = 0;
  let control: string | null;
  let pids: { at: number; list: number[] } = { at: 0, list: [] };
  const ourPids = async () => {
    if (Date.now() - pids.at > 5000) {
      const r = await s.query(
        `SELECT array_remove(array_agg(pid), NULL) AS pids FROM (
           SELECT pid FROM runbook.backfill_partitions WHERE run_id = $1 AND status = 'running'
           UNION ALL SELECT pid FROM runbook.backfill_runs WHERE id = $1) x`,
        [runId],
      );
      pids = { at: Date.now(), list: (r.rows[0].pids ?? []).map(Number) };
    }
    return pids.list;
  };
  const beat = () =>
    s.query(
      `UPDATE runbook.backfill_partitions SET heartbeat_at = now() WHERE run_id = $1 AND idx = $2
       RETURNING (SELECT control FROM runbook.backfill_runs WHERE id = $1) AS control`,
      [runId, idx],
    );
  control = (await beat()).rows[0]?.control ?? null;
  for (;;) {
    if (options.signal?.aborted) {
      logger.info(`${prefix}cancelled; the next execute resumes after ${JSON.stringify(lo)}`);
      return 'paused';
    }
    if (batchesHere >= maxBatches) {
      logger.info(
        `${prefix}stopping after ${batchesHere} batch(es) (max-batches); the next execute resumes after ${JSON.stringify(lo)}`,
      );
      return 'paused';
    }
    if (control === 'pause') {
      const t0 = Date.now();
      logger.warning(
        `${prefix}paused through the checkpoint table (backfill pause); waiting for backfill resume`,
      );
      while (control === 'pause' && !options.signal?.aborted) {
        await sleep(500);
        control = (await beat()).rows[0]?.control ?? null;
      }
      await recordEvent(s, runId, idx, 'pause:requested', 'backfill pause', Date.now() - t0);
      if (options.signal?.aborted) continue;
      logger.info(`${prefix}resumed after ${formatMs(Date.now() - t0)} (backfill resume)`);
    }
    if (Date.now() - lastHealth >= 1000) {
      lastHealth = Date.now();
      let bad = await health.check(await ourPids());
      if (bad) {
        const t0 = Date.now();
        const first = bad;
        logger.warning(`${prefix}pausing: ${bad.detail}`);
        let wait = 250;
        while (bad && !options.signal?.aborted) {
          await sleep(wait);
          wait = Math.min(wait * 2, 5000);
          control = (await beat()).rows[0]?.control ?? null;
          bad = await health.check(await ourPids());
        }
        const ms = Date.now() - t0;
        await recordEvent(s, runId, idx, `pause:${first.kind}`, first.detail, ms);
        logger.info(`${prefix}resumed after a ${formatMs(ms)} pause (${first.kind})`);
        continue;
      }
    }
    const granules = Math.max(1, Math.floor(sizer.size / granule));
    const usedBefore = used;
    let hi: KeyValue | null;
    let tail = false;
    if (used < bounds.length) {
      used = Math.min(bounds.length, used + granules);
      hi = bounds[used - 1];
    } else {
      // Keys after the last boundary up to the partition's end (rows that appeared since).
      hi = end;
      tail = true;
    }
    const text = sql.batch(lo !== null, hi !== null);
    const params = BackfillSql.params(lo, hi);
    const t0 = Date.now();
    let out: Record<string, unknown>;
    try {
      await s.query(
        `BEGIN; SET LOCAL lock_timeout = ${Math.round(spec.lockTimeoutMs)}; SET LOCAL statement_timeout = ${Math.round(spec.statementTimeoutMs)}`,
      );
      out = (await s.query(text, params)).rows[0];
      const seen = num(out.seen);
      const newKey = hi ?? lo;
      const keysDone = tail ? keysTotal : row.keysDone + used * granule;
      const cp = await s.query(
        `UPDATE runbook.backfill_partitions
            SET last_key = $3, batches = batches + 1, rows_seen = rows_seen + $4,
                rows_inserted = rows_inserted + $5, rows_updated = rows_updated + $6,
                keys_done = $7, batch_size = $8, heartbeat_at = now(),
                status = CASE WHEN $9 THEN 'completed' ELSE status END,
                finished_at = CASE WHEN $9 THEN now() END
          WHERE run_id = $1 AND idx = $2
          RETURNING (SELECT control FROM runbook.backfill_runs WHERE id = $1) AS control`,
        [
          runId,
          idx,
          newKey === null ? null : JSON.stringify(newKey),
          seen,
          num(out.inserted),
          num(out.updated),
          Math.min(keysDone, keysTotal),
          granules * granule,
          tail,
        ],
      );
      await s.query(
        `UPDATE runbook.backfill_runs
            SET batches = batches + 1, rows_seen = rows_seen + $2, rows_inserted = rows_inserted + $3,
                rows_updated = rows_updated + $4, batch_size = $5,
                last_key = CASE WHEN partitions = 1 THEN $6::jsonb END, heartbeat_at = now()
          WHERE id = $1`,
        [
          runId,
          seen,
          num(out.inserted),
          num(out.updated),
          granules * granule,
          newKey === null ? null : JSON.stringify(newKey),
        ],
      );
      await s.query('COMMIT');
      control = cp.rows[0]?.control ?? null;
    } catch (e) {
      await s.query('ROLLBACK').catch(() => {});
      const code = (e as { code?: string }).code;
      const lost = !isSqlState(code) || code.startsWith('08') || code.startsWith('57P');
      const done = await p.client
        .query(
          `SELECT batches, rows_inserted + rows_updated AS written FROM runbook.backfill_runs WHERE id = $1`,
          [runId],
        )
        .then((r) => r.rows[0])
        .catch(() => undefined);
      const committed = done
        ? `${done.batches} earlier batch(es) of run #${runId} are committed (${num(done.written)} rows written)`
        : `every batch of run #${runId} up to the last checkpoint is committed`;
      const what = `batch ${row.batches + batchesHere + 1}${several ? ` of ${label}` : ''} (keys after ${JSON.stringify(lo)} up to ${JSON.stringify(hi)})`;
      if (lost) {
        throw new BackfillConnectionError(
          `connection to the database lost in ${what}: ${redactCredentials((e as Error).message)}. The batch and its checkpoint commit or roll back together, so nothing is half applied; ${committed}. Resume with: ${resumeCommand(p)}; it continues after the last committed key of each partition`,
          { after: lo, upTo: hi },
          resumeCommand(p),
        );
      }
      if (RETRYABLE.has(code) && attempt < retries) {
        attempt++;
        used = usedBefore;
        const smaller = Math.max(granule, Math.floor((granules * granule) / 2));
        sizer.size = smaller;
        const wait = Math.min(30_000, Math.max(pauseMs, 200) * 2 ** Math.min(attempt - 1, 7));
        const blocker = await s
          .query(
            `SELECT a.pid, a.application_name AS app, extract(epoch FROM now() - a.xact_start) AS age
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.relation = to_regclass($1) AND l.granted AND a.pid <> pg_backend_pid()
                AND a.xact_start IS NOT NULL
              ORDER BY a.xact_start LIMIT 1`,
            [spec.table],
          )
          .then((r) => r.rows[0])
          .catch(() => undefined);
        const who = blocker
          ? `; oldest transaction on ${spec.table}: pid ${blocker.pid} ('${blocker.app}', open ${Number(blocker.age).toFixed(1)} s)`
          : '';
        logger.warning(
          `${prefix}batch after ${JSON.stringify(lo)} hit ${(e as Error).message} (SQLSTATE ${code}); retry ${attempt}/${retries} in ${wait} ms with batch size ${smaller}${who}`,
        );
        await recordEvent(
          s,
          runId,
          idx,
          `pause:${code === '57014' ? 'statement-timeout' : 'lock-timeout'}`,
          `${(e as Error).message}${who}`,
          wait,
        );
        await sleep(wait);
        continue;
      }
      const hint = BATCH_HINTS[code] ?? '';
      throw new BackfillBatchError(
        `${what} failed: ${redactCredentials((e as Error).message)} [SQLSTATE ${code}]${hint}; ${committed}; the next execute resumes after ${JSON.stringify(lo)}`,
        spec.locate(['source']),
        code,
        { after: lo, upTo: hi },
      );
    }
    attempt = 0;
    const ms = Date.now() - t0;
    const seen = num(out.seen);
    batchesHere++;
    progress.seen += seen;
    progress.keysDone = tail ? keysTotal : Math.min(keysTotal, row.keysDone + used * granule);
    ctx.durations.push(ms);
    if (hi !== null) lo = hi;
    logger.debug(
      `${prefix}batch ${row.batches + batchesHere}: ${seen} rows, ${num(out.inserted)} inserted, ${num(out.updated)} updated, ${ms} ms`,
    );
    if (tail) return 'completed';
    const before = sizer.size;
    const next = sizer.observe(granules * granule, ms);
    if (ms > spec.maxBatchMs && next < before) {
      logger.info(
        `${prefix}batch took ${ms} ms (> max batch duration ${spec.maxBatchMs} ms): batch size now ${Math.max(1, Math.floor(next / granule)) * granule}`,
      );
    }
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

/**
 * The backfill engine: analyze, dry-run, execute and verify one backfill spec.
 *
 * Execution follows the keyset-batch pattern of Shopify's maintenance_tasks and GitLab's batched
 * background migrations: the source's keys are walked in key order; each batch writes the
 * differing rows of one key range `(lo, hi]` in its own transaction, together with the
 * checkpoint row in `runbook.backfill_runs`, so a run killed at any point resumes after the last
 * committed batch. A session advisory lock per backfill name (PostgreSQL "Advisory Locks") keeps
 * two runs of one backfill apart.
 */
import type pg from 'pg';
import { connect } from '../db/connect.js';
import { acquireAdvisoryLock, LockTimeoutError } from '../db/lock.js';
import { ConfigError, sleep, type Logger, type SourceLocation } from '../errors.js';
import { formatMs } from '../report/markdown.js';
import { runInfo } from '../runinfo.js';
import { loadBackfillSpec, validateSpecAgainstDatabase, type BackfillSpec } from './spec.js';
import { BackfillSql, type KeyValue } from './sql.js';

/** Options shared by every command. */
export interface BackfillOptions {
  /** The spec: a path to its YAML file, or a spec already loaded with `loadBackfillSpec`. */
  spec: string | BackfillSpec;
  /** PostgreSQL connection URL (its password never appears in errors or logs). */
  databaseUrl: string;
  /** PEM text of a CA certificate to trust. */
  caCert?: string;
  /** Overrides the spec's `batch-size` (rows per batch). */
  batchSize?: number;
  /**
   * analyze/dry-run: log anomaly checks that return rows as errors (the action's
   * `fail-on-checks`) instead of warnings. Either way they carry the spec file and line.
   */
  failOnChecks?: boolean;
}

/** Result of one named query (`checks` or `verify`). */
export interface QueryResult {
  name: string;
  description?: string;
  /** Number of rows returned; a check or assertion passes with 0. */
  rows: number;
  /** Up to 5 of the rows. */
  sample: Record<string, unknown>[];
  location: SourceLocation;
}

/** The difference between source and target. */
export interface DiffCounts {
  /** Rows the source yields. */
  sourceRows: number;
  /** Source rows missing from the target that this mode creates. */
  toCreate: number;
  /** Target rows whose columns differ from the source that this mode updates. */
  toUpdate: number;
  /** Target rows already equal to the source. */
  unchanged: number;
  /** Differing rows that the mode leaves alone (missing rows in `update` mode, differing rows in `insert` mode). */
  skipped: number;
}

/** One differing row: its key, the target's columns before (null when missing) and after. */
export interface DiffRow {
  key: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

/**
 * What a differing row changes, one line per column that differs, in the spec's column order:
 * `current_usage_limit: 5 → 20`; a missing row lists every column as `column = value` after
 * `new row:`. Columns that already hold the source's value are left out.
 */
export function describeDiff(d: DiffRow): string[] {
  const show = (v: unknown) => (v === undefined ? 'null' : JSON.stringify(v));
  if (!d.before) {
    return [
      `new row: ${Object.entries(d.after)
        .map(([c, v]) => `${c} = ${show(v)}`)
        .join(', ')}`,
    ];
  }
  const before = d.before;
  return Object.entries(d.after)
    .filter(([c, v]) => show(before[c]) !== show(v))
    .map(([c, v]) => `${c}: ${show(before[c])} → ${show(v)}`);
}

/** Result of {@link analyzeBackfill}. */
export interface AnalyzeResult extends DiffCounts {
  name: string;
  mode: BackfillSpec['mode'];
  table: string;
  /** `toCreate + toUpdate`. */
  totalOperations: number;
  /** Source rows with a NULL in a key column (execute refuses to run while there are any). */
  nullKeys: number;
  /** Source keys that appear more than once (the batch write would fail on them). */
  duplicateKeys: { key: string[]; copies: number }[];
  checks: QueryResult[];
  /** Checks that returned rows. */
  failedChecks: QueryResult[];
  batchSize: number;
  /** Number of batches at the batch size. */
  batches: number;
  /** What batch-size counts: source `rows`, or `keys` of the spec's `batch-keys` query. */
  batchUnit: 'rows' | 'keys';
  /** Rough duration estimate for `execute`, milliseconds (from the time the source takes to read). */
  estimatedMs: number;
  /** The latest recorded run of this backfill, when the checkpoint table exists and has one. */
  lastRun?: RunSummary;
  /** Time analyze took, milliseconds. */
  durationMs: number;
}

/** One row of `runbook.backfill_runs`, as analyze reports it. */
export interface RunSummary {
  id: number;
  status: 'running' | 'paused' | 'completed' | 'failed' | 'abandoned';
  lastKey: KeyValue | null;
  batches: number;
  rowsSeen: number;
  /** True when the next execute would resume this run (same spec checksum, not finished). */
  resumable: boolean;
  startedAt: Date;
}

async function lastRun(p: Prepared): Promise<RunSummary | undefined> {
  const exists = await p.client.query(
    `SELECT to_regclass('runbook.backfill_runs') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0].ok) return undefined;
  const r = (
    await p.client.query(
      `SELECT * FROM runbook.backfill_runs WHERE name = $1 ORDER BY id DESC LIMIT 1`,
      [p.spec.name],
    )
  ).rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id),
    status: r.status,
    lastKey: r.last_key,
    batches: r.batches,
    rowsSeen: num(r.rows_seen),
    resumable: ['running', 'paused', 'failed'].includes(r.status) && r.checksum === p.spec.checksum,
    startedAt: r.started_at,
  };
}

/** Result of {@link dryRunBackfill}. */
export interface DryRunResult extends AnalyzeResult {
  /** The first differing rows in key order, before → after. */
  sample: DiffRow[];
  /** What the first batch would have written; it ran and was rolled back. */
  firstBatch: { seen: number; inserted: number; updated: number; durationMs: number };
}

/** Result of {@link executeBackfill}. Counts are this run's totals, including before a resume. */
export interface ExecuteResult {
  name: string;
  runId: number;
  /** `completed`, or `paused` when `maxBatches` stopped it before the end. */
  status: 'completed' | 'paused';
  /** The key the run resumed after, when it continued an interrupted run. */
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
  lastKey: KeyValue | null;
}

/** Result of {@link verifyBackfill}. */
export interface VerifyResult extends DiffCounts {
  name: string;
  /** True when nothing differs and every assertion returned zero rows. */
  verified: boolean;
  /** The first differing keys, before → after. */
  differences: DiffRow[];
  assertions: QueryResult[];
  durationMs: number;
}

/** Thrown when another session is already running this backfill. */
export class BackfillBusyError extends Error {
  override readonly name = 'BackfillBusyError';
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

/** Hints for SQLSTATEs a batch commonly fails with (PostgreSQL "Appendix A. Error Codes"). */
const BATCH_HINTS: Record<string, string> = {
  '21000': ' (the source yields a key more than once; analyze lists the duplicate keys)',
  '23502': ' (the source yields NULL for a NOT NULL target column)',
  '55P03': ' (lock_timeout: another transaction holds rows of this range; retries exhausted)',
};

interface Prepared {
  spec: BackfillSpec;
  sql: BackfillSql;
  client: pg.Client;
  batchSize: number;
}

async function prepare(options: BackfillOptions, purpose: string): Promise<Prepared> {
  const spec = typeof options.spec === 'string' ? loadBackfillSpec(options.spec) : options.spec;
  if (
    options.batchSize !== undefined &&
    (!Number.isInteger(options.batchSize) || options.batchSize < 1)
  ) {
    throw new ConfigError(
      `must be a positive integer, got ${options.batchSize}`,
      undefined,
      'batch-size',
    );
  }
  const client = await connect(options.databaseUrl, {
    caCert: options.caCert,
    applicationName: `runbook-backfill ${purpose} ${spec.name}`.slice(0, 63),
  });
  try {
    const types = await validateSpecAgainstDatabase(client, spec);
    return {
      spec,
      sql: new BackfillSql(spec, types),
      client,
      batchSize: options.batchSize ?? spec.batchSize,
    };
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
}

const num = (v: unknown): number => Number(v ?? 0);

async function diffCounts(p: Prepared): Promise<DiffCounts> {
  const r = (await p.client.query(p.sql.diffCounts())).rows[0];
  const missing = num(r.to_create);
  const differing = num(r.to_update);
  const mode = p.spec.mode;
  return {
    sourceRows: num(r.source_rows),
    toCreate: mode === 'update' ? 0 : missing,
    toUpdate: mode === 'insert' ? 0 : differing,
    unchanged: num(r.unchanged),
    skipped: mode === 'update' ? missing : mode === 'insert' ? differing : 0,
  };
}

async function diffSample(p: Prepared, limit: number): Promise<DiffRow[]> {
  if (limit <= 0) return [];
  // The SQL keeps only the rows this mode writes, before its LIMIT.
  const r = await p.client.query(p.sql.diffSample(), [limit]);
  return r.rows.map((row) => ({ key: row.key, before: row.before, after: row.after }));
}

async function runQuery(
  client: pg.Client,
  q: BackfillSpec['checks'][number],
  what: string,
): Promise<QueryResult> {
  try {
    const r = await client.query(q.sql);
    return {
      name: q.name,
      description: q.description,
      rows: r.rowCount ?? r.rows.length,
      sample: r.rows.slice(0, 5),
      location: q.location,
    };
  } catch (e) {
    throw new ConfigError(`${what} '${q.name}' fails: ${(e as Error).message}`, q.location);
  }
}

/** Runs `fn` in a read-only REPEATABLE READ transaction (one consistent snapshot, no writes). */
async function readOnly<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    return await fn();
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

async function analyzeWith(
  p: Prepared,
  options: BackfillOptions,
  logger: Logger,
): Promise<AnalyzeResult> {
  const started = Date.now();
  return readOnly(p.client, async () => {
    const t0 = Date.now();
    const counts = await diffCounts(p);
    const readMs = Date.now() - t0;
    const dups = await p.client.query(p.sql.duplicateKeys());
    const nullKeys = await countNullKeys(p);
    const checks: QueryResult[] = [];
    for (const q of p.spec.checks) checks.push(await runQuery(p.client, q, 'check'));
    const totalOperations = counts.toCreate + counts.toUpdate;
    const batchKeys = p.spec.batchKeys
      ? num(
          (await p.client.query(`SELECT count(*) AS n FROM (${p.spec.batchKeys}) AS k`)).rows[0].n,
        )
      : counts.sourceRows;
    const batches = Math.max(1, Math.ceil(batchKeys / p.batchSize));
    // Execute reads the source once more for its boundaries (unless batch-keys gives them
    // cheaply), reads it again batch by batch and writes the differences; ~50k written rows/s
    // is what keyset upserts reach on a small server.
    const reads = p.spec.batchKeys ? 1.5 : 2.5;
    const estimatedMs = Math.round(
      readMs * reads + (totalOperations / 50_000) * 1000 + (batches - 1) * p.spec.pauseMs,
    );
    const result: AnalyzeResult = {
      name: p.spec.name,
      mode: p.spec.mode,
      table: p.spec.table,
      ...counts,
      totalOperations,
      nullKeys,
      duplicateKeys: dups.rows.map((r) => ({ key: r.key, copies: num(r.copies) })),
      checks,
      failedChecks: checks.filter((c) => c.rows > 0),
      batchSize: p.batchSize,
      batches,
      batchUnit: p.spec.batchKeys ? 'keys' : 'rows',
      lastRun: await lastRun(p),
      estimatedMs,
      durationMs: Date.now() - started,
    };
    logAnalysis(result, logger, options.failOnChecks ?? false, p.spec);
    return result;
  });
}

async function countNullKeys(p: Prepared): Promise<number> {
  return num((await p.client.query(p.sql.nullKeys())).rows[0].n);
}

function nullKeyMessage(n: number, spec: BackfillSpec): string {
  return `${n} source row(s) have a NULL key (${spec.key.join(', ')}); keyset batches can never reach them, so execute refuses to run: filter them out of the source (e.g. an inner JOIN or WHERE ${spec.key[0]} IS NOT NULL) or report them as a check`;
}

function batchUnit(r: AnalyzeResult): string {
  return r.batchUnit === 'keys' ? 'batch keys' : 'rows';
}

function logAnalysis(
  r: AnalyzeResult,
  logger: Logger,
  asErrors: boolean,
  spec: BackfillSpec,
): void {
  const line = (label: string, value: number) => logger.info(`  ${label.padEnd(40)} ${value}`);
  logger.info(`Backfill '${r.name}' (${r.mode} into ${r.table}):`);
  line('source rows:', r.sourceRows);
  line(`new ${r.table} rows to create:`, r.toCreate);
  line(`existing ${r.table} rows to update:`, r.toUpdate);
  line('unchanged rows:', r.unchanged);
  if (r.skipped) line('differing rows this mode skips:', r.skipped);
  line('total database operations planned:', r.totalOperations);
  logger.info(
    `  ${r.batches} batch(es) of up to ${r.batchSize} ${batchUnit(r)}; estimated duration ${formatMs(r.estimatedMs)}`,
  );
  if (r.lastRun) {
    const l = r.lastRun;
    logger.info(
      `  last run: #${l.id} ${l.status} after ${l.batches} batch(es), last key ${JSON.stringify(l.lastKey)}${l.resumable ? ' — the next execute resumes it' : ''}`,
    );
  }
  if (r.nullKeys) logger.warning(nullKeyMessage(r.nullKeys, spec), spec.locate(['source']));
  if (r.duplicateKeys.length) {
    logger.warning(
      `the source yields duplicate keys (first: ${JSON.stringify(r.duplicateKeys[0].key)} ×${r.duplicateKeys[0].copies}); execute would fail`,
    );
  }
  for (const c of r.checks) {
    if (c.rows === 0) logger.info(`  check ${c.name}: ok (0 rows)`);
    else
      (asErrors ? logger.error : logger.warning)(
        `check ${c.name}: ${c.rows} row(s)${c.description ? ` — ${c.description}` : ''}; first: ${JSON.stringify(c.sample[0])}`,
        c.location,
      );
  }
}

/**
 * Analyze: read-only counts of rows to create, update and leave unchanged, duplicate source keys,
 * the spec's anomaly checks and an estimated duration. Runs in one READ ONLY transaction.
 * @throws ConfigError for a bad spec (file and line), URL, or a failing check query
 */
export async function analyzeBackfill(
  options: BackfillOptions,
  logger: Logger,
): Promise<AnalyzeResult> {
  const p = await prepare(options, 'analyze');
  try {
    return await analyzeWith(p, options, logger);
  } finally {
    await p.client.end().catch(() => {});
  }
}

/** Options of {@link dryRunBackfill}. */
export interface DryRunOptions extends BackfillOptions {
  /** How many differing rows to show, default 10. */
  sampleSize?: number;
}

/**
 * Dry-run: analyze, a sample of the differences (before → after), and the first batch executed
 * inside a transaction that is rolled back, so a statement that fails would fail here.
 * Leaves every table unchanged (it never creates the checkpoint table).
 * @throws ConfigError for a bad spec; the database error when the first batch fails
 */
export async function dryRunBackfill(
  options: DryRunOptions,
  logger: Logger,
): Promise<DryRunResult> {
  const p = await prepare(options, 'dry-run');
  try {
    const analysis = await analyzeWith(p, options, logger);
    const sample = await readOnly(p.client, () => diffSample(p, options.sampleSize ?? 10));
    if (sample.length) {
      logger.info(`First ${sample.length} difference(s), before → after:`);
      for (const d of sample) {
        logger.info(`  ${JSON.stringify(d.key)}: ${describeDiff(d).join('; ')}`);
      }
    }
    const bounds = await p.client.query(p.sql.boundaries(false), [p.batchSize]);
    const hi: KeyValue | null = bounds.rows.length
      ? keyOf(bounds.rows[0], p.spec.key.length)
      : null;
    await p.client.query('BEGIN');
    let firstBatch: DryRunResult['firstBatch'];
    try {
      await p.client.query(`SET LOCAL lock_timeout = ${Math.round(p.spec.lockTimeoutMs)}`);
      const t0 = Date.now();
      const r = (
        await p.client.query(p.sql.batch(false, hi !== null), BackfillSql.params(null, hi))
      ).rows[0];
      firstBatch = {
        seen: num(r.seen),
        inserted: num(r.inserted),
        updated: num(r.updated),
        durationMs: Date.now() - t0,
      };
    } finally {
      await p.client.query('ROLLBACK');
    }
    logger.info(
      `First batch (rolled back): ${firstBatch.seen} source rows, would insert ${firstBatch.inserted} and update ${firstBatch.updated}, took ${formatMs(firstBatch.durationMs)}`,
    );
    const estimatedMs = Math.round(
      analysis.batches * Math.max(1, firstBatch.durationMs) +
        (analysis.batches - 1) * p.spec.pauseMs,
    );
    return { ...analysis, estimatedMs, sample, firstBatch };
  } finally {
    await p.client.end().catch(() => {});
  }
}

function keyOf(row: Record<string, unknown>, n: number): KeyValue {
  return Array.from({ length: n }, (_, i) => String(row[`k${i}`]));
}

/** DDL of the checkpoint table (schema `runbook`, created on the first execute). */
export const CHECKPOINT_DDL = `
CREATE SCHEMA IF NOT EXISTS runbook;
CREATE TABLE IF NOT EXISTS runbook.backfill_runs (
  id             bigserial PRIMARY KEY,
  name           text NOT NULL,
  checksum       text NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'paused', 'completed', 'failed', 'abandoned')),
  last_key       jsonb,
  batches        integer NOT NULL DEFAULT 0,
  rows_seen      bigint NOT NULL DEFAULT 0,
  rows_inserted  bigint NOT NULL DEFAULT 0,
  rows_updated   bigint NOT NULL DEFAULT 0,
  batch_size     integer,
  error          text,
  actor          text,
  run_url        text,
  started_at     timestamptz NOT NULL DEFAULT now(),
  heartbeat_at   timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz
);
CREATE INDEX IF NOT EXISTS backfill_runs_name_idx ON runbook.backfill_runs (name, id DESC);
`;

/** Options of {@link executeBackfill}. */
export interface ExecuteOptions extends BackfillOptions {
  /** Stop after this many batches (status `paused`; the next execute resumes). */
  maxBatches?: number;
  /** How long to wait for another run of this backfill to finish, milliseconds. Default 0: refuse at once. */
  lockWaitMs?: number;
  /** Overrides the spec's `throttle.pause`, milliseconds. */
  pauseMs?: number;
  /** Minimum time between progress lines, milliseconds. Default 2000. */
  progressIntervalMs?: number;
  /** Retries of a batch that hit `lock_timeout` (SQLSTATE 55P03) or a deadlock. Default 5. */
  lockRetries?: number;
}

const RETRYABLE = new Set(['55P03', '40P01', '40001']);

/**
 * Execute: writes the differences in keyset batches, each in its own transaction with its
 * checkpoint; resumes an interrupted run of the same spec (same checksum) from its last key;
 * refuses when another session runs the same backfill. A second execute writes nothing.
 * @throws BackfillBusyError when the backfill is already running elsewhere
 * @throws ConfigError for a bad spec (before anything is written)
 */
export async function executeBackfill(
  options: ExecuteOptions,
  logger: Logger,
): Promise<ExecuteResult> {
  const p = await prepare(options, 'execute');
  const { spec, client } = p;
  let release: (() => Promise<void>) | undefined;
  let runId: number;
  try {
    try {
      release = await acquireAdvisoryLock(
        client,
        `runbook:backfill:${spec.name}`,
        options.lockWaitMs ?? 0,
      );
    } catch (e) {
      if (e instanceof LockTimeoutError) {
        const h = e.holder;
        throw new BackfillBusyError(
          `backfill '${spec.name}' is already running in another session${h ? ` (pid ${h.pid}, application_name '${h.applicationName}')` : ''}; refusing to run it twice at once`,
        );
      }
      throw e;
    }
    const nullKeys = await countNullKeys(p);
    if (nullKeys) throw new ConfigError(nullKeyMessage(nullKeys, spec), spec.locate(['source']));
    await client.query(CHECKPOINT_DDL);
    const info = runInfo();
    const previous = (
      await client.query(
        `SELECT * FROM runbook.backfill_runs WHERE name = $1 AND status IN ('running', 'paused', 'failed')
          ORDER BY id DESC LIMIT 1`,
        [spec.name],
      )
    ).rows[0];
    let lastKey: KeyValue | null = null;
    let resumed = false;
    let totals = { batches: 0, seen: 0, inserted: 0, updated: 0 };
    if (previous && previous.checksum === spec.checksum) {
      runId = Number(previous.id);
      lastKey = previous.last_key;
      resumed = true;
      totals = {
        batches: previous.batches,
        seen: num(previous.rows_seen),
        inserted: num(previous.rows_inserted),
        updated: num(previous.rows_updated),
      };
      await client.query(
        `UPDATE runbook.backfill_runs SET status = 'running', error = NULL, heartbeat_at = now() WHERE id = $1`,
        [runId],
      );
      logger.info(
        `Resuming run #${runId} of '${spec.name}' (${previous.status}) after key ${JSON.stringify(lastKey)}: ${totals.batches} batch(es), ${totals.seen} rows done`,
      );
    } else {
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
      const r = await client.query(
        `INSERT INTO runbook.backfill_runs (name, checksum, status, batch_size, actor, run_url)
         VALUES ($1, $2, 'running', $3, $4, $5) RETURNING id`,
        [spec.name, spec.checksum, p.batchSize, info.actor, info.runUrl ?? null],
      );
      runId = Number(r.rows[0].id);
      logger.info(`Run #${runId} of '${spec.name}': ${spec.mode} into ${spec.table}`);
    }
    const resumedFrom = lastKey;

    try {
      const out = await runBatches(p, runId, lastKey, totals, options, logger);
      const status = out.done ? 'completed' : 'paused';
      await client.query(
        `UPDATE runbook.backfill_runs SET status = $2, finished_at = CASE WHEN $2 = 'completed' THEN now() END,
                heartbeat_at = now() WHERE id = $1`,
        [runId, status],
      );
      const t = out.totals;
      const result: ExecuteResult = {
        name: spec.name,
        runId,
        status,
        resumed,
        resumedFrom: resumed ? resumedFrom : undefined,
        batches: t.batches,
        rowsSeen: t.seen,
        inserted: t.inserted,
        updated: t.updated,
        unchanged: t.seen - t.inserted - t.updated,
        rowsWritten: t.inserted + t.updated,
        longestBatchMs: out.longestBatchMs,
        medianBatchMs: out.medianBatchMs,
        durationMs: out.durationMs,
        rowsPerSecond: out.rowsPerSecond,
        lastKey: out.lastKey,
      };
      logger.info(
        `Run #${runId} ${status}: ${t.batches} batch(es), ${t.seen} source rows, ${t.inserted} inserted, ${t.updated} updated, ${result.unchanged} unchanged; longest batch ${formatMs(out.longestBatchMs)}`,
      );
      return result;
    } catch (e) {
      await client
        .query(
          `UPDATE runbook.backfill_runs SET status = 'failed', error = $2, heartbeat_at = now() WHERE id = $1`,
          [runId, (e as Error).message.slice(0, 2000)],
        )
        .catch(() => {});
      throw e;
    }
  } finally {
    if (release) await release();
    await client.end().catch(() => {});
  }
}

interface BatchLoopResult {
  done: boolean;
  totals: { batches: number; seen: number; inserted: number; updated: number };
  lastKey: KeyValue | null;
  longestBatchMs: number;
  medianBatchMs: number;
  durationMs: number;
  rowsPerSecond: number;
}

async function runBatches(
  p: Prepared,
  runId: number,
  startKey: KeyValue | null,
  startTotals: BatchLoopResult['totals'],
  options: ExecuteOptions,
  logger: Logger,
): Promise<BatchLoopResult> {
  const { spec, sql, client } = p;
  const started = Date.now();
  const totals = { ...startTotals };
  const pauseMs = options.pauseMs ?? spec.pauseMs;
  const maxBatches = options.maxBatches ?? Infinity;
  const progressMs = options.progressIntervalMs ?? 2000;
  const retries = options.lockRetries ?? 5;
  const nk = spec.key.length;
  // Boundaries at a fine granule, so a slow batch can shrink to a fraction of the batch size.
  // A batch is a whole number of granules and never more than the batch size (45 → 22 × 2).
  const granule = Math.max(1, Math.floor(p.batchSize / 20));
  const tb = Date.now();
  const b = await client.query(sql.boundaries(startKey !== null), [granule, ...(startKey ?? [])]);
  const bounds = b.rows.map((r) => keyOf(r, nk));
  const keyCount = b.rows.length ? num(b.rows[b.rows.length - 1].total) : 0;
  logger.info(
    `${keyCount} ${spec.batchKeys ? 'batch key(s)' : 'source row(s)'} to walk${startKey ? ' after the checkpoint' : ''} (keyset boundaries in ${formatMs(Date.now() - tb)}); batch size ${p.batchSize}, pause ${pauseMs} ms, max batch duration ${spec.maxBatchMs} ms`,
  );
  const maxGranules = Math.max(1, Math.floor(p.batchSize / granule));
  let granules = maxGranules;
  let idx = 0; // next boundary to use
  let lo = startKey;
  let longest = 0;
  const durations: number[] = [];
  let seenHere = 0;
  let batchesHere = 0;
  let lastProgress = Date.now();
  let tailDone = false;
  while (!tailDone) {
    if (batchesHere >= maxBatches) {
      logger.info(
        `Stopping after ${batchesHere} batch(es) (max-batches); the next execute resumes after ${JSON.stringify(lo)}`,
      );
      return finish(false);
    }
    let hi: KeyValue | null = null;
    if (idx < bounds.length) {
      idx = Math.min(bounds.length, idx + granules);
      hi = bounds[idx - 1];
    } else tailDone = true; // keys after the last boundary (rows that appeared since)
    const text = sql.batch(lo !== null, hi !== null);
    const params = BackfillSql.params(lo, hi);
    let attempt = 0;
    let row: Record<string, unknown>;
    let ms: number;
    for (;;) {
      const t0 = Date.now();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = ${Math.round(spec.lockTimeoutMs)}`);
        row = (await client.query(text, params)).rows[0];
        const seen = num(row.seen);
        const newKey = hi ?? lo;
        await client.query(
          `UPDATE runbook.backfill_runs
              SET last_key = $2, batches = batches + 1, rows_seen = rows_seen + $3,
                  rows_inserted = rows_inserted + $4, rows_updated = rows_updated + $5,
                  batch_size = $6, heartbeat_at = now()
            WHERE id = $1`,
          [
            runId,
            newKey === null ? null : JSON.stringify(newKey),
            seen,
            num(row.inserted),
            num(row.updated),
            granules * granule,
          ],
        );
        await client.query('COMMIT');
        ms = Date.now() - t0;
        break;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        const code = (e as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < retries) {
          attempt++;
          const wait = Math.max(pauseMs, 100) * attempt;
          logger.warning(
            `batch after ${JSON.stringify(lo)} hit ${(e as Error).message} (SQLSTATE ${code}); retry ${attempt}/${retries} in ${wait} ms`,
          );
          await sleep(wait);
          continue;
        }
        if (!code) throw e;
        const written = totals.inserted + totals.updated;
        throw new BackfillBatchError(
          `batch ${totals.batches + 1} (keys after ${JSON.stringify(lo)} up to ${JSON.stringify(hi)}) failed: ${(e as Error).message} [SQLSTATE ${code}]${BATCH_HINTS[code] ?? ''}; ${totals.batches} earlier batch(es) of run #${runId} are committed (${written} rows written); the next execute resumes after ${JSON.stringify(lo)}`,
          spec.locate(['source']),
          code,
          { after: lo, upTo: hi },
        );
      }
    }
    const seen = num(row.seen);
    totals.batches++;
    totals.seen += seen;
    totals.inserted += num(row.inserted);
    totals.updated += num(row.updated);
    batchesHere++;
    seenHere += seen;
    if (hi !== null) lo = hi;
    longest = Math.max(longest, ms);
    durations.push(ms);
    logger.debug(
      `batch ${totals.batches}: ${seen} rows, ${num(row.inserted)} inserted, ${num(row.updated)} updated, ${ms} ms`,
    );
    if (ms > spec.maxBatchMs && granules > 1) {
      granules = Math.max(1, Math.floor(granules / 2));
      logger.info(
        `batch took ${ms} ms (> max batch duration ${spec.maxBatchMs} ms): batch size now ${granules * granule}`,
      );
    } else if (ms < spec.maxBatchMs / 3 && granules < maxGranules) {
      granules = Math.min(maxGranules, Math.ceil(granules * 1.25));
    }
    const now = Date.now();
    if (now - lastProgress >= progressMs || tailDone) {
      lastProgress = now;
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? seenHere / elapsed : 0;
      // Progress is measured in batch keys walked, so it holds with or without `batch-keys`.
      const done = tailDone || bounds.length === 0 ? 1 : idx / bounds.length;
      const etaMs = done > 0 ? ((now - started) * (1 - done)) / done : NaN;
      logger.info(
        `progress: ${(100 * done).toFixed(1)}% of ${keyCount} keys, ${seenHere} source rows, ${totals.batches} batches, ${Math.round(rate)} rows/s, ETA ${Number.isFinite(etaMs) ? formatMs(etaMs) : '?'}`,
      );
    }
    if (!tailDone && pauseMs > 0) await sleep(pauseMs);
  }
  return finish(true);

  function finish(done: boolean): BatchLoopResult {
    const durationMs = Date.now() - started;
    return {
      done,
      totals,
      lastKey: lo,
      longestBatchMs: longest,
      medianBatchMs: durations.length
        ? [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]
        : 0,
      durationMs,
      rowsPerSecond: durationMs > 0 ? Math.round((seenHere / durationMs) * 1000) : 0,
    };
  }
}

/** Options of {@link verifyBackfill}. */
export interface VerifyOptions extends BackfillOptions {
  /** How many differing keys to report, default 10. */
  sampleSize?: number;
}

/**
 * Verify: recomputes the difference between source and target (must be zero for the mode) and
 * runs the spec's `verify` assertions (each must return zero rows), in one read-only snapshot.
 * The result names the first differing keys.
 * @throws ConfigError for a bad spec or an assertion query that fails
 */
export async function verifyBackfill(
  options: VerifyOptions,
  logger: Logger,
): Promise<VerifyResult> {
  const p = await prepare(options, 'verify');
  const started = Date.now();
  try {
    return await readOnly(p.client, async () => {
      const counts = await diffCounts(p);
      const differing = counts.toCreate + counts.toUpdate;
      const differences = differing ? await diffSample(p, options.sampleSize ?? 10) : [];
      const assertions: QueryResult[] = [];
      for (const q of p.spec.verify)
        assertions.push(await runQuery(p.client, q, 'verify assertion'));
      const verified = differing === 0 && assertions.every((a) => a.rows === 0);
      if (differing === 0)
        logger.info(`source and ${p.spec.table} agree on ${counts.sourceRows} row(s)`);
      else
        logger.error(
          `${differing} row(s) differ (${counts.toCreate} missing, ${counts.toUpdate} different); first keys: ${differences
            .map((d) => JSON.stringify(d.key))
            .join(', ')}`,
        );
      for (const a of assertions) {
        if (a.rows === 0) logger.info(`assertion ${a.name}: ok`);
        else
          logger.error(
            `assertion ${a.name}: ${a.rows} row(s); first: ${JSON.stringify(a.sample[0])}`,
            a.location,
          );
      }
      logger.info(`verify ${verified ? 'passed' : 'FAILED'}`);
      return {
        name: p.spec.name,
        ...counts,
        verified,
        differences,
        assertions,
        durationMs: Date.now() - started,
      };
    });
  } finally {
    await p.client.end().catch(() => {});
  }
}

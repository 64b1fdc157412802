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
import { ConfigError, type Logger, type SourceLocation } from '../errors.js';
import { ident } from '../db/connect.js';
import { formatMs } from '../report/markdown.js';
import { checkpointExists } from './checkpoint.js';
import { checkIdempotence, checkStatements } from './lint.js';
import { openSession } from './session.js';
import {
  loadBackfillSpec,
  MAX_BATCH_SIZE,
  validateSpecAgainstDatabase,
  type BackfillSpec,
} from './spec.js';
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
  /** Why the query was not run (analyze before the target columns exist). */
  skipped?: string;
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
  /**
   * What of the target does not exist yet (`table t`, `column c`): analyze ran on the source
   * alone, and `toCreate`/`toUpdate` are upper bounds (every source row whose key is missing or
   * present, as nothing can be compared yet).
   */
  missingTarget: string[];
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
  /** Number of key-range partitions. */
  partitions: number;
  /** Partitions not completed yet. */
  unfinishedPartitions: number;
  /** Seconds since the newest heartbeat of the run or any of its partitions. */
  heartbeatAgeS: number;
  /**
   * True when the run is marked `running` but its heartbeat is older than the spec's
   * `stale-after`: the process running it died or hangs.
   */
  dead: boolean;
}

async function lastRun(p: Prepared): Promise<RunSummary | undefined> {
  if (!(await checkpointExists(p.client))) return undefined;
  const r = (
    await p.client.query(
      `SELECT r.*, count(x.idx) AS parts, count(x.idx) FILTER (WHERE x.status <> 'completed') AS open,
              extract(epoch FROM now() - greatest(r.heartbeat_at, max(x.heartbeat_at))) AS age
         FROM runbook.backfill_runs r LEFT JOIN runbook.backfill_partitions x ON x.run_id = r.id
        WHERE r.name = $1 GROUP BY r.id ORDER BY r.id DESC LIMIT 1`,
      [p.spec.name],
    )
  ).rows[0];
  if (!r) return undefined;
  const age = Number(r.age ?? 0);
  return {
    id: Number(r.id),
    status: r.status,
    lastKey: r.last_key,
    batches: r.batches,
    rowsSeen: num(r.rows_seen),
    resumable: ['running', 'paused', 'failed'].includes(r.status) && r.checksum === p.spec.checksum,
    startedAt: r.started_at,
    partitions: Math.max(1, num(r.parts)),
    unfinishedPartitions: num(r.open),
    heartbeatAgeS: age,
    dead: r.status === 'running' && age * 1000 > p.spec.staleAfterMs,
  };
}

/** Result of {@link dryRunBackfill}. */
export interface DryRunResult extends AnalyzeResult {
  /** The first differing rows in key order, before → after. */
  sample: DiffRow[];
  /** What the first batch would have written; it ran and was rolled back. */
  firstBatch: { seen: number; inserted: number; updated: number; durationMs: number };
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

/** A loaded spec with its SQL and an open session (internal to the backfill commands). */
export interface Prepared {
  spec: BackfillSpec;
  sql: BackfillSql;
  client: pg.Client;
  batchSize: number;
  /** What of the target does not exist yet (analyze only; empty otherwise). */
  missingTarget: string[];
}

/**
 * Loads the spec, opens a session with timeouts, checks the spec against the database, refuses
 * a non-idempotent source (unless declared) and plans the batch write and verify queries.
 * @param options.allowMissingTarget analyze: go on when the target table or columns do not exist yet
 * @throws ConfigError naming the input, file and line of the problem
 */
export async function prepare(
  options: BackfillOptions,
  purpose: string,
  extra: { allowMissingTarget?: boolean } = {},
): Promise<Prepared> {
  const spec = typeof options.spec === 'string' ? loadBackfillSpec(options.spec) : options.spec;
  if (
    options.batchSize !== undefined &&
    (!Number.isInteger(options.batchSize) ||
      options.batchSize < 1 ||
      options.batchSize > MAX_BATCH_SIZE)
  ) {
    throw new ConfigError(
      `must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${options.batchSize}`,
      undefined,
      'batch-size',
    );
  }
  const client = await openSession(options.databaseUrl, {
    caCert: options.caCert,
    applicationName: `runbook-backfill ${purpose} ${spec.name}`,
    idleInTransactionMs: spec.idleInTransactionMs,
  });
  try {
    const target = await validateSpecAgainstDatabase(client, spec, 'spec', extra);
    const sql = new BackfillSql(spec, target);
    await checkIdempotence(client, spec);
    if (!target.missing.length) await checkStatements(client, spec, sql);
    return {
      spec,
      sql,
      client,
      batchSize: options.batchSize ?? spec.batchSize,
      missingTarget: target.missing,
    };
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
}

/** A count column (bigint arrives as text) as a number. */
export const num = (v: unknown): number => Number(v ?? 0);

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
export async function readOnly<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
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
    const sourceOnly = p.missingTarget.length > 0;
    const counts = sourceOnly ? await sourceOnlyCounts(p) : await diffCounts(p);
    const readMs = Date.now() - t0;
    const dups = await p.client.query(p.sql.duplicateKeys());
    const nullKeys = await countNullKeys(p);
    const checks: QueryResult[] = [];
    for (const q of p.spec.checks) {
      if (!sourceOnly) checks.push(await runQuery(p.client, q, 'check'));
      else {
        // A check may read the columns the migration has not added yet.
        await p.client.query('SAVEPOINT check_query');
        try {
          checks.push(await runQuery(p.client, q, 'check'));
          await p.client.query('RELEASE SAVEPOINT check_query');
        } catch (e) {
          await p.client.query('ROLLBACK TO SAVEPOINT check_query');
          checks.push({
            name: q.name,
            description: q.description,
            rows: 0,
            sample: [],
            location: q.location,
            skipped: (e as Error).message,
          });
        }
      }
    }
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
      missingTarget: p.missingTarget,
      estimatedMs,
      durationMs: Date.now() - started,
    };
    logAnalysis(result, logger, options.failOnChecks ?? false, p.spec);
    return result;
  });
}

/**
 * Counts when the target table or columns do not exist yet: source rows, and how many of their
 * keys are missing from / present in the target (all missing when the table does not exist).
 */
async function sourceOnlyCounts(p: Prepared): Promise<DiffCounts> {
  const { spec } = p;
  const tableMissing = p.missingTarget.some((m) => m.startsWith('table '));
  const keys = spec.key.map((k) => `t.${ident(k)}`).join(', ');
  const join = spec.key.map((k) => `t.${ident(k)} = s.${ident(k)}`).join(' AND ');
  const r = (
    await p.client.query(
      tableMissing
        ? `SELECT count(*) AS n, 0 AS present FROM (${spec.source}) AS s`
        : `SELECT count(*) AS n, count(t.__p) AS present FROM (${spec.source}) AS s
             LEFT JOIN (SELECT true AS __p, ${keys} FROM ${ident(spec.table)} AS t) AS t ON ${join}`,
    )
  ).rows[0];
  const n = num(r.n);
  const present = num(r.present);
  const missing = n - present;
  return {
    sourceRows: n,
    toCreate: spec.mode === 'update' ? 0 : missing,
    toUpdate: spec.mode === 'insert' ? 0 : present,
    unchanged: 0,
    skipped: spec.mode === 'update' ? missing : spec.mode === 'insert' ? present : 0,
  };
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
  if (r.missingTarget.length) {
    logger.warning(
      `${r.missingTarget.join(', ')} of ${r.table} do(es) not exist yet: analyzed the source alone; rows to create/update are upper bounds (run the migration that adds them before dry-run and execute)`,
      spec.locate(['target']),
    );
  }
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
      `  last run: #${l.id} ${l.status} after ${l.batches} batch(es), ${l.partitions > 1 ? `${l.unfinishedPartitions} of ${l.partitions} partitions unfinished` : `last key ${JSON.stringify(l.lastKey)}`}${l.resumable ? ' — the next execute resumes it' : ''}`,
    );
    if (l.dead) {
      logger.warning(
        `run #${l.id} is marked running but its last heartbeat is ${Math.round(l.heartbeatAgeS)} s old (stale after ${Math.round(spec.staleAfterMs / 1000)} s): the process running it is dead or hung; the next execute takes over and resumes it`,
      );
    }
  }
  if (r.nullKeys) logger.warning(nullKeyMessage(r.nullKeys, spec), spec.locate(['source']));
  if (r.duplicateKeys.length) {
    logger.warning(
      `the source yields duplicate keys (first: ${JSON.stringify(r.duplicateKeys[0].key)} ×${r.duplicateKeys[0].copies}); execute would fail`,
    );
  }
  for (const c of r.checks) {
    if (c.skipped)
      logger.info(`  check ${c.name}: not run before the target exists (${c.skipped})`);
    else if (c.rows === 0) logger.info(`  check ${c.name}: ok (0 rows)`);
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
  const p = await prepare(options, 'analyze', { allowMissingTarget: true });
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

/** The key `k0…k{n-1}` columns of a boundaries row. */
export function keyOf(row: Record<string, unknown>, n: number): KeyValue {
  return Array.from({ length: n }, (_, i) => String(row[`k${i}`]));
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
      if (!p.spec.idempotent) return verifyNonIdempotent(p, logger, started);
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

/**
 * Verify of an `idempotent: false` spec: the source never equals the target after a write (it
 * reads what it writes), so instead of the difference the latest run of this spec must have
 * completed, and every assertion must return zero rows.
 */
async function verifyNonIdempotent(
  p: Prepared,
  logger: Logger,
  started: number,
): Promise<VerifyResult> {
  const run = await lastRun(p);
  const completed = run?.status === 'completed' && run.resumable === false;
  const sameSpec =
    run !== undefined &&
    (await p.client.query(`SELECT checksum FROM runbook.backfill_runs WHERE id = $1`, [run.id]))
      .rows[0]?.checksum === p.spec.checksum;
  const assertions: QueryResult[] = [];
  for (const q of p.spec.verify) assertions.push(await runQuery(p.client, q, 'verify assertion'));
  const verified = completed && sameSpec && assertions.every((a) => a.rows === 0);
  if (completed && sameSpec)
    logger.info(
      `run #${run!.id} completed: ${run!.rowsSeen} source row(s) walked once (idempotent: false, so the difference is not compared)`,
    );
  else
    logger.error(
      `no completed run of this spec (idempotent: false): ${run ? `latest run #${run.id} is ${run.status}${sameSpec ? '' : ' with another spec checksum'}` : 'never executed'}`,
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
  const seen = run?.rowsSeen ?? 0;
  return {
    name: p.spec.name,
    sourceRows: seen,
    toCreate: 0,
    toUpdate: 0,
    unchanged: seen,
    skipped: 0,
    verified,
    differences: [],
    assertions,
    durationMs: Date.now() - started,
  };
}

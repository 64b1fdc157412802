/**
 * What the backfill commands share: options, loading and checking a spec against the database
 * on a session with timeouts ({@link prepare}), the difference between source and target, named
 * queries, the latest run, and a read-only snapshot.
 */
import type pg from 'pg';
import { ConfigError, type SourceLocation } from '../errors.js';
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

export async function lastRun(p: Prepared): Promise<RunSummary | undefined> {
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

export async function diffCounts(p: Prepared): Promise<DiffCounts> {
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

export async function diffSample(p: Prepared, limit: number): Promise<DiffRow[]> {
  if (limit <= 0) return [];
  // The SQL keeps only the rows this mode writes, before its LIMIT.
  const r = await p.client.query(p.sql.diffSample(), [limit]);
  return r.rows.map((row) => ({ key: row.key, before: row.before, after: row.after }));
}

export async function runQuery(
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

/** The key `k0…k{n-1}` columns of a boundaries row. */
export function keyOf(row: Record<string, unknown>, n: number): KeyValue {
  return Array.from({ length: n }, (_, i) => String(row[`k${i}`]));
}

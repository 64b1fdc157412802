/**
 * The checkpoint tables in schema `runbook`: one row per run in `backfill_runs`, one row per key
 * range in `backfill_partitions` (its last committed key and counters, written in the same
 * transaction as each batch), health pauses in `backfill_events`, and the pause/resume control
 * that a running backfill reads with every checkpoint.
 *
 * Creating the schema is serialised with a transaction-level advisory lock
 * (`pg_advisory_xact_lock`, PostgreSQL "Advisory Locks"): two runs starting at once on a fresh
 * database would otherwise race on `CREATE SCHEMA IF NOT EXISTS` and one would fail with a
 * unique violation on `pg_namespace`.
 */
import type pg from 'pg';
import { lockKey } from '../db/lock.js';
import type { KeyValue } from './sql.js';

/** DDL of the checkpoint tables (schema `runbook`, created or upgraded on the first execute). */
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
ALTER TABLE runbook.backfill_runs
  ADD COLUMN IF NOT EXISTS partitions integer NOT NULL DEFAULT 1,
  ADD COLUMN IF NOT EXISTS pid integer,
  ADD COLUMN IF NOT EXISTS control text,
  ADD COLUMN IF NOT EXISTS control_by text,
  ADD COLUMN IF NOT EXISTS control_at timestamptz,
  ADD COLUMN IF NOT EXISTS token text;
CREATE TABLE IF NOT EXISTS runbook.backfill_partitions (
  run_id         bigint NOT NULL REFERENCES runbook.backfill_runs (id) ON DELETE CASCADE,
  idx            integer NOT NULL,
  lo             jsonb,
  hi             jsonb,
  last_key       jsonb,
  status         text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  batches        integer NOT NULL DEFAULT 0,
  rows_seen      bigint NOT NULL DEFAULT 0,
  rows_inserted  bigint NOT NULL DEFAULT 0,
  rows_updated   bigint NOT NULL DEFAULT 0,
  keys_total     bigint,
  keys_done      bigint NOT NULL DEFAULT 0,
  batch_size     integer,
  pid            integer,
  error          text,
  heartbeat_at   timestamptz,
  finished_at    timestamptz,
  PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS runbook.backfill_events (
  id             bigserial PRIMARY KEY,
  run_id         bigint NOT NULL REFERENCES runbook.backfill_runs (id) ON DELETE CASCADE,
  idx            integer,
  kind           text NOT NULL,
  detail         text,
  started_at     timestamptz NOT NULL DEFAULT now(),
  duration_ms    integer
);
`;

/**
 * Creates or upgrades the checkpoint tables. Safe when several sessions start at once: the DDL
 * runs in one transaction under a transaction-level advisory lock.
 */
export async function ensureCheckpointSchema(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
      lockKey('runbook:checkpoint-schema'),
    ]);
    await client.query(CHECKPOINT_DDL);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** True when the checkpoint tables of this version exist (analyze never creates them). */
export async function checkpointExists(client: pg.Client): Promise<boolean> {
  const r = await client.query(
    `SELECT to_regclass('runbook.backfill_runs') IS NOT NULL AS runs,
            to_regclass('runbook.backfill_partitions') IS NOT NULL AS parts`,
  );
  return Boolean(r.rows[0].runs && r.rows[0].parts);
}

/** One partition's checkpoint row. */
export interface PartitionRow {
  idx: number;
  /** Exclusive lower bound of the range; null: from the first key. */
  lo: KeyValue | null;
  /** Inclusive upper bound; null: up to the last key, including keys that appear later. */
  hi: KeyValue | null;
  /** The last committed key; null: nothing committed yet (the range starts at `lo`). */
  lastKey: KeyValue | null;
  status: 'pending' | 'running' | 'completed' | 'failed';
  batches: number;
  rowsSeen: number;
  inserted: number;
  updated: number;
  keysTotal: number | null;
  keysDone: number;
  pid: number | null;
  error: string | null;
  /** Seconds since the partition's last heartbeat; null when it never ran. */
  heartbeatAgeS: number | null;
}

const num = (v: unknown): number => Number(v ?? 0);

/** Reads every partition row of a run, by index. */
export async function readPartitions(client: pg.Client, runId: number): Promise<PartitionRow[]> {
  const r = await client.query(
    `SELECT *, extract(epoch FROM now() - heartbeat_at) AS age
       FROM runbook.backfill_partitions WHERE run_id = $1 ORDER BY idx`,
    [runId],
  );
  return r.rows.map((row) => ({
    idx: row.idx,
    lo: row.lo,
    hi: row.hi,
    lastKey: row.last_key,
    status: row.status,
    batches: row.batches,
    rowsSeen: num(row.rows_seen),
    inserted: num(row.rows_inserted),
    updated: num(row.rows_updated),
    keysTotal: row.keys_total === null ? null : num(row.keys_total),
    keysDone: num(row.keys_done),
    pid: row.pid,
    error: row.error,
    heartbeatAgeS: row.age === null ? null : Number(row.age),
  }));
}

/** The pause/resume control of a run, as `backfill pause` / `backfill resume` set it. */
export type RunControl = 'pause' | null;

/**
 * Sets or clears the pause request of the latest unfinished run of `name`. Running partitions
 * read it with every checkpoint and wait (without an open transaction) until it is cleared.
 * @returns the run id, or undefined when no unfinished run exists
 */
export async function setRunControl(
  client: pg.Client,
  name: string,
  control: RunControl,
  actor: string,
): Promise<{ runId: number; status: string } | undefined> {
  if (!(await checkpointExists(client))) return undefined;
  const r = await client.query(
    `UPDATE runbook.backfill_runs SET control = $2, control_by = $3, control_at = now()
      WHERE id = (SELECT id FROM runbook.backfill_runs
                   WHERE name = $1 AND status IN ('running', 'paused', 'failed')
                   ORDER BY id DESC LIMIT 1)
      RETURNING id, status`,
    [name, control, actor],
  );
  return r.rows[0] ? { runId: Number(r.rows[0].id), status: r.rows[0].status } : undefined;
}

/** Records one event (a health pause, a takeover) of a run; never fails the caller. */
export async function recordEvent(
  client: pg.Client,
  runId: number,
  idx: number | null,
  kind: string,
  detail: string,
  durationMs?: number,
): Promise<void> {
  await client
    .query(
      `INSERT INTO runbook.backfill_events (run_id, idx, kind, detail, started_at, duration_ms)
       VALUES ($1, $2, $3, $4, now() - make_interval(secs => $5::double precision / 1000), $5)`,
      [runId, idx, kind, detail.slice(0, 2000), durationMs ?? 0],
    )
    .catch(() => {});
}

/** Health pauses of a run, summed by kind. */
export interface PauseSummary {
  kind: string;
  count: number;
  /** Total pause time, milliseconds. */
  totalMs: number;
  /** The detail of the longest pause. */
  worst: string;
}

/** Reads the pauses recorded for a run, summed by kind, longest first. */
export async function readPauses(client: pg.Client, runId: number): Promise<PauseSummary[]> {
  const r = await client.query(
    `SELECT kind, count(*) AS n, coalesce(sum(duration_ms), 0) AS total,
            (array_agg(detail ORDER BY duration_ms DESC NULLS LAST))[1] AS worst
       FROM runbook.backfill_events WHERE run_id = $1 AND kind LIKE 'pause:%'
      GROUP BY kind ORDER BY total DESC`,
    [runId],
  );
  return r.rows.map((row) => ({
    kind: String(row.kind).slice('pause:'.length),
    count: num(row.n),
    totalMs: num(row.total),
    worst: row.worst ?? '',
  }));
}

/**
 * The backfill spec: one YAML file that declares one data backfill (target table and key, the
 * source SELECT, mode, batching and throttling, anomaly checks and verify assertions).
 *
 * Loading validates the YAML against {@link backfillSpecSchema}; {@link validateSpecAgainstDatabase}
 * then checks the target table, key and columns against `information_schema` and `pg_index`, and
 * the source's result columns by planning it with `LIMIT 0`, before anything is written. Every
 * problem is a {@link ConfigError} naming the spec file and the line of the offending key.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { loadYaml, parseDuration, type LoadedYaml } from '../config/load.js';
import { ConfigError, type SourceLocation } from '../errors.js';
import { ident } from '../db/connect.js';

/** Upper bound of `batch-size` (spec, action input and CLI flag). */
export const MAX_BATCH_SIZE = 1_000_000;
/** Upper bound of `partitions`. */
export const MAX_PARTITIONS = 64;

const duration = z.union([z.string(), z.number()]);
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, {
  message: 'must be an SQL identifier such as user_stats or public.user_stats',
});
const column = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, {
  message: 'must be a column name',
});
const namedQuery = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  sql: z.string().min(1),
});

/** Zod schema of the YAML file (kebab-case keys, as in the action inputs). */
export const backfillSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, {
    message: 'must be lower-case letters, digits, dots, dashes or underscores',
  }),
  description: z.string().optional(),
  target: z.strictObject({
    table: identifier,
    key: z.union([column, z.array(column).min(1)]),
    columns: z.array(column).min(1),
    /** Columns set to an SQL expression whenever a row is written, never compared (e.g. updated_at). */
    'set-on-write': z.record(column, z.string().min(1)).optional(),
  }),
  source: z.string().min(1),
  /**
   * Optional cheap query returning key values spread like the source's (e.g. the primary key of
   * the table the key comes from). Only sets batch boundaries; batch-size then counts these keys.
   */
  'batch-keys': z.string().min(1).optional(),
  mode: z.enum(['upsert', 'update', 'insert']).default('upsert'),
  /**
   * False when the source knowingly reads the columns it writes (a counter): analyze then does
   * not refuse it, and verify checks the run's completion and assertions instead of the diff.
   */
  idempotent: z.boolean().default(true),
  'batch-size': z.number().int().min(1).max(MAX_BATCH_SIZE).default(2000),
  /** Key ranges run concurrently, each with its own checkpoint row (1 to 64). */
  partitions: z.number().int().min(1).max(MAX_PARTITIONS).default(1),
  throttle: z
    .strictObject({
      pause: duration.optional(),
      'max-batch-duration': duration.optional(),
      'target-batch-duration': duration.optional(),
      'max-replication-lag': duration.optional(),
      'max-lock-waiters': z.number().int().min(0).optional(),
      prometheus: z
        .strictObject({
          url: z.string().url(),
          query: z.string().min(1),
          max: z.number(),
        })
        .optional(),
    })
    .default({}),
  'lock-timeout': duration.default('2s'),
  'statement-timeout': duration.default('30s'),
  'idle-in-transaction-timeout': duration.default('30s'),
  'stale-after': duration.optional(),
  checks: z.array(namedQuery).default([]),
  verify: z.array(namedQuery).default([]),
});

/** The spec as written in YAML (after defaults). */
export type BackfillSpecFile = z.infer<typeof backfillSpecSchema>;

/** A named SQL query from `checks` or `verify`, with its line in the spec. */
export interface SpecQuery {
  name: string;
  description?: string;
  sql: string;
  location: SourceLocation;
}

/** A loaded, normalised backfill spec. Durations are in milliseconds. */
export interface BackfillSpec {
  name: string;
  description?: string;
  /** Spec file path as given. */
  file: string;
  /** sha256 (hex) of the parts that decide the result: target, source, mode. */
  checksum: string;
  table: string;
  key: string[];
  columns: string[];
  setOnWrite: Record<string, string>;
  source: string;
  /** Query whose key columns set the keyset batch boundaries; undefined: the source's keys. */
  batchKeys?: string;
  mode: 'upsert' | 'update' | 'insert';
  /** False when the source reads the columns it writes and the spec says so knowingly. */
  idempotent: boolean;
  /** The largest batch, in rows (or batch keys); batch-size control stays at or below it. */
  batchSize: number;
  /** Number of key ranges run concurrently. */
  partitions: number;
  /** Pause between batches, milliseconds. */
  pauseMs: number;
  /** Upper bound on one batch's duration, milliseconds; a slower batch shrinks the next at once. */
  maxBatchMs: number;
  /** The batch duration that batch-size control aims at, milliseconds. */
  targetBatchMs: number;
  /** Pause while a replica lags more than this, milliseconds. */
  maxReplicationLagMs: number;
  /** Pause while more than this many other sessions wait for locks we hold or on the target table. */
  maxLockWaiters: number;
  /** Pause while this Prometheus instant query returns a value above `max`. */
  prometheus?: { url: string; query: string; max: number };
  /** `lock_timeout` of each batch transaction, milliseconds. */
  lockTimeoutMs: number;
  /** `statement_timeout` of each batch statement, milliseconds. */
  statementTimeoutMs: number;
  /** `idle_in_transaction_session_timeout` of every session, milliseconds. */
  idleInTransactionMs: number;
  /** A running partition whose heartbeat is older than this is dead, milliseconds. */
  staleAfterMs: number;
  checks: SpecQuery[];
  verify: SpecQuery[];
  /** Finds the file and line of a path in the YAML, e.g. `['target', 'columns', 2]`. */
  locate(path: (string | number)[]): SourceLocation;
}

/** Target column facts read from the catalog by {@link validateSpecAgainstDatabase}. */
export interface TargetColumns {
  /** SQL type of every key and target column, as `format_type` prints it (e.g. `numeric(12,2)`). */
  types: Record<string, string>;
  /**
   * With `allowMissingTarget`: what of the target does not exist yet (`table user_stats`,
   * `column current_usage_limit`); empty when the target is complete.
   */
  missing: string[];
}

/**
 * Reads and validates a backfill spec file.
 * @param file - path of the YAML spec
 * @param input - the action input / CLI flag that named the file (for errors), default `spec`
 * @throws ConfigError with file and line for unreadable files, invalid YAML or schema violations
 */
export function loadBackfillSpec(file: string, input = 'spec'): BackfillSpec {
  const loaded = loadYaml(file, backfillSpecSchema, input);
  return normaliseSpec(loaded, input);
}

function normaliseSpec(loaded: LoadedYaml<BackfillSpecFile>, input: string): BackfillSpec {
  const v = loaded.value;
  const key = Array.isArray(v.target.key) ? v.target.key : [v.target.key];
  const ms = (value: string | number | undefined, path: string[], fallback: number): number => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value, path.join('.'));
    } catch (e) {
      throw new ConfigError((e as Error).message, loaded.locate(path), input);
    }
  };
  const dup = [...key, ...v.target.columns].find((c, i, all) => all.indexOf(c) !== i);
  if (dup) {
    throw new ConfigError(
      `column '${dup}' appears twice in target.key/target.columns`,
      loaded.locate(['target', 'columns']),
      input,
    );
  }
  const setOnWrite = v.target['set-on-write'] ?? {};
  for (const c of Object.keys(setOnWrite)) {
    if (key.includes(c) || v.target.columns.includes(c)) {
      throw new ConfigError(
        `set-on-write column '${c}' is also a key or compared column`,
        loaded.locate(['target', 'set-on-write', c]),
        input,
      );
    }
  }
  const maxBatchMs = ms(v.throttle['max-batch-duration'], ['throttle', 'max-batch-duration'], 250);
  const targetBatchMs = ms(
    v.throttle['target-batch-duration'],
    ['throttle', 'target-batch-duration'],
    Math.min(100, maxBatchMs),
  );
  if (targetBatchMs > maxBatchMs) {
    throw new ConfigError(
      `target-batch-duration (${targetBatchMs} ms) exceeds max-batch-duration (${maxBatchMs} ms)`,
      loaded.locate(['throttle', 'target-batch-duration']),
      input,
    );
  }
  const statementTimeoutMs = ms(v['statement-timeout'], ['statement-timeout'], 30_000);
  for (const [k, val] of [
    ['statement-timeout', statementTimeoutMs],
    ['lock-timeout', ms(v['lock-timeout'], ['lock-timeout'], 2000)],
  ] as const) {
    if (val <= 0)
      throw new ConfigError(
        `${k} must be longer than 0 (0 would disable it)`,
        loaded.locate([k]),
        input,
      );
  }
  const checksum = createHash('sha256')
    .update(
      JSON.stringify({
        table: v.target.table,
        key,
        columns: v.target.columns,
        setOnWrite,
        source: v.source.replace(/\r\n/g, '\n').trim(),
        mode: v.mode,
      }),
    )
    .digest('hex');
  const queries = (list: BackfillSpecFile['checks'], section: 'checks' | 'verify'): SpecQuery[] =>
    list.map((q, i) => ({
      name: q.name,
      description: q.description,
      sql: q.sql,
      location: loaded.locate([section, i, 'sql']),
    }));
  return {
    name: v.name,
    description: v.description,
    file: loaded.file,
    checksum,
    table: v.target.table,
    key,
    columns: v.target.columns,
    setOnWrite,
    source: v.source.trim().replace(/;\s*$/, ''),
    batchKeys: v['batch-keys']?.trim().replace(/;\s*$/, ''),
    mode: v.mode,
    idempotent: v.idempotent,
    batchSize: v['batch-size'],
    partitions: v.partitions,
    pauseMs: ms(v.throttle.pause, ['throttle', 'pause'], 0),
    maxBatchMs,
    targetBatchMs,
    maxReplicationLagMs: ms(
      v.throttle['max-replication-lag'],
      ['throttle', 'max-replication-lag'],
      10_000,
    ),
    maxLockWaiters: v.throttle['max-lock-waiters'] ?? 0,
    prometheus: v.throttle.prometheus,
    lockTimeoutMs: ms(v['lock-timeout'], ['lock-timeout'], 2000),
    statementTimeoutMs,
    idleInTransactionMs: ms(
      v['idle-in-transaction-timeout'],
      ['idle-in-transaction-timeout'],
      30_000,
    ),
    staleAfterMs: ms(v['stale-after'], ['stale-after'], statementTimeoutMs + 30_000),
    checks: queries(v.checks, 'checks'),
    verify: queries(v.verify, 'verify'),
    locate: loaded.locate,
  };
}

/**
 * Checks the spec against the live database, read-only: the target table exists; every key and
 * target column exists; the key columns are NOT NULL and exactly match a unique index (needed for
 * keyset order and `ON CONFLICT`); the source plans and returns every key and target column.
 * @returns the SQL type of each key and target column
 * @throws ConfigError naming the spec file and line of the offending key, column or source
 */
export async function validateSpecAgainstDatabase(
  client: pg.Client,
  spec: BackfillSpec,
  input = 'spec',
  options: { allowMissingTarget?: boolean } = {},
): Promise<TargetColumns> {
  const missingTarget: string[] = [];
  const [schema, table] = spec.table.includes('.')
    ? spec.table.split('.')
    : [undefined, spec.table];
  const rel = await client.query(
    `SELECT c.oid, n.nspname
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind IN ('r', 'p')
        AND (CASE WHEN $2::text IS NULL THEN n.nspname = ANY (current_schemas(false))
                  ELSE n.nspname = $2 END)
      ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1`,
    [table, schema ?? null],
  );
  if (rel.rowCount === 0 && options.allowMissingTarget) {
    await checkSourceColumns(client, spec, input);
    return { types: {}, missing: [`table ${spec.table}`] };
  }
  if (rel.rowCount === 0) {
    throw new ConfigError(
      `target table '${spec.table}' does not exist`,
      spec.locate(['target', 'table']),
      input,
    );
  }
  const nsp: string = rel.rows[0].nspname;
  const cols = await client.query(
    `SELECT c.column_name, c.is_nullable, format_type(a.atttypid, a.atttypmod) AS type
       FROM information_schema.columns c
       JOIN pg_attribute a ON a.attrelid = $3::oid AND a.attname = c.column_name
      WHERE c.table_schema = $1 AND c.table_name = $2`,
    [nsp, table, rel.rows[0].oid],
  );
  const byName = new Map(cols.rows.map((r) => [r.column_name as string, r]));
  const known = [...byName.keys()].sort().join(', ');
  spec.key.forEach((k, i) => {
    // locate() stops at the closest node, so this is the list item or the scalar key's line.
    const path = ['target', 'key', i];
    const c = byName.get(k);
    if (!c) {
      throw new ConfigError(
        `key column '${k}' does not exist in ${spec.table} (columns: ${known})`,
        spec.locate(path),
        input,
      );
    }
    if (c.is_nullable === 'YES') {
      throw new ConfigError(
        `key column '${k}' of ${spec.table} is nullable; keyset batches need a NOT NULL key`,
        spec.locate(path),
        input,
      );
    }
  });
  spec.columns.forEach((col, i) => {
    if (!byName.has(col) && options.allowMissingTarget) missingTarget.push(`column ${col}`);
    else if (!byName.has(col)) {
      throw new ConfigError(
        `column '${col}' does not exist in ${spec.table} (columns: ${known})`,
        spec.locate(['target', 'columns', i]),
        input,
      );
    }
  });
  for (const col of Object.keys(spec.setOnWrite)) {
    if (!byName.has(col) && options.allowMissingTarget) missingTarget.push(`column ${col}`);
    else if (!byName.has(col)) {
      throw new ConfigError(
        `set-on-write column '${col}' does not exist in ${spec.table} (columns: ${known})`,
        spec.locate(['target', 'set-on-write', col]),
        input,
      );
    }
  }
  const unique = await client.query(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [rel.rows[0].oid],
  );
  const keySet = [...spec.key].sort().join(',');
  if (!unique.rows.some((r) => [...(r.cols as string[])].sort().join(',') === keySet)) {
    throw new ConfigError(
      `key (${spec.key.join(', ')}) is not the primary key or a unique index of ${spec.table}; ` +
        `unique keys: ${unique.rows.map((r) => `(${(r.cols as string[]).join(', ')})`).join(' ') || 'none'}`,
      spec.locate(['target', 'key']),
      input,
    );
  }
  await checkSourceColumns(client, spec, input);
  const types: Record<string, string> = {};
  for (const c of [...spec.key, ...spec.columns]) {
    const col = byName.get(c);
    if (col) types[c] = col.type;
  }
  return { types, missing: missingTarget };
}

/** Plans the source (and batch-keys) with `LIMIT 0` and checks they return the key and columns. */
async function checkSourceColumns(
  client: pg.Client,
  spec: BackfillSpec,
  input: string,
): Promise<void> {
  let fields: string[];
  try {
    const r = await client.query(`SELECT * FROM (${spec.source}) AS s LIMIT 0`);
    fields = r.fields.map((f) => f.name);
  } catch (e) {
    throw new ConfigError(
      `source query fails: ${(e as Error).message}`,
      spec.locate(['source']),
      input,
    );
  }
  const missing = [...spec.key, ...spec.columns].filter((c) => !fields.includes(c));
  if (missing.length) {
    throw new ConfigError(
      `source query does not return column(s) ${missing.join(', ')} (it returns: ${fields.join(', ')})`,
      spec.locate(['source']),
      input,
    );
  }
  if (spec.batchKeys) {
    let keyFields: string[];
    try {
      const r = await client.query(`SELECT * FROM (${spec.batchKeys}) AS s LIMIT 0`);
      keyFields = r.fields.map((f) => f.name);
    } catch (e) {
      throw new ConfigError(
        `batch-keys query fails: ${(e as Error).message}`,
        spec.locate(['batch-keys']),
        input,
      );
    }
    const missingKeys = spec.key.filter((c) => !keyFields.includes(c));
    if (missingKeys.length) {
      throw new ConfigError(
        `batch-keys query does not return key column(s) ${missingKeys.join(', ')} (it returns: ${keyFields.join(', ')})`,
        spec.locate(['batch-keys']),
        input,
      );
    }
  }
}

/** `ident()` for a column list. */
export function idents(cols: string[]): string {
  return cols.map(ident).join(', ');
}

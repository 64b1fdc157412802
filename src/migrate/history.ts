/**
 * History tables: our own (`runbook.schema_migrations`) and, adopted in place, the tables of the
 * tools a team may be coming from, so switching re-applies nothing and the tool still reads
 * the same history afterwards:
 *
 * - Flyway `flyway_schema_history` (installed_rank, version, description, type, script,
 *   checksum = CRC32, installed_by, installed_on, execution_time, success; `UNDO_SQL` rows undo
 *   a version; repeatables have no version). Flyway docs, "Schema History Table".
 * - golang-migrate `schema_migrations (version bigint, dirty boolean)`: one row, the current
 *   version; every migration up to it counts as applied; `dirty` marks a failed run
 *   (golang-migrate `database/postgres`).
 * - dbmate `schema_migrations (version varchar(128) primary key)`: one row per applied version.
 * - Prisma `_prisma_migrations` (id, checksum = sha256 of migration.sql, finished_at,
 *   migration_name, logs, rolled_back_at, started_at, applied_steps_count); a row without
 *   `finished_at` is a failed migration (Prisma docs, "Migration histories").
 * - Diesel `__diesel_schema_migrations (version varchar(50) primary key, run_on timestamp)`.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { ident } from '../db/connect.js';
import { ConfigError } from '../errors.js';
import type { RunInfo } from '../runinfo.js';
import {
  compareVersions,
  flywayChecksum,
  normaliseText,
  versionKey,
  type MigrationFile,
  type MigrationFormat,
} from './files.js';

/** A history table row (for golang-migrate: one synthesised row per version up to the current one). */
export interface HistoryRow {
  /** Version as recorded; empty for a repeatable migration. */
  version: string;
  name: string;
  /** The recorded checksum (format depends on the table); null when the table keeps none. */
  checksum: string | null;
  appliedAt?: Date;
  appliedBy?: string;
  /** Recorded execution time in milliseconds. */
  executionMs?: number;
  runUrl?: string | null;
  kind: 'applied' | 'baseline';
  /** Flyway `R__` repeatable migration (matched by name). */
  repeatable?: boolean;
  /** The table records this migration as failed (Flyway `success = false`, golang-migrate `dirty`, Prisma without `finished_at`). */
  failed?: boolean;
}

/** The tool whose history table is used. */
export type HistoryTool = 'runbook' | Exclude<MigrationFormat, 'runbook'>;

/** Values the SQL of a store needs. */
export interface RecordContext {
  client: pg.Client;
  info: RunInfo;
}

/** One history table and how to read and write it. */
export interface HistoryStore {
  tool: HistoryTool;
  /** Qualified table name, quoted for SQL by {@link ident}. */
  table: string;
  /** True when the table belongs to another tool and was found in place. */
  adopted: boolean;
  /** Creates the table when missing (our own table only). */
  ensure(client: pg.Client): Promise<void>;
  /** Reads the applied migrations, version order. `files` lets golang-migrate expand its single row. */
  read(client: pg.Client, files: MigrationFile[]): Promise<HistoryRow[]>;
  /** Whether `file` still has the checksum `row` recorded (true when the table keeps none). */
  matches(file: MigrationFile, row: HistoryRow): boolean;
  /**
   * SQL recording `file` as applied, run in the file's own transaction. `executionMs`
   * undefined: measured by the server (since the transaction started).
   */
  record(ctx: RecordContext, file: MigrationFile, executionMs?: number): string;
  /** SQL recording that `file`'s down part ran; `previous` is the version then newest. */
  unrecord(ctx: RecordContext, file: MigrationFile, previous: MigrationFile | undefined): string;
  /** SQL marking `file` as applied without running it. */
  baseline(ctx: RecordContext, file: MigrationFile): string;
  /**
   * SQL that realigns the recorded checksums of `changed` with the files on disk and clears
   * failed records (Flyway `repair`, golang-migrate `force`, Prisma `resolve --rolled-back`).
   */
  repair(ctx: RecordContext, changed: MigrationFile[]): string;
}

/** The default history table. */
export const DEFAULT_HISTORY_TABLE = 'runbook.schema_migrations';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** Validates a `schema.table` name. @throws ConfigError naming the `history-table` input */
export function historyTableName(name = DEFAULT_HISTORY_TABLE): string {
  if (!TABLE_NAME.test(name)) {
    throw new ConfigError(
      `'${name}' is not a table name (expected schema.table, e.g. runbook.schema_migrations)`,
      undefined,
      'history-table',
    );
  }
  return name;
}

const lit = (c: pg.Client, v: string | null | undefined): string =>
  v === undefined || v === null ? 'NULL' : c.escapeLiteral(v);

const elapsed = (ms?: number): string =>
  ms === undefined
    ? `(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer`
    : String(Math.round(ms));

/** Prefix of repeatable migrations' versions in our own table. */
const REPEATABLE = 'R__';

/** Creates our history table (and its schema) when missing. Call with the advisory lock held. */
export async function ensureHistoryTable(client: pg.Client, table: string): Promise<void> {
  const [schema] = table.includes('.') ? table.split('.') : [undefined];
  const t = ident(table);
  await client.query(
    `${schema ? `CREATE SCHEMA IF NOT EXISTS ${ident(schema)};` : ''}
     CREATE TABLE IF NOT EXISTS ${t} (
       version      text PRIMARY KEY,
       name         text NOT NULL,
       checksum     text NOT NULL,
       applied_at   timestamptz NOT NULL DEFAULT now(),
       applied_by   text NOT NULL,
       execution_ms integer NOT NULL,
       run_url      text,
       kind         text NOT NULL DEFAULT 'applied' CHECK (kind IN ('applied', 'baseline'))
     );
     COMMENT ON TABLE ${t} IS 'Applied schema migrations (runbook-actions migrate)';`,
  );
}

async function exists(client: pg.Client, table: string): Promise<boolean> {
  const r = await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [ident(table)]);
  return r.rows[0].ok;
}

/** Reads our history table; an empty list when it does not exist yet. */
export async function readHistory(client: pg.Client, table: string): Promise<HistoryRow[]> {
  if (!(await exists(client, table))) return [];
  const r = await client.query(
    `SELECT version, name, checksum, applied_at, applied_by, execution_ms, run_url, kind FROM ${ident(table)}`,
  );
  return r.rows
    .map((row) => {
      const repeatable = String(row.version).startsWith(REPEATABLE);
      return {
        version: repeatable ? '' : row.version,
        name: row.name,
        checksum: row.checksum,
        appliedAt: row.applied_at,
        appliedBy: row.applied_by,
        executionMs: row.execution_ms,
        runUrl: row.run_url,
        kind: row.kind,
        repeatable: repeatable || undefined,
      } as HistoryRow;
    })
    .sort(byVersion);
}

function byVersion(a: HistoryRow, b: HistoryRow): number {
  if (a.repeatable || b.repeatable) return Number(!!a.repeatable) - Number(!!b.repeatable);
  return compareVersions(a.version, b.version);
}

/** Our own table. */
export function runbookStore(table = DEFAULT_HISTORY_TABLE): HistoryStore {
  const t = ident(historyTableName(table));
  const key = (f: MigrationFile) => (f.repeatable ? `${REPEATABLE}${f.name}` : f.version);
  const insert = (ctx: RecordContext, f: MigrationFile, ms: string, kind: string) => {
    const c = ctx.client;
    return `INSERT INTO ${t} (version, name, checksum, applied_by, execution_ms, run_url, kind)
VALUES (${lit(c, key(f))}, ${lit(c, f.name)}, ${lit(c, f.checksum)}, ${lit(c, ctx.info.actor)}, ${ms}, ${lit(c, ctx.info.runUrl)}, '${kind}')${
      f.repeatable
        ? ` ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now(), applied_by = EXCLUDED.applied_by, execution_ms = EXCLUDED.execution_ms, run_url = EXCLUDED.run_url`
        : ''
    }`;
  };
  return {
    tool: 'runbook',
    table,
    adopted: false,
    ensure: (client) => ensureHistoryTable(client, table),
    read: (client) => readHistory(client, table),
    matches: (f, row) => row.checksum === null || row.checksum === f.checksum,
    record: (ctx, f, ms) => insert(ctx, f, elapsed(ms), 'applied'),
    baseline: (ctx, f) => insert(ctx, f, '0', 'baseline'),
    unrecord: (ctx, f) => `DELETE FROM ${t} WHERE version = ${lit(ctx.client, key(f))}`,
    repair: (ctx, changed) =>
      changed
        .map(
          (f) =>
            `UPDATE ${t} SET checksum = ${lit(ctx.client, f.checksum)} WHERE version = ${lit(ctx.client, key(f))}`,
        )
        .join(';\n'),
  };
}

async function qualified(client: pg.Client, name: string): Promise<string | undefined> {
  const r = await client.query(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    [name],
  );
  return r.rows[0] ? `${r.rows[0].schema}.${r.rows[0].name}` : undefined;
}

async function columns(client: pg.Client, table: string): Promise<string[]> {
  const r = await client.query(
    `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [ident(table)],
  );
  return r.rows.map((x) => x.attname as string);
}

function flywayStore(table: string): HistoryStore {
  const t = ident(table);
  const describe = (f: MigrationFile) => f.name.replace(/_/g, ' ');
  const script = (f: MigrationFile) => f.filename;
  const insert = (
    ctx: RecordContext,
    f: MigrationFile,
    type: string,
    ms: string,
    scriptName = script(f),
    sum: number | null = flywayChecksum(f.raw ?? f.sql),
  ) => {
    const c = ctx.client;
    return `INSERT INTO ${t} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
SELECT coalesce(max(installed_rank), 0) + 1, ${f.repeatable ? 'NULL' : lit(c, f.version)}, ${lit(c, describe(f))}, '${type}', ${lit(c, scriptName)}, ${sum === null ? 'NULL' : sum}, ${lit(c, ctx.info.actor.slice(0, 100))}, ${ms}, true FROM ${t}`;
  };
  return {
    tool: 'flyway',
    table,
    adopted: true,
    ensure: async () => {},
    read: async (client) => {
      const r = await client.query(
        `SELECT installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_time, success FROM ${t} ORDER BY installed_rank`,
      );
      const versions = new Map<string, HistoryRow>();
      const repeatables = new Map<string, HistoryRow>();
      for (const x of r.rows) {
        const type = String(x.type);
        if (type === 'SCHEMA' || type === 'TABLE') continue;
        const row: HistoryRow = {
          version: x.version ?? '',
          name: String(x.description).replace(/ /g, '_'),
          checksum: x.checksum === null ? null : String(x.checksum),
          appliedAt: x.installed_on,
          appliedBy: x.installed_by,
          executionMs: x.execution_time,
          runUrl: null,
          kind: type === 'BASELINE' ? 'baseline' : 'applied',
          failed: !x.success || undefined,
        };
        if (x.version === null) {
          if (type !== 'DELETE') repeatables.set(row.name, { ...row, repeatable: true });
          else repeatables.delete(row.name);
          continue;
        }
        const k = versionKey(x.version);
        if (type === 'UNDO_SQL' || type === 'DELETE') {
          if (x.success) versions.delete(k);
          else versions.set(k, { ...versions.get(k)!, ...row, failed: true });
        } else versions.set(k, row);
      }
      return [...versions.values(), ...repeatables.values()].sort(byVersion);
    },
    matches: (f, row) =>
      row.checksum === null || row.checksum === String(flywayChecksum(f.raw ?? f.sql)),
    record: (ctx, f, ms) => insert(ctx, f, 'SQL', elapsed(ms)),
    baseline: (ctx, f) => insert(ctx, f, 'BASELINE', '0', '<< Flyway Baseline >>', null),
    unrecord: (ctx, f) =>
      insert(
        ctx,
        f,
        'UNDO_SQL',
        elapsed(),
        f.down?.filename ?? script(f),
        flywayChecksum(f.down?.sql ?? ''),
      ),
    repair: (ctx, changed) =>
      [
        `DELETE FROM ${t} WHERE NOT success`,
        ...changed.map(
          (f) =>
            `UPDATE ${t} SET checksum = ${flywayChecksum(f.raw ?? f.sql)} WHERE installed_rank = (SELECT max(installed_rank) FROM ${t} WHERE ${
              f.repeatable
                ? `version IS NULL AND description = ${lit(ctx.client, describe(f))}`
                : `version = ${lit(ctx.client, f.version)}`
            })`,
        ),
      ].join(';\n'),
  };
}

function golangStore(table: string): HistoryStore {
  const t = ident(table);
  const set = (ctx: RecordContext, version: string | undefined) =>
    `DELETE FROM ${t}${version === undefined ? '' : `;\nINSERT INTO ${t} (version, dirty) VALUES (${BigInt(version).toString()}, false)`}`;
  return {
    tool: 'golang-migrate',
    table,
    adopted: true,
    ensure: async () => {},
    read: async (client, files) => {
      const r = await client.query(`SELECT version::text AS version, dirty FROM ${t} LIMIT 1`);
      if (!r.rows[0]) return [];
      const current: string = r.rows[0].version;
      if (BigInt(current) < 0n) return [];
      const rows: HistoryRow[] = files
        .filter((f) => compareVersions(f.version, current) <= 0)
        .map((f) => ({ version: f.version, name: f.name, checksum: null, kind: 'applied' }));
      let top = rows.find((x) => compareVersions(x.version, current) === 0);
      if (!top) {
        top = { version: current, name: '', checksum: null, kind: 'applied' };
        rows.push(top);
      }
      if (r.rows[0].dirty) top.failed = true;
      return rows.sort(byVersion);
    },
    matches: () => true,
    record: (ctx, f) => set(ctx, f.version),
    baseline: (ctx, f) => set(ctx, f.version),
    unrecord: (ctx, _f, previous) => set(ctx, previous?.version),
    repair: () => `UPDATE ${t} SET dirty = false`,
  };
}

function versionListStore(
  tool: 'dbmate' | 'diesel',
  table: string,
  column = 'version',
): HistoryStore {
  const t = ident(table);
  return {
    tool,
    table,
    adopted: true,
    ensure: async () => {},
    read: async (client, files) => {
      const r = await client.query(`SELECT ${column}::text AS version FROM ${t}`);
      const names = new Map(files.map((f) => [versionKey(f.version), f.name]));
      return r.rows
        .filter((x) => /^\d+$/.test(x.version))
        .map((x): HistoryRow => ({
          version: x.version,
          name: names.get(versionKey(x.version)) ?? '',
          checksum: null,
          kind: 'applied',
        }))
        .sort(byVersion);
    },
    matches: () => true,
    record: (ctx, f) => `INSERT INTO ${t} (${column}) VALUES (${lit(ctx.client, f.version)})`,
    baseline: (ctx, f) =>
      `INSERT INTO ${t} (${column}) VALUES (${lit(ctx.client, f.version)}) ON CONFLICT DO NOTHING`,
    unrecord: (ctx, f) => `DELETE FROM ${t} WHERE ${column} = ${lit(ctx.client, f.version)}`,
    repair: () => '',
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function prismaStore(table: string): HistoryStore {
  const t = ident(table);
  const folder = (f: MigrationFile) => f.filename.split(/[\\/]/)[0];
  const sum = (f: MigrationFile) => sha256(f.raw ?? f.sql);
  const insert = (ctx: RecordContext, f: MigrationFile, steps: number) =>
    `INSERT INTO ${t} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
VALUES (gen_random_uuid()::text, ${lit(ctx.client, sum(f))}, clock_timestamp(), ${lit(ctx.client, folder(f))}, NULL, NULL, now(), ${steps})`;
  return {
    tool: 'prisma',
    table,
    adopted: true,
    ensure: async () => {},
    read: async (client) => {
      const r = await client.query(
        `SELECT migration_name, checksum, finished_at, started_at FROM ${t} WHERE rolled_back_at IS NULL ORDER BY started_at`,
      );
      const rows = new Map<string, HistoryRow>();
      for (const x of r.rows) {
        const m = /^(\d[\d-]*\d|\d)_(.+)$/.exec(x.migration_name);
        if (!m) continue;
        const version = m[1].replace(/-/g, '');
        rows.set(versionKey(version), {
          version,
          name: m[2],
          checksum: x.checksum,
          appliedAt: x.finished_at ?? x.started_at,
          kind: 'applied',
          executionMs:
            x.finished_at && x.started_at
              ? Math.round(x.finished_at.getTime() - x.started_at.getTime())
              : undefined,
          failed: x.finished_at === null || undefined,
        });
      }
      return [...rows.values()].sort(byVersion);
    },
    // Prisma compares the script's sha256 and accepts the other line ending style too.
    matches: (f, row) => {
      const raw = f.raw ?? f.sql;
      const lf = normaliseText(raw);
      return [raw, lf, lf.replace(/\n/g, '\r\n'), `\uFEFF${lf}`].some(
        (x) => sha256(x) === row.checksum,
      );
    },
    record: (ctx, f) => insert(ctx, f, 1),
    baseline: (ctx, f) => insert(ctx, f, 0),
    unrecord: (ctx, f) =>
      `UPDATE ${t} SET rolled_back_at = now() WHERE migration_name = ${lit(ctx.client, folder(f))} AND rolled_back_at IS NULL`,
    repair: (ctx, changed) =>
      [
        `UPDATE ${t} SET rolled_back_at = now() WHERE finished_at IS NULL AND rolled_back_at IS NULL`,
        ...changed.map(
          (f) =>
            `UPDATE ${t} SET checksum = ${lit(ctx.client, sum(f))} WHERE migration_name = ${lit(ctx.client, folder(f))} AND rolled_back_at IS NULL`,
        ),
      ].join(';\n'),
  };
}

/** The history table each tool keeps, by its default name (resolved on the search_path). */
export const NATIVE_TABLES: Partial<Record<MigrationFormat, string>> = {
  flyway: 'flyway_schema_history',
  'golang-migrate': 'schema_migrations',
  dbmate: 'schema_migrations',
  prisma: '_prisma_migrations',
  diesel: '__diesel_schema_migrations',
};

/**
 * The history table for a run: `historyTable` when given (our own table under that name);
 * otherwise the format's own tool table when it exists in the database (adopted in place),
 * else our default table. golang-migrate's and dbmate's tables share a name; they are told
 * apart by golang-migrate's `dirty` column.
 */
export async function chooseStore(
  client: pg.Client,
  format: MigrationFormat,
  historyTable: string | undefined,
): Promise<HistoryStore> {
  if (historyTable) return runbookStore(historyTable);
  const native = NATIVE_TABLES[format];
  if (native) {
    const table = await qualified(client, native);
    if (table) {
      const cols = await columns(client, table);
      if (format === 'flyway' && cols.includes('installed_rank')) return flywayStore(table);
      if (format === 'golang-migrate' && cols.includes('dirty')) return golangStore(table);
      if (format === 'dbmate' && cols.includes('version') && !cols.includes('dirty'))
        return versionListStore('dbmate', table);
      if (format === 'prisma' && cols.includes('migration_name')) return prismaStore(table);
      if (format === 'diesel' && cols.includes('version')) return versionListStore('diesel', table);
    }
  }
  return runbookStore(DEFAULT_HISTORY_TABLE);
}

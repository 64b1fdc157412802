/**
 * The migrate engine: plan, apply, status, verify and baseline ordered SQL migrations against
 * PostgreSQL, with a history table, a session advisory lock, one transaction per file,
 * `lock_timeout` / `statement_timeout` and retry with backoff on lock timeouts (SQLSTATE 55P03).
 *
 * Behaviour follows the established migration tools (Flyway's checksum and out-of-order
 * refusal and `baseline`, the Supabase CLI's `<version>_<name>.sql` naming, node-pg-migrate's
 * advisory lock); PostgreSQL semantics follow the PostgreSQL 18 documentation (`SET`,
 * "Advisory Locks", "Appendix A. Error Codes").
 */
import pg from 'pg';
import { connect, ident } from '../db/connect.js';
import { acquireAdvisoryLock } from '../db/lock.js';
import { ConfigError, sleep, type Logger } from '../errors.js';
import { runInfo as readRunInfo, type RunInfo } from '../runinfo.js';
import { compareVersions, discoverMigrations, type MigrationFile } from './files.js';
import { parseMigration, type ParsedMigration, type Statement } from './parser.js';

/** Options shared by every migrate command. */
export interface MigrateOptions {
  /** PostgreSQL URL (`postgres://user:password@host:port/db?sslmode=require`). Never logged. */
  databaseUrl: string;
  /** Directory holding `<version>_<name>.sql` files. */
  dir: string;
  /** Schema-qualified history table. Default `runbook.schema_migrations`. */
  historyTable?: string;
  /** How long to wait for another run's advisory lock, in milliseconds. Default 60000. */
  lockWaitMs?: number;
  /** `lock_timeout` for every migration statement, in milliseconds (0 = none). Default 5000. */
  lockTimeoutMs?: number;
  /** `statement_timeout` for every migration statement, in milliseconds (0 = none). Default 0. */
  statementTimeoutMs?: number;
  /** Retries after a lock timeout (SQLSTATE 55P03). Default 3. */
  retries?: number;
  /** First retry delay in milliseconds; doubles on each retry (capped at 60 s). Default 1000. */
  retryBackoffMs?: number;
  /** Apply pending files older than the newest applied one instead of refusing. Default false. */
  allowOutOfOrder?: boolean;
  /** PEM text of a CA certificate to verify the server with (RDS, Supabase). */
  caCert?: string;
  /** `application_name` of the migration session. Default `runbook-migrate`. */
  applicationName?: string;
  /** Who runs the migration (history `applied_by`, `run_url`). Default: from the environment. */
  runInfo?: RunInfo;
}

/** Options of {@link baselineMigrations}. */
export interface BaselineOptions extends MigrateOptions {
  /** Mark every file with a version up to and including this one as applied. */
  baselineVersion: string;
}

/** State of one migration in a result. */
export type MigrationState =
  | 'applied'
  | 'already applied'
  | 'baselined'
  | 'pending'
  | 'failed'
  | 'missing file'
  | 'checksum changed'
  | 'out of order';

/** One migration (file or history row) in a command's result. */
export interface MigrationRow {
  version: string;
  name: string;
  /** Path of the file (`dir` joined with the file name), when the file exists. */
  file?: string;
  state: MigrationState;
  /** Execution time in milliseconds (this run's, or the recorded one for applied files). */
  durationMs?: number;
  appliedAt?: Date;
  appliedBy?: string;
  /** sha256 of the file on disk. */
  checksum?: string;
  /** sha256 recorded when the file was applied. */
  appliedChecksum?: string;
  /** Statements in the file (plan). */
  statements?: number;
  /** Set when the file runs statement by statement outside a transaction (plan, apply). */
  nonTransactional?: string;
}

/** What a command found or did. */
export interface MigrateResult {
  command: 'plan' | 'apply' | 'status' | 'verify' | 'baseline';
  /** Every file and history row, in version order. */
  rows: MigrationRow[];
  /** Versions applied by this run, in order. */
  applied: string[];
  /** Versions baselined by this run. */
  baselined: string[];
  /** Versions still pending after this run. */
  pending: string[];
  /** Problems that make `apply` refuse (verify reports them instead of throwing). */
  problems: string[];
  /** Warnings (e.g. an applied version whose file is gone). */
  warnings: string[];
}

/** A history table row. */
export interface HistoryRow {
  version: string;
  name: string;
  checksum: string;
  appliedAt: Date;
  appliedBy: string;
  executionMs: number;
  runUrl: string | null;
  kind: 'applied' | 'baseline';
}

/**
 * The migrations in a state that makes `apply` refuse to run: a changed applied file, or a
 * pending file older than the newest applied one. Thrown before anything is applied.
 */
export class MigrationRefusedError extends ConfigError {
  override readonly name = 'MigrationRefusedError' as 'ConfigError';
  constructor(
    message: string,
    location: { file: string } | undefined,
    readonly problems: string[],
  ) {
    super(message, location);
  }
  /** Every migration's state (the changed and out-of-order files marked), for the summary. */
  rows: MigrationRow[] = [];
  /** Versions that would have been applied. */
  pending: string[] = [];
}

/** A migration statement failed; nothing of that file was committed (unless non-transactional). */
export class MigrationFailedError extends ConfigError {
  override readonly name = 'MigrationFailedError' as 'ConfigError';
  constructor(
    message: string,
    location: { file: string; line?: number },
    /** SQLSTATE of the failure, e.g. `55P03`, `42P07`. */
    readonly sqlState: string | undefined,
    /** Versions applied by this run before the failure (filled in by applyMigrations). */
    readonly applied: string[] = [],
  ) {
    super(message, location);
  }
  /** Every migration's state when the run stopped (filled in by applyMigrations). */
  rows: MigrationRow[] = [];
}

const DEFAULTS = {
  historyTable: 'runbook.schema_migrations',
  lockWaitMs: 60_000,
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  retries: 3,
  retryBackoffMs: 1_000,
  applicationName: 'runbook-migrate',
};

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** Validates a `schema.table` name. @throws ConfigError naming the `history-table` input */
export function historyTableName(name = DEFAULTS.historyTable): string {
  if (!TABLE_NAME.test(name)) {
    throw new ConfigError(
      `'${name}' is not a table name (expected schema.table, e.g. runbook.schema_migrations)`,
      undefined,
      'history-table',
    );
  }
  return name;
}

function lockName(table: string): string {
  return `runbook-migrate ${table}`;
}

async function open(options: MigrateOptions): Promise<pg.Client> {
  return connect(options.databaseUrl, {
    caCert: options.caCert || undefined,
    applicationName: options.applicationName ?? DEFAULTS.applicationName,
  });
}

/** Creates the history table (and its schema) when missing. Call with the advisory lock held. */
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

/** Reads the history table; an empty list when it does not exist yet. */
export async function readHistory(client: pg.Client, table: string): Promise<HistoryRow[]> {
  const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [ident(table)]);
  if (!exists.rows[0].ok) return [];
  const r = await client.query(
    `SELECT version, name, checksum, applied_at, applied_by, execution_ms, run_url, kind FROM ${ident(table)}`,
  );
  return r.rows
    .map((row) => ({
      version: row.version,
      name: row.name,
      checksum: row.checksum,
      appliedAt: row.applied_at,
      appliedBy: row.applied_by,
      executionMs: row.execution_ms,
      runUrl: row.run_url,
      kind: row.kind,
    }))
    .sort((a, b) => compareVersions(a.version, b.version));
}

/** The comparison of files on disk with the history table. */
interface Analysis {
  rows: MigrationRow[];
  pending: MigrationFile[];
  changed: { file: MigrationFile; row: HistoryRow }[];
  outOfOrder: MigrationFile[];
  missing: HistoryRow[];
  /** The highest applied version, if any. */
  newest?: string;
}

/** Versions compare numerically: `0001` and `1` are the same migration. */
function versionKey(version: string): string {
  return BigInt(version).toString();
}

/** The fields of a row that come from its history record. */
function recorded(h: HistoryRow): Partial<MigrationRow> {
  return {
    durationMs: h.executionMs,
    appliedAt: h.appliedAt,
    appliedBy: h.appliedBy,
    appliedChecksum: h.checksum,
  };
}

function analyse(
  files: MigrationFile[],
  history: HistoryRow[],
  allowOutOfOrder: boolean,
): Analysis {
  const byVersion = new Map(history.map((h) => [versionKey(h.version), h]));
  const newest = history.length ? history[history.length - 1].version : undefined;
  const rows: MigrationRow[] = [];
  const pending: MigrationFile[] = [];
  const changed: Analysis['changed'] = [];
  const outOfOrder: MigrationFile[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const key = versionKey(f.version);
    const h = byVersion.get(key);
    seen.add(key);
    const base = { version: f.version, name: f.name, file: f.path, checksum: f.checksum };
    if (h) {
      const state: MigrationState =
        h.checksum !== f.checksum
          ? 'checksum changed'
          : h.kind === 'baseline'
            ? 'baselined'
            : 'already applied';
      if (state === 'checksum changed') changed.push({ file: f, row: h });
      rows.push({ ...base, ...recorded(h), state });
    } else {
      const late = newest !== undefined && compareVersions(f.version, newest) < 0;
      if (late) outOfOrder.push(f);
      pending.push(f);
      rows.push({ ...base, state: late && !allowOutOfOrder ? 'out of order' : 'pending' });
    }
  }
  const missing = history.filter((h) => !seen.has(versionKey(h.version)));
  for (const h of missing) {
    rows.push({ version: h.version, name: h.name, ...recorded(h), state: 'missing file' });
  }
  rows.sort((a, b) => compareVersions(a.version, b.version));
  return { rows, pending, changed, outOfOrder, missing, newest };
}

function problemsOf(a: Analysis, allowOutOfOrder: boolean): { message: string; file: string }[] {
  const problems = a.changed.map(({ file, row }) => ({
    file: file.path,
    message: `${file.filename} was changed after it was applied: checksum on disk ${file.checksum}, applied ${row.checksum} (applied ${row.appliedAt.toISOString()} by ${row.appliedBy}). Never edit an applied migration; add a new one`,
  }));
  if (!allowOutOfOrder && a.outOfOrder.length) {
    for (const f of a.outOfOrder) {
      problems.push({
        file: f.path,
        message: `${f.filename} is pending but older than the newest applied migration ${a.newest}; rename it with a newer version or set allow-out-of-order`,
      });
    }
  }
  return problems;
}

function warnMissing(a: Analysis, logger: Logger): string[] {
  return a.missing.map((h) => {
    const w = `applied migration ${h.version}_${h.name} has no file in the migrations directory`;
    logger.warning(w);
    return w;
  });
}

function refuse(problems: { message: string; file: string }[], a: Analysis): never {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
  const e = new MigrationRefusedError(
    `refusing to migrate: ${first.message}${more}`,
    { file: first.file },
    problems.map((p) => p.message),
  );
  e.rows = a.rows;
  e.pending = a.pending.map((f) => f.version);
  throw e;
}

function result(command: MigrateResult['command'], a: Analysis): MigrateResult {
  return {
    command,
    rows: a.rows,
    applied: [],
    baselined: [],
    pending: a.pending.map((f) => f.version),
    problems: [],
    warnings: [],
  };
}

/** Connects, runs `fn`, closes. */
async function withClient<T>(
  options: MigrateOptions,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await open(options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What the read-only commands (plan, status, verify) start from. */
interface Inspection {
  files: MigrationFile[];
  analysis: Analysis;
  /** The command's result, with `warnings` for applied versions whose file is gone. */
  res: MigrateResult;
  /** What would make `apply` refuse. */
  problems: { message: string; file: string }[];
}

/** Reads the files and the history table (no writes, no lock) and compares them. */
async function inspect(
  command: MigrateResult['command'],
  options: MigrateOptions,
  logger: Logger,
): Promise<Inspection> {
  const table = historyTableName(options.historyTable);
  const files = discoverMigrations(options.dir);
  const history = await withClient(options, (c) => readHistory(c, table));
  const analysis = analyse(files, history, !!options.allowOutOfOrder);
  const res = result(command, analysis);
  res.warnings = warnMissing(analysis, logger);
  return { files, analysis, res, problems: problemsOf(analysis, !!options.allowOutOfOrder) };
}

/**
 * Connects, takes the run's advisory lock (waiting up to `lockWaitMs`), creates the history table
 * when missing, reads it and runs `fn`; releases the lock and closes whatever happens.
 * A killed runner's backend notices the closed connection and rolls back (PostgreSQL 14+
 * `client_connection_check_interval`).
 * @throws LockTimeoutError when another run holds the lock longer than `lockWaitMs`
 */
async function withHistoryLock<T>(
  options: MigrateOptions,
  table: string,
  fn: (client: pg.Client, history: HistoryRow[]) => Promise<T>,
): Promise<T> {
  return withClient(options, async (client) => {
    await client.query(`SELECT set_config('client_connection_check_interval', '1000', false)`).then(
      () => connectionChecked.add(client),
      () => {},
    );
    const release = await acquireAdvisoryLock(
      client,
      lockName(table),
      options.lockWaitMs ?? DEFAULTS.lockWaitMs,
    );
    try {
      await ensureHistoryTable(client, table);
      return await fn(client, await readHistory(client, table));
    } finally {
      await release();
    }
  });
}

/**
 * Lists pending migrations without writing anything. Parses each pending file, so syntax errors
 * and mixing-rule violations surface here.
 * @throws ConfigError for a bad directory, file name, URL or SQL; MigrationRefusedError when
 *   `apply` would refuse (changed checksum, out-of-order file)
 */
export async function planMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const { analysis: a, res, problems } = await inspect('plan', options, logger);
  if (problems.length) refuse(problems, a);
  for (const f of a.pending) {
    const parsed = await parseMigration(f);
    const row = res.rows.find((r) => r.version === f.version)!;
    row.statements = parsed.statements.length;
    row.nonTransactional = nonTransactionalReason(parsed);
    logger.info(
      `pending ${f.filename} (${parsed.statements.length} statements${row.nonTransactional ? `, runs outside a transaction: ${row.nonTransactional}` : ''})`,
    );
  }
  if (!a.pending.length) logger.info('no pending migrations');
  return res;
}

/**
 * Shows every migration's state (applied, pending, changed, missing file) without writing.
 * Does not parse SQL, so it stays fast with thousands of migrations.
 */
export async function migrationStatus(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const { analysis: a, res, problems } = await inspect('status', options, logger);
  res.problems = problems.map((p) => p.message);
  const applied = a.rows.filter((r) => r.state === 'already applied' || r.state === 'baselined');
  logger.info(
    `${applied.length} applied, ${a.pending.length} pending, ${a.changed.length} changed, ${a.missing.length} missing file(s)`,
  );
  return res;
}

/**
 * Checks that applied files are unchanged, that no pending file is out of order, and that every
 * pending file parses. Returns the problems instead of throwing; the caller fails the step when
 * `problems` is not empty.
 */
export async function verifyMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const { files, analysis: a, res, problems } = await inspect('verify', options, logger);
  for (const f of a.pending) {
    try {
      await parseMigration(f);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push({ file: f.path, message: e.message });
    }
  }
  for (const p of problems) logger.error(p.message, { file: p.file });
  res.problems = problems.map((p) => p.message);
  if (!problems.length) logger.info(`verified ${files.length} migration file(s): no problems`);
  return res;
}

/**
 * Marks every file with a version up to and including `baselineVersion` as applied without
 * running it (kind `baseline` in the history), for databases that already have that schema.
 * @throws ConfigError when `baselineVersion` is not a version number
 */
export async function baselineMigrations(
  options: BaselineOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const table = historyTableName(options.historyTable);
  if (!/^\d+$/.test(options.baselineVersion ?? '')) {
    throw new ConfigError(
      `expected a migration version (digits), got '${options.baselineVersion ?? ''}'`,
      undefined,
      'baseline-version',
    );
  }
  const files = discoverMigrations(options.dir);
  const info = options.runInfo ?? readRunInfo();
  return withHistoryLock(options, table, async (client, history) => {
    const known = new Set(history.map((h) => versionKey(h.version)));
    const todo = files.filter(
      (f) =>
        compareVersions(f.version, options.baselineVersion) <= 0 &&
        !known.has(versionKey(f.version)),
    );
    if (!files.some((f) => compareVersions(f.version, options.baselineVersion) === 0)) {
      logger.warning(`no migration file has version ${options.baselineVersion}`);
    }
    try {
      await client.query('BEGIN');
      for (const f of todo) {
        await client.query(
          `INSERT INTO ${ident(table)} (version, name, checksum, applied_by, execution_ms, run_url, kind)
           VALUES ($1, $2, $3, $4, 0, $5, 'baseline')`,
          [f.version, f.name, f.checksum, info.actor, info.runUrl ?? null],
        );
        logger.info(`baselined ${f.filename}`);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    }
    const a = analyse(files, await readHistory(client, table), !!options.allowOutOfOrder);
    const res = result('baseline', a);
    res.baselined = todo.map((f) => f.version);
    res.warnings = warnMissing(a, logger);
    return res;
  });
}

/** A PostgreSQL error as thrown by `pg`. */
interface PgError extends Error {
  code?: string;
  position?: string;
}

const LOCK_NOT_AVAILABLE = '55P03';
/** statement_timeout, or a cancel request. */
const QUERY_CANCELED = '57014';

function pgInterval(ms: number): string {
  return `'${Math.max(0, Math.round(ms))}ms'`;
}

/** Clients whose server has `client_connection_check_interval` (PostgreSQL 14+) and got it set. */
const connectionChecked = new WeakSet<pg.Client>();

/**
 * Statements that end a file's session state (`SET ROLE`, `SET SESSION AUTHORIZATION`,
 * `SET search_path`, any other `SET`), so the history row is written, and the next file runs,
 * as the runner with the connection's own settings (Flyway restores the connection state after
 * each migration the same way). `RESET ALL` skips the role and session authorization, hence
 * the two explicit resets; the advisory lock is untouched. The connection check interval set
 * by {@link withHistoryLock} is restored where the server has it (a plain `SET`: reading
 * `pg_settings` for every file cost more than the file itself in the 300-file benchmark).
 */
function restoreSession(client: pg.Client): string[] {
  return [
    'RESET SESSION AUTHORIZATION',
    'RESET ROLE',
    'RESET ALL',
    ...(connectionChecked.has(client) ? ['SET client_connection_check_interval = 1000'] : []),
  ];
}

/** `SET [LOCAL] lock_timeout = ...; SET [LOCAL] statement_timeout = ...` for the run's settings. */
function setTimeouts(ctx: RunContext, scope: 'LOCAL' | 'SESSION'): string[] {
  const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
  return [
    `${set} lock_timeout = ${pgInterval(ctx.lockTimeoutMs)}`,
    `${set} statement_timeout = ${pgInterval(ctx.statementTimeoutMs)}`,
  ];
}

/**
 * Applies pending migrations in version order, each file in its own transaction (files with a
 * statement that cannot run in a transaction run statement by statement; see `checkMixing` in
 * parser.ts). Holds a session advisory lock for the whole run. Every pending file is parsed
 * before the first one runs. A statement that fails on `lock_timeout` (SQLSTATE 55P03) is
 * retried `retries` times with exponential backoff.
 *
 * @throws ConfigError for bad input; MigrationRefusedError (nothing applied) for a changed or
 *   out-of-order file; MigrationFailedError at the failing file and line; LockTimeoutError when
 *   another run holds the lock longer than `lockWaitMs`
 */
export async function applyMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const table = historyTableName(options.historyTable);
  const files = discoverMigrations(options.dir);
  const info = options.runInfo ?? readRunInfo();
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs;
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs;
  return withHistoryLock(options, table, async (client, history) => {
    const applied: string[] = [];
    const a = analyse(files, history, !!options.allowOutOfOrder);
    const warnings = warnMissing(a, logger);
    const problems = problemsOf(a, !!options.allowOutOfOrder);
    if (problems.length) refuse(problems, a);
    const parsed: ParsedMigration[] = [];
    for (const f of a.pending) parsed.push(await parseMigration(f));
    if (!parsed.length) logger.info('no pending migrations');
    const ctx: RunContext = {
      client,
      table,
      info,
      lockTimeoutMs,
      statementTimeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      retryBackoffMs: options.retryBackoffMs ?? DEFAULTS.retryBackoffMs,
      logger,
    };
    for (const p of parsed) {
      const row = a.rows.find((r) => r.version === p.file.version)!;
      try {
        const ms = p.nonTransactional
          ? await runNonTransactional(ctx, p)
          : await runTransactional(ctx, p);
        row.state = 'applied';
        row.durationMs = ms;
        row.nonTransactional = nonTransactionalReason(p);
        applied.push(p.file.version);
        logger.info(`applied ${p.file.filename} (${ms} ms)`);
      } catch (e) {
        row.state = 'failed';
        if (e instanceof MigrationFailedError) {
          e.applied.push(...applied);
          e.rows = a.rows;
        }
        throw e;
      }
    }
    const res = result('apply', a);
    res.applied = applied;
    res.pending = a.pending.map((f) => f.version).filter((v) => !applied.includes(v));
    res.warnings = warnings;
    return res;
  });
}

/** Why a file runs outside a transaction (its first such statement), if it does. */
function nonTransactionalReason(p: ParsedMigration): string | undefined {
  return p.statements.find((s) => s.nonTransactional)?.nonTransactional;
}

interface RunContext {
  client: pg.Client;
  table: string;
  info: RunInfo;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  logger: Logger;
}

function historyInsert(ctx: RunContext, f: MigrationFile, executionMs?: number): string {
  const lit = (v: string | undefined | null) =>
    v === undefined || v === null ? 'NULL' : ctx.client.escapeLiteral(v);
  const ms =
    executionMs === undefined
      ? `(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer`
      : String(Math.round(executionMs));
  return `INSERT INTO ${ident(ctx.table)} (version, name, checksum, applied_by, execution_ms, run_url, kind)
VALUES (${lit(f.version)}, ${lit(f.name)}, ${lit(f.checksum)}, ${lit(ctx.info.actor)}, ${ms}, ${lit(ctx.info.runUrl)}, 'applied')`;
}

/** Runs `attempt`, retrying on SQLSTATE 55P03 with exponential backoff. */
async function withLockRetry<T>(
  ctx: RunContext,
  where: () => string,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const code = (e as PgError).code;
      if (code !== LOCK_NOT_AVAILABLE || n >= ctx.retries) throw e;
      const delay = Math.min(60_000, ctx.retryBackoffMs * 2 ** n);
      ctx.logger.warning(
        `lock timeout (SQLSTATE 55P03, lock_timeout ${ctx.lockTimeoutMs} ms) at ${where()}: retry ${n + 1}/${ctx.retries} in ${delay} ms`,
      );
      await sleep(delay);
    }
  }
}

function failure(
  p: ParsedMigration,
  s: Statement | undefined,
  e: unknown,
  retries: number,
  nonTransactional = false,
): MigrationFailedError {
  const err = e as PgError;
  const hint =
    err.code === LOCK_NOT_AVAILABLE
      ? ` (lock_timeout; gave up after ${retries} retr${retries === 1 ? 'y' : 'ies'})`
      : err.code === QUERY_CANCELED
        ? ` (statement_timeout or cancelled${s || nonTransactional ? '' : '; the file was not run again to find the line, so its locks are not taken twice'})`
        : '';
  return new MigrationFailedError(
    `${p.file.filename} failed${s ? ` at line ${s.line}` : ''}: ${err.message}${err.code ? ` [SQLSTATE ${err.code}]` : ''}${hint}; ${
      nonTransactional
        ? 'this file runs outside a transaction, so statements before this line were committed: make them idempotent (IF NOT EXISTS) and re-run'
        : 'nothing of this file was committed'
    }`,
    { file: p.file.path, line: s?.line },
    err.code,
  );
}

/**
 * One transaction for the whole file, sent as a single multi-statement query (one round trip):
 * `BEGIN; SET LOCAL ...; <statements>; RESET ...; INSERT history; COMMIT`. On failure the
 * transaction is rolled back; the failing line comes from the error's position when the server
 * reports one, else from replaying the statements one by one in a rolled-back transaction
 * (never after a statement_timeout / cancel, SQLSTATE 57014: the replay would hold the same
 * locks that long again).
 * @returns execution time in milliseconds
 */
async function runTransactional(ctx: RunContext, p: ParsedMigration): Promise<number> {
  const SEP = '\n;\n'; // the newline ends a trailing `-- comment` before the `;`
  const head = ['BEGIN', ...setTimeouts(ctx, 'LOCAL')];
  const text = [
    ...head,
    ...p.statements.map((s) => s.sql),
    ...restoreSession(ctx.client),
    historyInsert(ctx, p.file),
    'COMMIT',
  ].join(SEP);
  // Where each statement starts in `text`, to map an error position back to it.
  const starts: number[] = [];
  let at = head.join(SEP).length + SEP.length;
  for (const s of p.statements) {
    starts.push(at);
    at += s.sql.length + SEP.length;
  }
  const start = performance.now();
  try {
    await withLockRetry(
      ctx,
      () => p.file.path,
      async () => {
        try {
          await ctx.client.query(text);
        } catch (e) {
          await ctx.client.query('ROLLBACK').catch(() => {});
          throw e;
        }
      },
    );
  } catch (e) {
    const err = e as PgError;
    if (!err.code) throw e;
    // The error position (1-based, in characters of `text`) names the statement when the
    // server reports one. A statement that ran past statement_timeout is not replayed: the
    // replay would take its locks for that long again. Otherwise the file is replayed
    // statement by statement in a rolled-back transaction to find the failing one.
    const pos = Number(err.position) - 1;
    // (Positions count characters; with surrogate pairs in the text, replay instead.)
    if (err.position && pos >= starts[0] && !/[\uD800-\uDFFF]/.test(text)) {
      const i = starts.findLastIndex((x) => x <= pos);
      if (i >= 0 && pos < starts[i] + p.statements[i].sql.length) {
        throw failure(p, p.statements[i], e, ctx.retries);
      }
    }
    if (err.code === QUERY_CANCELED) throw failure(p, undefined, e, ctx.retries);
    throw failure(p, await locateFailure(ctx, p), e, ctx.retries);
  }
  return Math.round(performance.now() - start);
}

/** Replays the file statement by statement inside a rolled-back transaction; returns the first failing statement. */
async function locateFailure(ctx: RunContext, p: ParsedMigration): Promise<Statement | undefined> {
  try {
    await ctx.client.query(['BEGIN', ...setTimeouts(ctx, 'LOCAL')].join('; '));
    for (const s of p.statements) {
      try {
        await ctx.client.query(s.sql);
      } catch {
        return s;
      }
    }
    return undefined;
  } finally {
    await ctx.client.query('ROLLBACK').catch(() => {});
  }
}

/**
 * A file with a statement that cannot run in a transaction: each statement runs alone, the
 * history row is written after the last one. A failed `CREATE INDEX CONCURRENTLY` leaves an
 * invalid index behind (PostgreSQL docs, "Building Indexes Concurrently"); such an index with
 * the statement's name is dropped (`DROP INDEX CONCURRENTLY`) after the failure and before
 * every attempt, so a re-run builds it again.
 */
async function runNonTransactional(ctx: RunContext, p: ParsedMigration): Promise<number> {
  const start = performance.now();
  await ctx.client.query(setTimeouts(ctx, 'SESSION').join('; '));
  for (const s of p.statements) {
    // An invalid index left by an earlier, interrupted CREATE INDEX CONCURRENTLY would make
    // `IF NOT EXISTS` skip the build and record the migration as applied.
    await dropInvalidIndex(ctx, s);
    try {
      await withLockRetry(
        ctx,
        () => `${p.file.path}:${s.line}`,
        async () => {
          try {
            await ctx.client.query(s.sql);
          } catch (e) {
            await dropInvalidIndex(ctx, s);
            throw e;
          }
        },
      );
    } catch (e) {
      if (!(e as PgError).code) throw e;
      throw failure(p, s, e, ctx.retries, true);
    }
  }
  const ms = Math.round(performance.now() - start);
  // The file's own SETs (and the run's timeouts) were session-wide: end them before the
  // history row is written and the next file runs.
  await ctx.client.query(restoreSession(ctx.client).join('; '));
  await ctx.client.query(historyInsert(ctx, p.file, ms));
  return ms;
}

async function dropInvalidIndex(ctx: RunContext, s: Statement): Promise<void> {
  if (s.kind !== 'IndexStmt' || !s.node.concurrent || !s.node.idxname) return;
  const rel = s.node.relation as { schemaname?: string } | undefined;
  const name = rel?.schemaname
    ? `${rel.schemaname}.${String(s.node.idxname)}`
    : String(s.node.idxname);
  const r = await ctx.client
    .query(
      `SELECT NOT i.indisvalid AS invalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)`,
      [ident(name)],
    )
    .catch(() => ({ rows: [] as { invalid: boolean }[] }));
  if (r.rows[0]?.invalid) {
    ctx.logger.warning(
      `dropping invalid index ${name} left by a failed or interrupted CREATE INDEX CONCURRENTLY`,
    );
    await ctx.client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${ident(name)}`).catch(() => {});
  }
}

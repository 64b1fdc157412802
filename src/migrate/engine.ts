/**
 * The migrate engine: plan, apply, status, verify, baseline, rollback and repair ordered SQL
 * migrations against PostgreSQL, with a history table, a session advisory lock, one
 * transaction per file, `lock_timeout` / `statement_timeout` and retry with backoff on lock
 * timeouts (SQLSTATE 55P03).
 *
 * Behaviour follows the established migration tools: Flyway's checksums, out-of-order refusal,
 * `baseline`, `repair`, `target`, repeatable migrations, undo migrations and placeholders
 * (Flyway docs, "Commands" and "Concepts"); golang-migrate's, dbmate's, Prisma Migrate's and
 * Diesel's file layouts and history tables (see files.ts and history.ts); node-pg-migrate's
 * advisory lock. Running a file: apply.ts; interrupted CONCURRENTLY builds: concurrently.ts.
 */
import pg from 'pg';
import { connect } from '../db/connect.js';
import { acquireAdvisoryLock } from '../db/lock.js';
import { ConfigError, type Logger } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { runInfo as readRunInfo, type RunInfo } from '../runinfo.js';
import {
  howItRuns,
  MigrationFailedError,
  nonTransactionalReason,
  runMigration,
  type RunContext,
} from './apply.js';
import { listInvalidIndexes, type InvalidIndex } from './concurrently.js';
import {
  compareVersions,
  FORMATS_WITH_DOWN,
  loadMigrations,
  RUN_CALLBACKS,
  versionKey,
  type FormatOption,
  type MigrationFile,
  type MigrationFormat,
  type MigrationSet,
} from './files.js';
import {
  chooseStore,
  DEFAULT_HISTORY_TABLE,
  historyTableName,
  type HistoryRow,
  type HistoryStore,
} from './history.js';
import { parseMigration, type ParsedMigration } from './parser.js';

export { MigrationFailedError } from './apply.js';
export { ensureHistoryTable, historyTableName, readHistory, type HistoryRow } from './history.js';

/** Options shared by every migrate command. */
export interface MigrateOptions {
  /** PostgreSQL URL (`postgres://user:password@host:port/db?sslmode=require`). Never logged. */
  databaseUrl: string;
  /** Directory holding the migrations. */
  dir: string;
  /** File format (default `auto`: detected from the files; see files.ts). */
  format?: FormatOption;
  /**
   * Schema-qualified history table. Default: the format's own tool table when it exists
   * (adopted in place, see history.ts), else `runbook.schema_migrations`.
   */
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
  /**
   * `apply`/`plan`: apply up to and including this version (Flyway `target`). `rollback`: undo
   * every applied version above it (it stays applied).
   */
  target?: string;
  /**
   * Values for `${name}` placeholders (Flyway syntax). Replaced in every file of the `flyway`
   * format, and in every file of other formats when given. Checksums cover the file as
   * written, before replacement (as Flyway's do).
   */
  placeholders?: Record<string, string>;
  /** `rollback`: how many of the newest applied migrations to undo (default 1; ignored with `target`). */
  steps?: number;
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
  | 'recorded as failed'
  | 'missing file'
  | 'checksum changed'
  | 'out of order'
  | 'rolled back'
  | 'repaired';

/** One migration (file or history row) in a command's result. */
export interface MigrationRow {
  /** Version; `repeatable` for a Flyway `R__` migration. */
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
  /** Checksum recorded when the file was applied (the history table's own kind). */
  appliedChecksum?: string;
  /** Statements in the file (plan). */
  statements?: number;
  /** Set when the file runs statement by statement outside a transaction (plan, apply). */
  nonTransactional?: string;
  /** `plan`: how the file runs (one transaction, or statements alone and why). */
  runs?: string;
  /** `plan`: the SQL the file will run, statement by statement, placeholders replaced. */
  sql?: string;
  /** The file has a down / undo part. */
  hasDown?: boolean;
}

/** What a command found or did. */
export interface MigrateResult {
  command: 'plan' | 'apply' | 'status' | 'verify' | 'baseline' | 'rollback' | 'repair';
  /** The file format used, and why (`detected from V1__init.sql`, `set by the format input`). */
  format?: MigrationFormat;
  formatReason?: string;
  /** The history table used; `adopted` when it is another tool's table used in place. */
  historyTable?: string;
  historyTool?: string;
  /** Every file and history row, in version order (repeatables last). */
  rows: MigrationRow[];
  /** Versions applied by this run, in order. */
  applied: string[];
  /** Versions baselined by this run. */
  baselined: string[];
  /** Versions whose down part this run ran (rollback), newest first. */
  rolledBack?: string[];
  /** Versions whose record this run realigned (repair). */
  repaired?: string[];
  /** Versions still pending after this run. */
  pending: string[];
  /** Problems that make `apply` refuse (verify reports them instead of throwing). */
  problems: string[];
  /** Warnings (e.g. an applied version whose file is gone). */
  warnings: string[];
  /** `status`, `apply`: invalid indexes left by interrupted CONCURRENTLY builds. */
  invalidIndexes?: InvalidIndex[];
  /** `verify --schema`: differences between the live schema and the migrations' schema. */
  schemaDiff?: string[];
}

/**
 * The migrations in a state that makes `apply` refuse to run: a changed applied file, a
 * pending file older than the newest applied one, a migration recorded as failed. Thrown
 * before anything is applied.
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

const DEFAULTS = {
  lockWaitMs: 60_000,
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  retries: 3,
  retryBackoffMs: 1_000,
  applicationName: 'runbook-migrate',
};

const REPEATABLE_VERSION = 'repeatable';

/** Placeholder names whose values are treated as secrets (masked, never shown in a plan). */
export const SECRET_PLACEHOLDER = /pass|secret|token|key|credential/i;

function lockName(table: string): string {
  return `runbook-migrate ${table}`;
}

async function open(options: MigrateOptions): Promise<pg.Client> {
  return connect(options.databaseUrl, {
    caCert: options.caCert || undefined,
    applicationName: options.applicationName ?? DEFAULTS.applicationName,
  });
}

/** The comparison of files on disk with the history table. */
interface Analysis {
  rows: MigrationRow[];
  /** Versioned files to apply (up to `target`), then repeatables to (re-)run. */
  pending: MigrationFile[];
  /** Pending files above `target`, not applied by this run. */
  aboveTarget: MigrationFile[];
  changed: { file: MigrationFile; row: HistoryRow }[];
  outOfOrder: MigrationFile[];
  missing: HistoryRow[];
  failed: HistoryRow[];
  /** The highest applied version, if any. */
  newest?: string;
}

/** The fields of a row that come from its history record. */
function recorded(h: HistoryRow): Partial<MigrationRow> {
  return {
    durationMs: h.executionMs,
    appliedAt: h.appliedAt,
    appliedBy: h.appliedBy,
    appliedChecksum: h.checksum ?? undefined,
  };
}

function checkTarget(target: string | undefined): string | undefined {
  if (target === undefined || target === '') return undefined;
  if (!/^\d+([._]\d+)*$/.test(target)) {
    throw new ConfigError(
      `expected a migration version (digits, dots allowed), got '${target}'`,
      undefined,
      'target',
    );
  }
  return target.replace(/_/g, '.');
}

function analyse(
  set: MigrationSet,
  history: HistoryRow[],
  store: HistoryStore,
  allowOutOfOrder: boolean,
  target?: string,
): Analysis {
  const versioned = history.filter((h) => !h.repeatable);
  const byVersion = new Map(versioned.map((h) => [versionKey(h.version), h]));
  const newest = versioned.length ? versioned[versioned.length - 1].version : undefined;
  const rows: MigrationRow[] = [];
  const pending: MigrationFile[] = [];
  const aboveTarget: MigrationFile[] = [];
  const changed: Analysis['changed'] = [];
  const outOfOrder: MigrationFile[] = [];
  const seen = new Set<string>();
  for (const f of set.files) {
    const key = versionKey(f.version);
    const h = byVersion.get(key);
    seen.add(key);
    const base = {
      version: f.version,
      name: f.name,
      file: f.path,
      checksum: f.checksum,
      hasDown: !!f.down || undefined,
    };
    if (h) {
      let state: MigrationState = h.kind === 'baseline' ? 'baselined' : 'already applied';
      if (h.failed) state = 'recorded as failed';
      else if (!store.matches(f, h)) {
        state = 'checksum changed';
        changed.push({ file: f, row: h });
      }
      rows.push({ ...base, ...recorded(h), state });
    } else {
      const late = newest !== undefined && compareVersions(f.version, newest) < 0;
      if (target !== undefined && compareVersions(f.version, target) > 0) aboveTarget.push(f);
      else {
        if (late) outOfOrder.push(f);
        pending.push(f);
      }
      rows.push({ ...base, state: late && !allowOutOfOrder ? 'out of order' : 'pending' });
    }
  }
  const missing = versioned.filter((h) => !seen.has(versionKey(h.version)));
  for (const h of missing) {
    rows.push({
      version: h.version,
      name: h.name,
      ...recorded(h),
      state: h.failed ? 'recorded as failed' : 'missing file',
    });
  }
  rows.sort((a, b) => compareVersions(a.version, b.version));
  // Repeatable migrations (Flyway R__): after every versioned one, whenever new or changed.
  const repeatables = new Map(history.filter((h) => h.repeatable).map((h) => [h.name, h]));
  for (const f of set.repeatables) {
    const h = repeatables.get(f.name);
    repeatables.delete(f.name);
    const base = { version: REPEATABLE_VERSION, name: f.name, file: f.path, checksum: f.checksum };
    if (h && !h.failed && store.matches(f, h)) {
      rows.push({ ...base, ...recorded(h), state: 'already applied' });
    } else {
      if (!aboveTarget.length) pending.push(f);
      rows.push({ ...base, ...(h ? recorded(h) : {}), state: 'pending' });
    }
  }
  const failed = history.filter((h) => h.failed);
  return { rows, pending, aboveTarget, changed, outOfOrder, missing, failed, newest };
}

function problemsOf(
  a: Analysis,
  allowOutOfOrder: boolean,
  store: HistoryStore,
): { message: string; file: string }[] {
  const problems = a.changed.map(({ file, row }) => ({
    file: file.path,
    message: `${file.filename} was changed after it was applied: checksum on disk ${file.checksum}, applied ${row.checksum}${row.appliedAt ? ` (applied ${row.appliedAt.toISOString()}${row.appliedBy ? ` by ${row.appliedBy}` : ''})` : ''}. Never edit an applied migration; add a new one (or, for a deliberate edit that changes nothing in the database, run repair)`,
  }));
  for (const h of a.failed) {
    const f = a.rows.find((r) => r.version === h.version || (h.repeatable && r.name === h.name));
    problems.push({
      file: f?.file ?? store.table,
      message: `migration ${h.version || h.name} is recorded as failed in ${store.table}: check what it left in the database and fix it by hand, then run repair (clears the failed record) and apply again`,
    });
  }
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
  return a.missing
    .filter((h) => !h.failed)
    .map((h) => {
      const w = `applied migration ${h.version}${h.name ? `_${h.name}` : ''} has no file in the migrations directory`;
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
  e.pending = a.pending.map(label);
  throw e;
}

function label(f: MigrationFile): string {
  return f.repeatable ? `R__${f.name}` : f.version;
}

function result(
  command: MigrateResult['command'],
  a: Analysis,
  set: MigrationSet,
  store: HistoryStore,
): MigrateResult {
  return {
    command,
    format: set.format,
    formatReason: set.reason,
    historyTable: store.table,
    historyTool: store.adopted ? store.tool : undefined,
    rows: a.rows,
    applied: [],
    baselined: [],
    pending: [...a.pending, ...a.aboveTarget].map(label),
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

/** Reads the files in the run's format and logs what was found. */
function load(options: MigrateOptions, logger: Logger): MigrationSet {
  const set = loadMigrations(options.dir, options.format ?? 'auto');
  logger.info(
    `migration format: ${set.format} (${set.reason}); ${set.files.length} versioned${set.repeatables.length ? `, ${set.repeatables.length} repeatable` : ''} migration(s) in ${options.dir}`,
  );
  return set;
}

/** The placeholder values for a run: given ones; `{}` for flyway (replacement always on). */
function placeholdersFor(
  options: MigrateOptions,
  set: MigrationSet,
): Record<string, string> | undefined {
  if (options.placeholders && Object.keys(options.placeholders).length) return options.placeholders;
  return set.format === 'flyway' ? {} : undefined;
}

async function storeFor(
  client: pg.Client,
  options: MigrateOptions,
  set: MigrationSet,
  logger: Logger,
): Promise<HistoryStore> {
  const store = await chooseStore(
    client,
    set.format,
    options.historyTable ? historyTableName(options.historyTable) : undefined,
  );
  if (store.adopted) {
    logger.info(
      `history table: ${store.table} (${store.tool}'s own table, used in place: what it records as applied is not run again, and this run records there too)`,
    );
  }
  return store;
}

/** What the read-only commands (plan, status, verify) start from. */
interface Inspection {
  set: MigrationSet;
  store: HistoryStore;
  analysis: Analysis;
  /** The command's result, with `warnings` for applied versions whose file is gone. */
  res: MigrateResult;
  /** What would make `apply` refuse. */
  problems: { message: string; file: string }[];
  invalidIndexes?: InvalidIndex[];
}

/** Reads the files and the history table (no writes, no lock) and compares them. */
async function inspect(
  command: MigrateResult['command'],
  options: MigrateOptions,
  logger: Logger,
  withIndexes = false,
): Promise<Inspection> {
  const set = load(options, logger);
  const target = checkTarget(options.target);
  return withClient(options, async (c) => {
    const store = await storeFor(c, options, set, logger);
    const history = await store.read(c, set.files);
    const analysis = analyse(set, history, store, !!options.allowOutOfOrder, target);
    const res = result(command, analysis, set, store);
    res.warnings = warnMissing(analysis, logger);
    const invalidIndexes = withIndexes ? await listInvalidIndexes(c) : undefined;
    return {
      set,
      store,
      analysis,
      res,
      problems: problemsOf(analysis, !!options.allowOutOfOrder, store),
      invalidIndexes,
    };
  });
}

/**
 * Connects, takes the run's advisory lock (waiting up to `lockWaitMs`), creates our history
 * table when it is the one used, reads it and runs `fn`; releases the lock and closes whatever
 * happens. A killed runner's backend notices the closed connection and rolls back
 * (PostgreSQL 14+ `client_connection_check_interval`).
 * @throws LockTimeoutError when another run holds the lock longer than `lockWaitMs`
 */
async function withHistoryLock<T>(
  options: MigrateOptions,
  set: MigrationSet,
  logger: Logger,
  fn: (
    client: pg.Client,
    store: HistoryStore,
    history: HistoryRow[],
    checked: boolean,
  ) => Promise<T>,
): Promise<T> {
  return withClient(options, async (client) => {
    const checked = await client
      .query(`SELECT set_config('client_connection_check_interval', '1000', false)`)
      .then(
        () => true,
        () => false,
      );
    const store = await storeFor(client, options, set, logger);
    const release = await acquireAdvisoryLock(
      client,
      lockName(store.table),
      options.lockWaitMs ?? DEFAULTS.lockWaitMs,
    );
    try {
      await store.ensure(client);
      return await fn(client, store, await store.read(client, set.files), checked);
    } finally {
      await release().catch(() => {});
    }
  });
}

function runContext(
  client: pg.Client,
  store: HistoryStore,
  checked: boolean,
  options: MigrateOptions,
  set: MigrationSet,
  logger: Logger,
): RunContext {
  return {
    client,
    store,
    info: options.runInfo ?? readRunInfo(),
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
    retries: options.retries ?? DEFAULTS.retries,
    retryBackoffMs: options.retryBackoffMs ?? DEFAULTS.retryBackoffMs,
    logger,
    connectionChecked: checked,
    resumeCommand: `runbook migrate apply --dir ${options.dir} --format ${set.format}${options.historyTable ? ` --history-table ${options.historyTable}` : ''}`,
    done: [],
  };
}

/**
 * Lists pending migrations without writing anything, with the SQL each will run and how (one
 * transaction, or statements alone and why). Parses each pending file, so syntax errors,
 * missing placeholders and mixing-rule violations surface here.
 * @throws ConfigError for a bad directory, file name, URL or SQL; MigrationRefusedError when
 *   `apply` would refuse (changed checksum, out-of-order file, failed record)
 */
export async function planMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const { set, analysis: a, res, problems } = await inspect('plan', options, logger);
  if (problems.length) refuse(problems, a);
  const placeholders = placeholdersFor(options, set);
  for (const f of a.pending) {
    const parsed = await parseMigration(f, { placeholders });
    const row = res.rows.find((r) => r.file === f.path)!;
    row.statements = parsed.statements.length;
    row.nonTransactional = nonTransactionalReason(parsed);
    row.runs = howItRuns(parsed);
    row.sql = redactSecrets(
      parsed.statements.map((s) => `${s.sql};`).join('\n\n'),
      Object.entries(placeholders ?? {})
        .filter(([k, v]) => SECRET_PLACEHOLDER.test(k) && v)
        .map(([, v]) => v),
    );
    logger.info(
      `pending ${f.filename}: ${parsed.statements.length} statement(s), runs as ${row.runs}`,
    );
  }
  if (a.aboveTarget.length) {
    logger.info(
      `${a.aboveTarget.length} pending migration(s) above target ${options.target} are not applied: ${a.aboveTarget.map((f) => f.version).join(', ')}`,
    );
  }
  if (!a.pending.length) logger.info('no pending migrations');
  return res;
}

/**
 * Shows every migration's state (applied, pending, changed, missing file, recorded as failed)
 * and the invalid indexes left by interrupted CONCURRENTLY builds, without writing. Does not
 * parse SQL, so it stays fast with thousands of migrations.
 */
export async function migrationStatus(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const {
    analysis: a,
    res,
    problems,
    invalidIndexes,
  } = await inspect('status', options, logger, true);
  res.problems = problems.map((p) => p.message);
  res.invalidIndexes = invalidIndexes;
  for (const i of invalidIndexes ?? []) {
    const w = `invalid index ${i.schema}.${i.name} on ${i.table}${i.buildingPid !== undefined ? ` (being built by backend pid ${i.buildingPid})` : ' left by a failed or interrupted CREATE INDEX CONCURRENTLY: writes still maintain it, queries never use it; apply drops it before building that index again'}: ${i.definition}`;
    logger.warning(w);
    res.warnings.push(w);
  }
  const applied = a.rows.filter((r) => r.state === 'already applied' || r.state === 'baselined');
  logger.info(
    `${applied.length} applied, ${res.pending.length} pending, ${a.changed.length} changed, ${a.missing.length} missing file(s)${invalidIndexes?.length ? `, ${invalidIndexes.length} invalid index(es)` : ''}`,
  );
  return res;
}

/**
 * Checks that applied files are unchanged, that no pending file is out of order, that nothing
 * is recorded as failed, and that every pending file parses. Returns the problems instead of
 * throwing; the caller fails the step when `problems` is not empty.
 */
export async function verifyMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const { set, analysis: a, res, problems } = await inspect('verify', options, logger);
  const placeholders = placeholdersFor(options, set);
  for (const f of a.pending) {
    try {
      await parseMigration(f, { placeholders });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push({ file: f.path, message: e.message });
    }
  }
  for (const p of problems) logger.error(p.message, { file: p.file });
  res.problems = problems.map((p) => p.message);
  if (!problems.length) {
    logger.info(
      `verified ${set.files.length + set.repeatables.length} migration file(s): no problems`,
    );
  }
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
  if (!/^\d+([._]\d+)*$/.test(options.baselineVersion ?? '')) {
    throw new ConfigError(
      `expected a migration version (digits), got '${options.baselineVersion ?? ''}'`,
      undefined,
      'baseline-version',
    );
  }
  const baselineVersion = options.baselineVersion.replace(/_/g, '.');
  const set = load(options, logger);
  const info = options.runInfo ?? readRunInfo();
  return withHistoryLock(options, set, logger, async (client, store, history) => {
    const known = new Set(history.filter((h) => !h.repeatable).map((h) => versionKey(h.version)));
    const todo = set.files.filter(
      (f) => compareVersions(f.version, baselineVersion) <= 0 && !known.has(versionKey(f.version)),
    );
    if (!set.files.some((f) => compareVersions(f.version, baselineVersion) === 0)) {
      logger.warning(`no migration file has version ${baselineVersion}`);
    }
    // golang-migrate keeps one row: only the newest baselined version is recorded.
    const records = store.tool === 'golang-migrate' && todo.length ? [todo[todo.length - 1]] : todo;
    try {
      await client.query('BEGIN');
      for (const f of records) await client.query(store.baseline({ client, info }, f));
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    }
    for (const f of todo) logger.info(`baselined ${f.filename}`);
    const a = analyse(set, await store.read(client, set.files), store, !!options.allowOutOfOrder);
    const res = result('baseline', a, set, store);
    res.baselined = todo.map((f) => f.version);
    res.warnings = warnMissing(a, logger);
    return res;
  });
}

/**
 * Applies pending migrations in version order (up to `target` when set), then new or changed
 * repeatable migrations; each file in its own transaction (files with a statement that cannot
 * run in a transaction run statement by statement; see `checkMixing` in parser.ts). Down parts
 * never run here. Holds a session advisory lock for the whole run. Every pending file is
 * parsed before the first one runs. A statement that fails on `lock_timeout` (SQLSTATE 55P03)
 * is retried `retries` times with exponential backoff.
 *
 * @throws ConfigError for bad input; MigrationRefusedError (nothing applied) for a changed or
 *   out-of-order file or a failed record; MigrationFailedError at the failing file and line
 *   (also when the connection is lost: it names the file, what is committed and the command
 *   that resumes); LockTimeoutError when another run holds the lock longer than `lockWaitMs`
 */
export async function applyMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const set = load(options, logger);
  const target = checkTarget(options.target);
  const placeholders = placeholdersFor(options, set);
  return withHistoryLock(options, set, logger, async (client, store, history, checked) => {
    const a = analyse(set, history, store, !!options.allowOutOfOrder, target);
    const warnings = warnMissing(a, logger);
    const problems = problemsOf(a, !!options.allowOutOfOrder, store);
    if (problems.length) refuse(problems, a);
    const parsed: ParsedMigration[] = [];
    for (const f of a.pending) parsed.push(await parseMigration(f, { placeholders }));
    if (!parsed.length) logger.info('no pending migrations');
    if (a.aboveTarget.length) {
      logger.info(
        `target ${target}: ${a.aboveTarget.length} pending migration(s) above it are not applied`,
      );
    }
    const ctx = runContext(client, store, checked, options, set, logger);
    const callbacks = await parseCallbacks(set, placeholders, logger);
    const callback = async (event: string) => {
      for (const cb of callbacks[event] ?? []) {
        await runMigration(ctx, cb, () => 'SELECT 1');
        logger.info(`ran callback ${cb.file.filename}`);
      }
    };
    await callback('beforeMigrate');
    for (const p of parsed) {
      const row = a.rows.find((r) => r.file === p.file.path)!;
      try {
        await callback('beforeEachMigrate');
        const ms = await runMigration(ctx, p, (ms) => store.record(ctx, p.file, ms));
        row.state = 'applied';
        row.durationMs = ms;
        row.nonTransactional = nonTransactionalReason(p);
        ctx.done.push(label(p.file));
        logger.info(`applied ${p.file.filename} (${ms} ms)`);
        await callback('afterEachMigrate');
      } catch (e) {
        if (row.state !== 'applied') row.state = 'failed';
        if (e instanceof MigrationFailedError) {
          e.applied.push(...ctx.done);
          e.rows = a.rows;
          e.context = { format: set.format, formatReason: set.reason, historyTable: store.table };
        }
        throw e;
      }
    }
    if (ctx.done.length) await callback('afterMigrateApplied');
    await callback('afterMigrate');
    const res = result('apply', a, set, store);
    res.applied = ctx.done;
    res.pending = res.pending.filter((v) => !ctx.done.includes(v));
    res.warnings = warnings;
    return res;
  });
}

/**
 * Parses the Flyway SQL callbacks `apply` runs (files.ts `RUN_CALLBACKS`), each in its own
 * transaction, not recorded in the history; warns about callback files of other events.
 */
async function parseCallbacks(
  set: MigrationSet,
  placeholders: Record<string, string> | undefined,
  logger: Logger,
): Promise<Record<string, ParsedMigration[]>> {
  const out: Record<string, ParsedMigration[]> = {};
  for (const [event, files] of Object.entries(set.callbacks ?? {})) {
    if (!(RUN_CALLBACKS as readonly string[]).includes(event)) {
      for (const f of files) {
        logger.warning(`Flyway callback ${f.filename} (${event}) is not run by runbook migrate`, {
          file: f.path,
        });
      }
      continue;
    }
    out[event] = [];
    for (const f of files) out[event].push(await parseMigration(f, { placeholders }));
  }
  return out;
}

/**
 * Runs the down (undo) parts of the newest applied migrations: the last `steps` (default 1),
 * or every one above `target`, newest first, each in its own transaction with its history
 * record (golang-migrate: the version goes back; Flyway: an `UNDO_SQL` row; others: the row
 * is deleted). Refused, with nothing run, when the format has no down parts (runbook,
 * prisma), when a migration to undo has no down part or no file, or was baselined.
 * @throws ConfigError (input `format`, `steps` or `target`) for a refusal;
 *   MigrationFailedError at the failing down statement
 */
export async function rollbackMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const set = load(options, logger);
  if (!FORMATS_WITH_DOWN.includes(set.format)) {
    throw new ConfigError(
      set.format === 'prisma'
        ? `rollback is refused: Prisma Migrate histories have no down migrations (Prisma rolls forward); add a new migration that reverts the change`
        : `rollback is refused: the ${set.format} format has no down migrations; add a new migration that reverts the change (formats with down parts: ${FORMATS_WITH_DOWN.join(', ')})`,
      undefined,
      'format',
    );
  }
  const target = checkTarget(options.target);
  const steps = options.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new ConfigError(
      `expected a whole number of migrations ≥ 1, got ${steps}`,
      undefined,
      'steps',
    );
  }
  const placeholders = placeholdersFor(options, set);
  return withHistoryLock(options, set, logger, async (client, store, history, checked) => {
    const applied = history.filter((h) => !h.repeatable).reverse();
    const todo =
      target !== undefined
        ? applied.filter((h) => compareVersions(h.version, target) > 0)
        : applied.slice(0, steps);
    const files = new Map(set.files.map((f) => [versionKey(f.version), f]));
    const why: string[] = [];
    for (const h of todo) {
      const f = files.get(versionKey(h.version));
      if (h.kind === 'baseline')
        why.push(`${h.version} was baselined, not applied: there is nothing to undo`);
      else if (!f) why.push(`${h.version} has no file in ${options.dir}`);
      else if (!f.down) why.push(`${f.filename} has no down part`);
    }
    if (why.length) {
      throw new ConfigError(
        `rollback is refused, nothing was run: ${why.join('; ')}`,
        undefined,
        target !== undefined ? 'target' : 'steps',
      );
    }
    if (!todo.length) logger.info('nothing to roll back');
    const ctx = runContext(client, store, checked, options, set, logger);
    ctx.resumeCommand = `runbook migrate rollback --dir ${options.dir} --format ${set.format}${target !== undefined ? ` --target ${target}` : ''}`;
    const rolledBack: string[] = [];
    for (let i = 0; i < todo.length; i++) {
      const f = files.get(versionKey(todo[i].version))!;
      const down = f.down!;
      const downFile: MigrationFile = {
        ...f,
        filename: down.filename,
        path: down.path,
        sql: down.sql,
        raw: undefined,
        noTransaction: down.noTransaction,
      };
      const p = await parseMigration(downFile, { placeholders });
      const previous = applied[applied.indexOf(todo[i]) + 1];
      const prevFile = previous ? files.get(versionKey(previous.version)) : undefined;
      const ms = await runMigration(ctx, p, () =>
        store.unrecord(ctx, f, prevFile ?? (previous && { ...f, version: previous.version })),
      );
      rolledBack.push(f.version);
      ctx.done.push(f.version);
      logger.info(`rolled back ${f.filename} with ${down.filename} (${ms} ms)`);
    }
    const a = analyse(set, await store.read(client, set.files), store, true);
    for (const r of a.rows) if (rolledBack.includes(r.version)) r.state = 'rolled back';
    const res = result('rollback', a, set, store);
    res.rolledBack = rolledBack;
    return res;
  });
}

/**
 * Realigns the history with the files after a deliberate edit (Flyway `repair`): the recorded
 * checksum of every changed applied file becomes the file's, and failed records are cleared
 * (Flyway: failed rows deleted; golang-migrate: `dirty` cleared; Prisma: marked rolled back).
 * Every change is logged. Runs nothing from the files.
 */
export async function repairMigrations(
  options: MigrateOptions,
  logger: Logger,
): Promise<MigrateResult> {
  const set = load(options, logger);
  const info = options.runInfo ?? readRunInfo();
  return withHistoryLock(options, set, logger, async (client, store, history) => {
    const before = analyse(set, history, store, true);
    const changed = before.changed.map((c) => c.file);
    for (const c of before.changed) {
      logger.warning(
        `repair: ${c.file.filename}: recorded checksum ${c.row.checksum} realigned to the file's (the database is not changed)`,
      );
    }
    for (const h of before.failed) {
      logger.warning(
        `repair: cleared the failed record of ${h.version || h.name} in ${store.table}`,
      );
    }
    const sql = store.repair({ client, info }, changed);
    if (sql && (changed.length || before.failed.length)) {
      await client.query(`BEGIN;\n${sql};\nCOMMIT`).catch(async (e) => {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      });
    }
    if (!changed.length && !before.failed.length) logger.info('repair: nothing to realign');
    const a = analyse(set, await store.read(client, set.files), store, !!options.allowOutOfOrder);
    const repaired = [...changed.map(label), ...before.failed.map((h) => h.version || h.name)];
    for (const r of a.rows) if (repaired.includes(r.version)) r.state = 'repaired';
    const res = result('repair', a, set, store);
    res.repaired = repaired;
    return res;
  });
}

/** For tests and the schema check: the default history table. */
export const DEFAULT_TABLE = DEFAULT_HISTORY_TABLE;

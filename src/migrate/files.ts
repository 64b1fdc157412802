/**
 * Migration files on disk: the naming of each supported tool, format detection, up and down
 * parts, checksums.
 *
 * Formats (each tool's own documentation):
 * - `runbook`: `<version>_<name>.sql` (the Supabase CLI convention, e.g.
 *   `20260101091000_billing_audit_log.sql`); no down parts.
 * - `flyway`: `V<version>__<description>.sql` versioned, `U<version>__<description>.sql` undo,
 *   `R__<description>.sql` repeatable (Flyway docs, "Migrations" → "Naming"); versions are
 *   dotted numbers (`1`, `1.1`, `2_1` = `2.1`).
 * - `golang-migrate`: `<version>_<title>.up.sql` and `<version>_<title>.down.sql`
 *   (golang-migrate `MIGRATIONS.md`).
 * - `dbmate`: `<version>_<name>.sql` holding a `-- migrate:up` and a `-- migrate:down` section;
 *   `-- migrate:up transaction:false` runs the section outside a transaction (dbmate README).
 * - `prisma`: `<timestamp>_<name>/migration.sql` (Prisma Migrate, "Migration histories");
 *   no down parts.
 * - `diesel`: `<version>_<name>/up.sql` and `down.sql`, the version digits with or without
 *   dashes (`2017-07-26-183722_create_users`); `metadata.toml` `run_in_transaction = false`
 *   (diesel_migrations docs).
 *
 * Every file is read as UTF-8; a leading byte order mark is dropped and CRLF / CR line ends
 * become LF before parsing and checksumming, so a file saved on Windows or with a BOM has the
 * same checksum as the plain one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ConfigError } from '../errors.js';

/** The migration file formats understood by the engine. */
export const FORMATS = [
  'runbook',
  'flyway',
  'golang-migrate',
  'dbmate',
  'prisma',
  'diesel',
] as const;

/** One of {@link FORMATS}. */
export type MigrationFormat = (typeof FORMATS)[number];

/** A format, or `auto` to detect it from the files. */
export type FormatOption = MigrationFormat | 'auto';

/** Formats whose migrations have down (undo) parts that `rollback` can run. */
export const FORMATS_WITH_DOWN: readonly MigrationFormat[] = [
  'flyway',
  'golang-migrate',
  'dbmate',
  'diesel',
];

/** The down (undo) part of a migration. */
export interface DownPart {
  /** File holding it (the `.down.sql`, `U` file, `down.sql`, or the dbmate file itself). */
  path: string;
  /** Display name, e.g. `000002_users.down.sql`. */
  filename: string;
  /** SQL text, BOM dropped, LF line ends; lines of other sections blanked so lines match. */
  sql: string;
  /** Run outside a transaction (dbmate `transaction:false`). */
  noTransaction?: boolean;
}

/** One migration found on disk (its up part; `down` when the format has one). */
export interface MigrationFile {
  /**
   * The version as written, dashes removed (e.g. `20260101091000`, `1.1`). Empty for Flyway
   * repeatable migrations.
   */
  version: string;
  /** The name / description part, e.g. `billing_audit_log`. */
  name: string;
  /** Display name relative to the directory, e.g. `V1__init.sql`, `2024_x/migration.sql`. */
  filename: string;
  /** Path as given by the caller's `dir` joined with the file name (used in annotations). */
  path: string;
  /**
   * The up SQL: file text with a leading BOM dropped and CRLF normalised to LF; in a dbmate
   * file the lines outside the up section are blanked, so line numbers match the file.
   */
  sql: string;
  /** Hex sha256 of the up SQL (BOM dropped, LF line ends; dbmate: the up section only). */
  checksum: string;
  /** The file as read (BOM and CRLF kept), for tools whose own checksum is over raw text. */
  raw?: string;
  /** Flyway `R__` repeatable: runs after versioned ones whenever its checksum changes. */
  repeatable?: boolean;
  /** The down / undo part, when the format has one for this migration. */
  down?: DownPart;
  /** Run outside a transaction, statement by statement (dbmate `transaction:false`, diesel metadata). */
  noTransaction?: boolean;
}

/** What {@link loadMigrations} found. */
export interface MigrationSet {
  format: MigrationFormat;
  /** True when the format was detected (`auto`), false when it was given. */
  detected: boolean;
  /** Why the format was chosen, for the log and summary. */
  reason: string;
  /** Versioned migrations in version order. */
  files: MigrationFile[];
  /** Flyway repeatable migrations, by file name. */
  repeatables: MigrationFile[];
  /** Flyway SQL callbacks by event (`beforeMigrate`, `afterMigrate`, ...), in file name order. */
  callbacks?: Record<string, MigrationFile[]>;
}

/**
 * Flyway callback events a `<event>.sql` / `<event>__<description>.sql` file may name (Flyway
 * docs, "Callback Events"). `apply` runs {@link RUN_CALLBACKS}; the others are recognised and
 * reported as not run.
 */
export const FLYWAY_CALLBACKS = [
  'beforeMigrate',
  'beforeEachMigrate',
  'beforeEachMigrateStatement',
  'afterEachMigrateStatement',
  'afterEachMigrateStatementError',
  'afterEachMigrate',
  'afterEachMigrateError',
  'afterMigrate',
  'afterMigrateApplied',
  'afterVersioned',
  'afterMigrateError',
  'beforeUndo',
  'beforeEachUndo',
  'afterEachUndo',
  'afterEachUndoError',
  'afterUndo',
  'afterUndoError',
  'beforeClean',
  'afterClean',
  'afterCleanError',
  'beforeInfo',
  'afterInfo',
  'afterInfoError',
  'beforeValidate',
  'afterValidate',
  'afterValidateError',
  'beforeBaseline',
  'afterBaseline',
  'afterBaselineError',
  'beforeRepair',
  'afterRepair',
  'afterRepairError',
  'createSchema',
  'beforeConnect',
  'afterConnect',
] as const;

/** The Flyway callbacks `apply` runs. */
export const RUN_CALLBACKS = [
  'beforeMigrate',
  'beforeEachMigrate',
  'afterEachMigrate',
  'afterMigrate',
  'afterMigrateApplied',
] as const;
const FLYWAY_CALLBACK = new RegExp(`^(${FLYWAY_CALLBACKS.join('|')})(?:__(.+))?\\.sql$`);

/** `<version>_<name>.sql` (runbook, dbmate). */
export const MIGRATION_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)\.sql$/;
const FLYWAY_NAME = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/i;
const FLYWAY_REPEATABLE = /^R__(.+)\.sql$/i;
const GOLANG_NAME = /^(\d+)_(.+)\.(up|down)\.sql$/;
const FOLDER_NAME = /^(\d[\d-]*\d|\d)_(.+)$/;
const DBMATE_MARKER = /^--\s*migrate:(up|down)\b(.*)$/;

/** Hex sha256 of `text` after dropping a BOM and normalising CRLF (and lone CR) line ends to LF. */
export function checksum(text: string): string {
  return createHash('sha256').update(normaliseText(text)).digest('hex');
}

/** Replaces CRLF and lone CR with LF. */
export function normaliseLineEnds(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** Drops a leading UTF-8 byte order mark and normalises line ends to LF. */
export function normaliseText(text: string): string {
  return normaliseLineEnds(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/**
 * Flyway's checksum of a file: CRC32 over the UTF-8 bytes of every line without its line
 * break (BOM dropped from the first), as a signed 32-bit integer (Flyway
 * `ChecksumCalculator`). Placeholders are not replaced first.
 */
export function flywayChecksum(raw: string): number {
  const lines = normaliseText(raw).split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  let c = 0;
  for (const l of lines) c = crc32(Buffer.from(l, 'utf8'), c);
  return c | 0;
}

function versionParts(v: string): bigint[] {
  return v.split('.').map((p) => BigInt(p || '0'));
}

/**
 * Compares two versions: runs of digits separated by dots, compared part by part as numbers
 * (`'9' < '10'`, `'1.9' < '1.10'`, `'1' = '1.0'`).
 */
export function compareVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i] ?? 0n;
    const q = y[i] ?? 0n;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/** A canonical key for a version: `0001`, `1` and `1.0` are the same migration. */
export function versionKey(version: string): string {
  const parts = versionParts(version);
  while (parts.length > 1 && parts[parts.length - 1] === 0n) parts.pop();
  return parts.join('.');
}

/** Texts read by {@link detectFormat}, reused by the reader of the same {@link loadMigrations} call. */
let readCache: Map<string, string> | undefined;

function readText(path: string, input: string): string {
  const cached = readCache?.get(path);
  if (cached !== undefined) return cached;
  try {
    const text = readFileSync(path, 'utf8');
    readCache?.set(path, text);
    return text;
  } catch (e) {
    throw new ConfigError(
      `cannot read migration file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: path },
      input,
    );
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Lists the directory or throws a ConfigError naming it. */
function listDir(dir: string, input: string): string[] {
  try {
    if (!statSync(dir).isDirectory()) {
      throw new ConfigError(`'${dir}' is not a directory`, undefined, input);
    }
    return readdirSync(dir).sort();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`;
    throw new ConfigError(`migrations directory '${dir}' ${why}`, undefined, input);
  }
}

/**
 * Detects the format of the migrations in `dir` from file names (and, for `<version>_<name>.sql`
 * files, from dbmate's `-- migrate:up` marker).
 * @returns the format and why, or undefined when nothing in the directory is a migration
 * @throws ConfigError naming the directory when it holds files of two formats
 */
export function detectFormat(
  dir: string,
  input = 'dir',
): { format: MigrationFormat; reason: string } | undefined {
  const entries = listDir(dir, input);
  const seen = new Map<MigrationFormat, string>();
  const note = (f: MigrationFormat, why: string) => {
    if (!seen.has(f)) seen.set(f, why);
  };
  for (const e of entries) {
    const path = join(dir, e);
    if (isDir(path)) {
      if (FOLDER_NAME.test(e) && existsSync(join(path, 'migration.sql')))
        note('prisma', `${e}/migration.sql`);
      else if (FOLDER_NAME.test(e) && existsSync(join(path, 'up.sql')))
        note('diesel', `${e}/up.sql`);
      else {
        // Flyway scans its locations recursively (db/migration/v1/V1__x.sql).
        const nested = walk(path).find((f) => {
          const base = f.split('/').pop()!;
          return FLYWAY_NAME.test(base) || FLYWAY_REPEATABLE.test(base);
        });
        if (nested) note('flyway', join(e, nested));
      }
      continue;
    }
    if (!e.toLowerCase().endsWith('.sql')) continue;
    if (FLYWAY_NAME.test(e) || FLYWAY_REPEATABLE.test(e)) note('flyway', e);
    else if (FLYWAY_CALLBACK.test(e))
      continue; // a callback alone does not make a format
    else if (GOLANG_NAME.test(e)) {
      // Name an up file when there is one (down files sort first).
      if (seen.get('golang-migrate')?.endsWith('.down.sql')) seen.delete('golang-migrate');
      note('golang-migrate', e);
    } else if (MIGRATION_NAME.test(e)) {
      const text = readText(path, input);
      if (
        normaliseText(text)
          .split('\n')
          .some((l) => DBMATE_MARKER.test(l.trim()))
      )
        note('dbmate', `${e} (-- migrate:up)`);
      else note('runbook', e);
    }
  }
  // dbmate files without markers look like ours: one marked file makes the directory dbmate.
  if (seen.has('dbmate')) seen.delete('runbook');
  if (seen.size > 1) {
    const list = [...seen]
      .map(([f, why]) => `${f} (${why})`)
      .sort()
      .join(', ');
    throw new ConfigError(
      `migrations directory '${dir}' mixes migration formats: ${list}; keep one format per directory or set the format explicitly`,
      undefined,
      input,
    );
  }
  const [first] = [...seen];
  if (!first) return undefined;
  return { format: first[0], reason: `detected from ${first[1]}` };
}

/**
 * Reads, splits and checksums the migrations in `dir` in the given format (`auto`: detected,
 * see {@link detectFormat}), versioned ones sorted by version.
 *
 * @param dir - directory path (relative to the working directory or absolute)
 * @param input - the action input / CLI flag that named the directory, for errors
 * @throws ConfigError when the directory is missing, unreadable or holds no migration in any
 *   known format (naming the directory); when a file has a bad name for the format, two files
 *   share a version, a down part has no up part, or a dbmate file has no `-- migrate:up` — each
 *   naming the file
 */
export function loadMigrations(
  dir: string,
  format: FormatOption = 'auto',
  input = 'dir',
): MigrationSet {
  readCache = new Map();
  try {
    return load(dir, format, input);
  } finally {
    readCache = undefined;
  }
}

function load(dir: string, format: FormatOption, input: string): MigrationSet {
  let chosen: MigrationFormat;
  let reason: string;
  if (format === 'auto') {
    const d = detectFormat(dir, input);
    if (!d) {
      throw new ConfigError(
        `migrations directory '${dir}' holds no migration files in any known format (${FORMATS.join(', ')}): expected e.g. 20260101091000_add_users.sql, V1__add_users.sql, 000001_add_users.up.sql or 20260101091000_add_users/migration.sql`,
        undefined,
        input,
      );
    }
    chosen = d.format;
    reason = d.reason;
  } else {
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new ConfigError(
        `unknown migration format '${format}' (expected auto, ${FORMATS.join(', ')})`,
        undefined,
        'format',
      );
    }
    chosen = format;
    reason = 'set by the format input';
  }
  const set = READERS[chosen](dir, input);
  if (!set.files.length && !set.repeatables.length) {
    throw new ConfigError(
      `migrations directory '${dir}' holds no ${chosen} migration files`,
      undefined,
      input,
    );
  }
  const byVersion = new Map<string, string>();
  for (const f of set.files) {
    const key = versionKey(f.version);
    const other = byVersion.get(key);
    if (other) {
      throw new ConfigError(
        `duplicate migration version ${f.version}: '${other}' and '${f.filename}'`,
        { file: f.path },
        input,
      );
    }
    byVersion.set(key, f.filename);
  }
  set.files.sort((a, b) => compareVersions(a.version, b.version));
  set.repeatables.sort((a, b) => (a.filename < b.filename ? -1 : 1));
  return { format: chosen, detected: format === 'auto', reason, ...set };
}

/**
 * Lists, reads and checksums `<version>_<name>.sql` migrations (the `runbook` format).
 * @throws ConfigError as {@link loadMigrations}
 */
export function discoverMigrations(dir: string, input = 'dir'): MigrationFile[] {
  return loadMigrations(dir, 'runbook', input).files;
}

type Reader = (dir: string, input: string) => Omit<MigrationSet, 'format' | 'detected' | 'reason'>;

function fileOf(
  version: string,
  name: string,
  dir: string,
  filename: string,
  input: string,
): MigrationFile {
  const path = join(dir, filename);
  const raw = readText(path, input);
  const sql = normaliseText(raw);
  return { version, name, filename, path, sql, raw, checksum: checksum(sql) };
}

function badName(dir: string, filename: string, expected: string, input: string): never {
  throw new ConfigError(
    `bad migration file name '${filename}': expected ${expected}`,
    { file: join(dir, filename) },
    input,
  );
}

const readRunbook: Reader = (dir, input) => {
  const files: MigrationFile[] = [];
  for (const filename of listDir(dir, input)) {
    if (!filename.toLowerCase().endsWith('.sql') || isDir(join(dir, filename))) continue;
    const m = MIGRATION_NAME.exec(filename);
    if (!m) {
      badName(
        dir,
        filename,
        '<version>_<name>.sql, e.g. 20260101091000_add_billing_audit_log.sql (version: digits; name: letters, digits, _ or -)',
        input,
      );
    }
    files.push(fileOf(m[1], m[2], dir, filename, input));
  }
  return { files, repeatables: [] };
};

/** Files under `dir`, recursively, as paths relative to it (`/`-separated), sorted. */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(join(dir, prefix)).sort();
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e}` : e;
    if (isDir(join(dir, rel))) out.push(...walk(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** Flyway scans its locations recursively: files in subfolders count, by their own name. */
const readFlyway: Reader = (dir, input) => {
  const files: MigrationFile[] = [];
  const repeatables: MigrationFile[] = [];
  const undo = new Map<string, DownPart>();
  const callbacks: Record<string, MigrationFile[]> = {};
  listDir(dir, input);
  for (const filename of walk(dir)) {
    if (!filename.toLowerCase().endsWith('.sql')) continue;
    const base = filename.split('/').pop()!;
    const cb = FLYWAY_CALLBACK.exec(base);
    if (cb) {
      (callbacks[cb[1]] ??= []).push(fileOf('', cb[2] ?? cb[1], dir, filename, input));
      continue;
    }
    const r = FLYWAY_REPEATABLE.exec(base);
    if (r) {
      repeatables.push({ ...fileOf('', r[1], dir, filename, input), repeatable: true });
      continue;
    }
    const m = FLYWAY_NAME.exec(base);
    if (!m) {
      badName(
        dir,
        filename,
        'V<version>__<description>.sql, U<version>__<description>.sql, R__<description>.sql or a callback such as afterMigrate.sql (Flyway naming)',
        input,
      );
    }
    const version = m[2].replace(/_/g, '.');
    const f = fileOf(version, m[3], dir, filename, input);
    if (m[1].toUpperCase() === 'U') {
      undo.set(versionKey(version), { path: f.path, filename, sql: f.sql });
    } else files.push(f);
  }
  for (const [key, d] of undo) {
    const f = files.find((x) => versionKey(x.version) === key);
    if (!f) {
      throw new ConfigError(
        `undo migration ${d.filename} has no versioned migration V${key}__*.sql`,
        { file: d.path },
        input,
      );
    }
    f.down = d;
  }
  return { files, repeatables, callbacks };
};

const readGolang: Reader = (dir, input) => {
  const ups = new Map<string, MigrationFile>();
  const downs = new Map<string, DownPart>();
  for (const filename of listDir(dir, input)) {
    if (!filename.toLowerCase().endsWith('.sql') || isDir(join(dir, filename))) continue;
    const m = GOLANG_NAME.exec(filename);
    if (!m) {
      badName(
        dir,
        filename,
        '<version>_<title>.up.sql or <version>_<title>.down.sql (golang-migrate naming)',
        input,
      );
    }
    const key = versionKey(m[1]);
    const f = fileOf(m[1], m[2], dir, filename, input);
    const map = m[3] === 'up' ? ups : downs;
    if (map.has(key)) {
      const other = m[3] === 'up' ? ups.get(key)!.filename : downs.get(key)!.filename;
      throw new ConfigError(
        `duplicate migration version ${m[1]}: '${other}' and '${filename}'`,
        { file: f.path },
        input,
      );
    }
    if (m[3] === 'up') ups.set(key, f);
    else downs.set(key, { path: f.path, filename, sql: f.sql });
  }
  for (const [key, d] of downs) {
    const f = ups.get(key);
    if (!f) {
      throw new ConfigError(
        `down migration ${d.filename} has no up migration`,
        { file: d.path },
        input,
      );
    }
    f.down = d;
  }
  return { files: [...ups.values()], repeatables: [] };
};

/**
 * Splits a dbmate file into its up and down sections. Each section keeps the file's line
 * numbers (other lines blanked). Options after the marker: `transaction:false`.
 */
export function splitDbmate(
  text: string,
  path: string,
): { up: string; upOnly: string; down?: string; upNoTx: boolean; downNoTx: boolean } {
  const lines = text.split('\n');
  const up: string[] = [];
  const down: string[] = [];
  const upOnly: string[] = [];
  let section: 'none' | 'up' | 'down' = 'none';
  let upNoTx = false;
  let downNoTx = false;
  let sawUp = false;
  let sawDown = false;
  for (const line of lines) {
    const m = DBMATE_MARKER.exec(line.trim());
    if (m) {
      const noTx = /\btransaction:\s*false\b/.test(m[2]);
      section = m[1] as 'up' | 'down';
      if (section === 'up') {
        if (sawUp) throw new ConfigError(`second -- migrate:up marker`, { file: path });
        sawUp = true;
        upNoTx = noTx;
      } else {
        if (sawDown) throw new ConfigError(`second -- migrate:down marker`, { file: path });
        sawDown = true;
        downNoTx = noTx;
      }
      up.push('');
      down.push('');
      continue;
    }
    up.push(section === 'up' ? line : '');
    down.push(section === 'down' ? line : '');
    if (section === 'up') upOnly.push(line);
    if (section === 'none' && line.trim() !== '' && !line.trim().startsWith('--')) {
      throw new ConfigError(
        `SQL before the '-- migrate:up' marker: dbmate runs only the sections after '-- migrate:up' and '-- migrate:down'`,
        { file: path, line: up.length },
      );
    }
  }
  if (!sawUp) {
    throw new ConfigError(`dbmate migration without a '-- migrate:up' marker`, { file: path });
  }
  return {
    up: up.join('\n'),
    upOnly: upOnly.join('\n'),
    down: sawDown ? down.join('\n') : undefined,
    upNoTx,
    downNoTx,
  };
}

const readDbmate: Reader = (dir, input) => {
  const files: MigrationFile[] = [];
  for (const filename of listDir(dir, input)) {
    if (!filename.toLowerCase().endsWith('.sql') || isDir(join(dir, filename))) continue;
    const m = MIGRATION_NAME.exec(filename);
    if (!m) badName(dir, filename, '<version>_<name>.sql (dbmate naming)', input);
    const f = fileOf(m[1], m[2], dir, filename, input);
    const s = splitDbmate(f.sql, f.path);
    files.push({
      ...f,
      sql: s.up,
      checksum: checksum(s.upOnly),
      noTransaction: s.upNoTx || undefined,
      down:
        s.down === undefined
          ? undefined
          : { path: f.path, filename, sql: s.down, noTransaction: s.downNoTx || undefined },
    });
  }
  return { files, repeatables: [] };
};

function folders(
  dir: string,
  input: string,
  upName: string,
): { version: string; name: string; folder: string }[] {
  const out: { version: string; name: string; folder: string }[] = [];
  for (const e of listDir(dir, input)) {
    if (!isDir(join(dir, e))) {
      if (e.toLowerCase().endsWith('.sql')) {
        badName(dir, e, `a folder <version>_<name>/ holding ${upName}`, input);
      }
      continue;
    }
    const m = FOLDER_NAME.exec(e);
    if (!m || !existsSync(join(dir, e, upName))) {
      throw new ConfigError(
        `migration folder '${e}' is not <version>_<name>/ with a ${upName}`,
        { file: join(dir, e) },
        input,
      );
    }
    out.push({ version: m[1].replace(/-/g, ''), name: m[2], folder: e });
  }
  return out;
}

const readPrisma: Reader = (dir, input) => ({
  files: folders(dir, input, 'migration.sql').map((f) => ({
    ...fileOf(f.version, f.name, dir, join(f.folder, 'migration.sql'), input),
  })),
  repeatables: [],
});

const readDiesel: Reader = (dir, input) => ({
  files: folders(dir, input, 'up.sql').map((f) => {
    const up = fileOf(f.version, f.name, dir, join(f.folder, 'up.sql'), input);
    const downName = join(f.folder, 'down.sql');
    const meta = join(dir, f.folder, 'metadata.toml');
    const noTx =
      existsSync(meta) && /^\s*run_in_transaction\s*=\s*false\b/m.test(readText(meta, input));
    const down = existsSync(join(dir, downName))
      ? fileOf(f.version, f.name, dir, downName, input)
      : undefined;
    return {
      ...up,
      noTransaction: noTx || undefined,
      down: down && { path: down.path, filename: downName, sql: down.sql, noTransaction: noTx },
    };
  }),
  repeatables: [],
});

const READERS: Record<MigrationFormat, Reader> = {
  runbook: readRunbook,
  flyway: readFlyway,
  'golang-migrate': readGolang,
  dbmate: readDbmate,
  prisma: readPrisma,
  diesel: readDiesel,
};

/**
 * Migration files on disk: discovery, naming rule, checksums.
 *
 * Files are named `<version>_<name>.sql` (the Supabase CLI / Flyway convention, e.g.
 * `20260101091000_billing_audit_log.sql`): `version` is a run of digits compared as a number,
 * `name` is letters, digits, `_` and `-`. Other `.sql` files are an error; files with other
 * extensions (README.md, .gitkeep) are ignored.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/** One migration file found on disk. */
export interface MigrationFile {
  /** The digits before the first `_`, as written (e.g. `20260101091000`). */
  version: string;
  /** The part after `<version>_`, without `.sql`. */
  name: string;
  /** File name, e.g. `20260101091000_billing_audit_log.sql`. */
  filename: string;
  /** Path as given by the caller's `dir` joined with the file name (used in annotations). */
  path: string;
  /** File text with CRLF normalised to LF. */
  sql: string;
  /** Hex sha256 of {@link sql} (the file with CRLF normalised to LF). */
  checksum: string;
}

/** `<version>_<name>.sql`. */
export const MIGRATION_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

/** Hex sha256 of `text` after normalising CRLF (and lone CR) line ends to LF. */
export function checksum(text: string): string {
  return createHash('sha256').update(normaliseLineEnds(text)).digest('hex');
}

/** Replaces CRLF and lone CR with LF. */
export function normaliseLineEnds(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** Compares two numeric version strings as numbers (`'9' < '10'`). */
export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Lists, reads and checksums the migrations in `dir`, sorted by numeric version.
 *
 * @param dir - directory path (relative to the working directory or absolute)
 * @param input - the action input / CLI flag that named the directory, for errors
 * @throws ConfigError when the directory is missing or unreadable, a `.sql` file has a bad name,
 *   two files share a version, or a file cannot be read — each naming the file
 */
export function discoverMigrations(dir: string, input = 'dir'): MigrationFile[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) {
      throw new ConfigError(`'${dir}' is not a directory`, undefined, input);
    }
    entries = readdirSync(dir);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`;
    throw new ConfigError(`migrations directory '${dir}' ${why}`, undefined, input);
  }
  const files: MigrationFile[] = [];
  const byVersion = new Map<string, string>();
  for (const filename of entries.sort()) {
    if (!filename.toLowerCase().endsWith('.sql')) continue;
    const path = join(dir, filename);
    const m = MIGRATION_NAME.exec(filename);
    if (!m) {
      throw new ConfigError(
        `bad migration file name '${filename}': expected <version>_<name>.sql, e.g. 20260101091000_add_billing_audit_log.sql (version: digits; name: letters, digits, _ or -)`,
        { file: path },
        input,
      );
    }
    const [, version, name] = m;
    const key = BigInt(version).toString();
    const other = byVersion.get(key);
    if (other) {
      throw new ConfigError(
        `duplicate migration version ${version}: '${other}' and '${filename}'`,
        { file: path },
        input,
      );
    }
    byVersion.set(key, filename);
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `cannot read migration file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { file: path },
        input,
      );
    }
    const sql = normaliseLineEnds(raw);
    files.push({ version, name, filename, path, sql, checksum: checksum(sql) });
  }
  return files.sort((a, b) => compareVersions(a.version, b.version));
}

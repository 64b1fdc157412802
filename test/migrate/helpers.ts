/** Helpers for the migrate tests: temporary migration directories. */
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Writes `files` (name → SQL; a name may hold folders, `2024_x/migration.sql`) into a new
 * temporary directory and returns its path.
 */
export function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), sql);
  }
  return dir;
}

/** Removes a directory made by {@link migrationsDir}. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

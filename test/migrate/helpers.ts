/** Helpers for the migrate tests: temporary migration directories. */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes `files` (name → SQL) into a new temporary directory and returns its path. */
export function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

/** Removes a directory made by {@link migrationsDir}. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Helpers for the migrate tests: temporary migration directories. */
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { MigrateOptions } from '../../src/migrate/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';

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

/**
 * Per-test fixtures of the migrate engine tests: a fresh database before each test, temporary
 * migration directories removed after it, engine options pointing at both, and a query helper.
 * Call at the top level of a test file; `db` is the current test's database.
 */
export function migrateTestKit(name: string) {
  const dirs: string[] = [];
  const kit = {
    db: undefined as unknown as TestDatabase,
    /** A migrations directory holding `files`, removed after the test. */
    dirOf(files: Record<string, string>): string {
      const d = migrationsDir(files);
      dirs.push(d);
      return d;
    },
    /** Engine options for `dir` on the test's database. */
    opts(dir: string, extra: Partial<MigrateOptions> = {}): MigrateOptions {
      return { databaseUrl: kit.db.url, dir, runInfo: info, retryBackoffMs: 10, ...extra };
    },
    /** The rows of `sql` on the test's database. */
    async q<T = Record<string, unknown>>(sql: string): Promise<T[]> {
      return withClient(kit.db.url, async (c) => (await c.query(sql)).rows as T[]);
    },
  };
  beforeEach(async () => {
    kit.db = await freshDatabase(name);
  });
  afterEach(async () => {
    await kit.db.dispose();
    for (const d of dirs.splice(0)) removeDir(d);
  });
  return kit;
}

/** Who a test run is recorded as. */
export const info = { actor: 'jest', via: 'cli' as const };

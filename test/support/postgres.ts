/**
 * Per-test-file databases on the run's real PostgreSQL (see global-setup.ts).
 *
 * `freshDatabase()` creates an empty database with a unique name and returns its URL; `dispose()`
 * drops it. Tests that need a client use `withClient`.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';

/** The superuser URL of the run's server. */
export function adminUrl(): string {
  const url = process.env.RUNBOOK_TEST_ADMIN_URL;
  if (!url)
    throw new Error('RUNBOOK_TEST_ADMIN_URL is not set: run tests through jest (global-setup)');
  return url;
}

/** A fresh empty database: `url` to connect, `dispose` to drop it. */
export interface TestDatabase {
  url: string;
  name: string;
  dispose(): Promise<void>;
}

/** Creates an empty database named `t_<prefix>_<random>`. */
export async function freshDatabase(prefix = 'db'): Promise<TestDatabase> {
  const name = `t_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(adminUrl());
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    dispose: async () => {
      const c = new pg.Client(adminUrl());
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs `fn` with a connected client and closes it afterwards. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Session-level advisory locks (PostgreSQL docs, "Advisory Locks", `pg_try_advisory_lock`).
 * Used so that one migration run, or one run of a given backfill, holds a database at a time.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { sleep } from '../errors.js';

/** Maps a name to a stable signed 64-bit lock key (first 8 bytes of sha256), as a string. */
export function lockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** Who holds an advisory lock, read from pg_locks and pg_stat_activity. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  since?: Date;
}

/** Thrown when the lock is still held by another session after the wait. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly lockName: string,
    readonly holder: LockHolder | undefined,
    waitedMs: number,
  ) {
    super(
      `${lockName} is locked by another session${
        holder ? ` (pid ${holder.pid}, application_name '${holder.applicationName}')` : ''
      }; waited ${Math.round(waitedMs / 1000)} s`,
    );
  }
}

/** Reads the session that holds the advisory lock `key`, if any. */
export async function lockHolder(client: pg.Client, key: string): Promise<LockHolder | undefined> {
  const r = await client.query(
    `SELECT a.pid, coalesce(a.application_name, '') AS app, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
    [key],
  );
  const row = r.rows[0];
  return row ? { pid: row.pid, applicationName: row.app, since: row.backend_start } : undefined;
}

/**
 * Takes a session advisory lock, polling every `pollMs` until `waitMs` milliseconds have passed.
 * @returns a function that releases the lock
 * @throws LockTimeoutError naming the holder's pid and application_name
 */
export async function acquireAdvisoryLock(
  client: pg.Client,
  name: string,
  waitMs: number,
  pollMs = 200,
): Promise<() => Promise<void>> {
  const key = lockKey(name);
  const start = Date.now();
  for (;;) {
    const r = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
    if (r.rows[0].ok) {
      return async () => {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => {});
      };
    }
    const waited = Date.now() - start;
    if (waited >= waitMs) throw new LockTimeoutError(name, await lockHolder(client, key), waited);
    await sleep(Math.min(pollMs, Math.max(1, waitMs - waited)));
  }
}

/**
 * Database sessions of a backfill, with the timeouts that keep a hung or killed runner from
 * holding locks: `idle_in_transaction_session_timeout` (a stopped process's open batch is
 * rolled back by the server), `client_connection_check_interval` (PostgreSQL 14+: a statement
 * whose client is gone is cancelled within a second instead of running to the end), TCP
 * keepalives on both ends (a vanished runner host is noticed), and `statement_timeout` set per
 * batch by the executor. Run locks whose holder has a stale heartbeat are taken over.
 *
 * Sources: PostgreSQL "Client Connection Defaults" and "Connections and Authentication" (the
 * settings), node-postgres `Client` options (`keepAlive`, `keepAliveInitialDelayMillis`).
 */
import pg from 'pg';
import { connect } from '../db/connect.js';
import { acquireAdvisoryLock, LockTimeoutError, type LockHolder } from '../db/lock.js';
import { sleep, type Logger } from '../errors.js';
import { checkpointExists } from './checkpoint.js';

/** Options of {@link openSession}. */
export interface SessionOptions {
  caCert?: string;
  /** `application_name` (63 bytes at most; longer names are cut). */
  applicationName: string;
  /** `idle_in_transaction_session_timeout`, milliseconds. */
  idleInTransactionMs: number;
}

/**
 * Opens one connected client with keepalives and session timeouts set.
 * @throws ConfigError for a bad URL or a connection failure (the password never appears)
 */
export async function openSession(url: string, options: SessionOptions): Promise<pg.Client> {
  // connect() makes libpq's second attempt of sslmode=prefer (plain after a refused TLS).
  const client = await connect(url, {
    caCert: options.caCert,
    applicationName: options.applicationName.slice(0, 63),
    client: { keepAlive: true, keepAliveInitialDelayMillis: 10_000 },
  });
  client.on('error', () => {});
  await client.query(
    `SELECT set_config('idle_in_transaction_session_timeout', $1, false),
            set_config('tcp_keepalives_idle', '30', false),
            set_config('tcp_keepalives_interval', '10', false),
            set_config('tcp_keepalives_count', '3', false)`,
    [String(Math.max(1, Math.round(options.idleInTransactionMs)))],
  );
  // PostgreSQL 14+ on platforms with POLLRDHUP; older servers simply do not know the setting.
  await client
    .query(`SELECT set_config('client_connection_check_interval', '1000', false)`)
    .catch(() => {});
  return client;
}

/** Thrown when another live session is already running this backfill (or partition). */
export class BackfillBusyError extends Error {
  override readonly name = 'BackfillBusyError';
}

/**
 * Takes the session advisory lock `lockName`, waiting up to `waitMs` milliseconds. When the
 * holder is a backfill session whose checkpoint heartbeat is older than `staleAfterMs` (a
 * stopped or hung process; a killed one whose server-side statement still runs), its backend
 * is terminated with `pg_terminate_backend` (its open batch rolls back, its locks go) and the
 * lock is retried.
 * @returns the function that releases the lock
 * @throws BackfillBusyError naming the holder when a live session holds it after the wait
 */
export async function lockOrTakeOver(
  client: pg.Client,
  lockName: string,
  what: string,
  waitMs: number,
  staleAfterMs: number,
  logger: Logger,
): Promise<() => Promise<void>> {
  const started = Date.now();
  for (;;) {
    const left = Math.max(0, waitMs - (Date.now() - started));
    try {
      return await acquireAdvisoryLock(client, lockName, Math.min(left, 1000));
    } catch (e) {
      if (!(e instanceof LockTimeoutError)) throw e;
      const h = e.holder;
      const stale = h ? await staleHolder(client, h, staleAfterMs) : undefined;
      if (h && stale !== undefined) {
        logger.warning(
          `${what} is held by pid ${h.pid} ('${h.applicationName}') whose heartbeat is ${Math.round(stale)} s old (stale after ${Math.round(staleAfterMs / 1000)} s): the process is dead or hung; terminating its session (its open batch rolls back) and taking over`,
        );
        await client.query('SELECT pg_terminate_backend($1)', [h.pid]);
        // The terminated backend releases its locks as it exits.
        await sleep(100);
        continue;
      }
      if (Date.now() - started >= waitMs) {
        throw new BackfillBusyError(
          `${what} is already running in another session${h ? ` (pid ${h.pid}, application_name '${h.applicationName}')` : ''}; refusing to run it twice at once`,
        );
      }
    }
  }
}

/**
 * The heartbeat age in seconds of the backfill session `h`, when it is older than
 * `staleAfterMs`; undefined when the holder is alive or not a backfill session.
 */
async function staleHolder(
  client: pg.Client,
  h: LockHolder,
  staleAfterMs: number,
): Promise<number | undefined> {
  if (!h.applicationName.startsWith('runbook-backfill')) return undefined;
  if (!(await checkpointExists(client))) return undefined;
  const r = await client.query(
    `SELECT max(age) AS age FROM (
       SELECT extract(epoch FROM now() - heartbeat_at) AS age FROM runbook.backfill_runs
        WHERE pid = $1 AND status = 'running'
       UNION ALL
       SELECT extract(epoch FROM now() - heartbeat_at) FROM runbook.backfill_partitions
        WHERE pid = $1 AND status = 'running') x`,
    [h.pid],
  );
  const age = r.rows[0].age === null ? null : Number(r.rows[0].age);
  return age !== null && age * 1000 > staleAfterMs ? age : undefined;
}

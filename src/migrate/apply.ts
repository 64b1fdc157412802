/**
 * Running one parsed migration (its up or its down part) on a locked connection: one
 * transaction per file, or statement by statement for files that hold a statement PostgreSQL
 * cannot run in a transaction; `lock_timeout` / `statement_timeout`, retry with backoff on
 * SQLSTATE 55P03, session state reset after each file, the history row written in the same
 * transaction as the file's changes.
 *
 * PostgreSQL semantics follow the PostgreSQL 18 documentation (`SET`, "Appendix A. Error
 * Codes", "CREATE INDEX" → "Building Indexes Concurrently").
 */
import pg from 'pg';
import { ConfigError, sleep, type Logger } from '../errors.js';
import type { RunInfo } from '../runinfo.js';
import { dropInvalidIndexFor } from './concurrently.js';
import type { HistoryStore } from './history.js';
import type { ParsedMigration, Statement } from './parser.js';

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
  rows: import('./engine.js').MigrationRow[] = [];
  /** True when the connection to the server was lost (the rest of the run did not happen). */
  connectionLost = false;
  /** The run's format, why, and history table (filled in by the engine, for the summary). */
  context: { format?: string; formatReason?: string; historyTable?: string } = {};
}

/** A PostgreSQL error as thrown by `pg`. */
export interface PgError extends Error {
  code?: string;
  position?: string;
}

export const LOCK_NOT_AVAILABLE = '55P03';
/** statement_timeout, or a cancel request. */
const QUERY_CANCELED = '57014';

/**
 * Whether `e` means the connection is gone: a socket error or closed connection (no SQLSTATE),
 * SQLSTATE class 08 (connection exception), or 57P01-57P03 (the backend was terminated, the
 * server shut down or is restarting).
 */
export function isConnectionLost(e: unknown): boolean {
  const err = e as PgError & { errno?: number };
  if (err?.code && /^(08|57P0[123])/.test(err.code)) return true;
  if (err?.code && /^E[A-Z]+$/.test(err.code)) return true; // ECONNRESET, EPIPE ...
  return (
    !err?.code &&
    /Connection terminated|connection (is )?closed|not queryable|ECONNRESET|EPIPE|socket/i.test(
      String(err?.message),
    )
  );
}

/** What a run needs to apply files on its locked connection. */
export interface RunContext {
  client: pg.Client;
  store: HistoryStore;
  info: RunInfo;
  /** `lock_timeout`, milliseconds (0 = none). */
  lockTimeoutMs: number;
  /** `statement_timeout`, milliseconds (0 = none). */
  statementTimeoutMs: number;
  retries: number;
  /** First retry delay, milliseconds. */
  retryBackoffMs: number;
  logger: Logger;
  /** Whether the server has `client_connection_check_interval` and it was set. */
  connectionChecked: boolean;
  /** The command that resumes this run (for the lost-connection message). */
  resumeCommand: string;
  /** Versions already applied by this run (for the lost-connection message). */
  done: string[];
}

function pgInterval(ms: number): string {
  return `'${Math.max(0, Math.round(ms))}ms'`;
}

/**
 * Statements that end a file's session state (`SET ROLE`, `SET SESSION AUTHORIZATION`,
 * `SET search_path`, any other `SET`), so the history row is written, and the next file runs,
 * as the runner with the connection's own settings (Flyway restores the connection state after
 * each migration the same way). `RESET ALL` skips the role and session authorization, hence
 * the two explicit resets; the advisory lock is untouched. The connection check interval is
 * restored where the server has it (a plain `SET`: reading `pg_settings` for every file cost
 * more than the file itself in the 300-file benchmark).
 */
function restoreSession(ctx: RunContext): string[] {
  return [
    'RESET SESSION AUTHORIZATION',
    'RESET ROLE',
    'RESET ALL',
    ...(ctx.connectionChecked ? ['SET client_connection_check_interval = 1000'] : []),
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

/** Why a file runs outside a transaction (its first such statement), if it does. */
export function nonTransactionalReason(p: ParsedMigration): string | undefined {
  return (
    p.statements.find((s) => s.nonTransactional)?.nonTransactional ??
    (p.file.noTransaction ? 'marked to run without a transaction' : undefined)
  );
}

/** How a parsed file runs, in words (for `plan`). */
export function howItRuns(p: ParsedMigration): string {
  const reason = nonTransactionalReason(p);
  if (!reason) {
    return p.blocks.length
      ? `one transaction (its ${p.blocks.length} BEGIN ... COMMIT block(s) merge into it)`
      : 'one transaction';
  }
  return `statements alone, outside a transaction (${reason})${p.blocks.length ? `; each BEGIN ... COMMIT block as its own transaction` : ''}`;
}

/**
 * Runs a parsed file and writes `record` (SQL from the history store) after it, in the same
 * transaction when the file runs in one.
 * @returns execution time in milliseconds
 * @throws MigrationFailedError at the failing statement (with `connectionLost` when the
 *   connection dropped)
 */
export async function runMigration(
  ctx: RunContext,
  p: ParsedMigration,
  record: (executionMs?: number) => string,
): Promise<number> {
  try {
    return nonTransactionalReason(p)
      ? await runNonTransactional(ctx, p, record)
      : await runTransactional(ctx, p, record);
  } catch (e) {
    if (e instanceof MigrationFailedError) throw e;
    if (isConnectionLost(e)) throw lost(ctx, p, undefined, e);
    throw e;
  }
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

/** The lost-connection failure: which file, what is committed, the command that resumes. */
function lost(
  ctx: RunContext,
  p: ParsedMigration,
  s: Statement | undefined,
  e: unknown,
  committedBefore?: number,
): MigrationFailedError {
  const err = e as PgError;
  const done = ctx.done.length
    ? `committed by this run before it: ${ctx.done.join(', ')}`
    : 'no earlier file of this run was committed';
  const state = nonTransactionalReason(p)
    ? committedBefore
      ? `${p.file.filename} runs outside a transaction: its statements before line ${s?.line} were committed, the rest did not run`
      : `${p.file.filename} runs outside a transaction: none of its statements was committed`
    : `${p.file.filename} was not committed (the server rolls back its open transaction), unless the connection dropped after its COMMIT: \`runbook migrate status\` shows which`;
  const e2 = new MigrationFailedError(
    `lost the connection to the database while applying ${p.file.filename}${s ? ` at line ${s.line}` : ''} (${err.message}${err.code ? ` [SQLSTATE ${err.code}]` : ''}). ${state}; ${done}. Resume with: ${ctx.resumeCommand} (or re-run this step): applied files are recorded and skipped`,
    { file: p.file.path, line: s?.line },
    err.code,
  );
  e2.connectionLost = true;
  return e2;
}

function failure(
  ctx: RunContext,
  p: ParsedMigration,
  s: Statement | undefined,
  e: unknown,
  nonTransactional = false,
  committedBefore = 0,
): MigrationFailedError {
  if (isConnectionLost(e)) return lost(ctx, p, s, e, committedBefore);
  const err = e as PgError;
  const retries = ctx.retries;
  const hint =
    err.code === LOCK_NOT_AVAILABLE
      ? ` (lock_timeout; gave up after ${retries} retr${retries === 1 ? 'y' : 'ies'})`
      : err.code === QUERY_CANCELED
        ? ` (statement_timeout or cancelled${s || nonTransactional ? '' : '; the file was not run again to find the line, so its locks are not taken twice'})`
        : '';
  return new MigrationFailedError(
    `${p.file.filename} failed${s ? ` at line ${s.line}` : ''}: ${err.message}${err.code ? ` [SQLSTATE ${err.code}]` : ''}${hint}; ${
      nonTransactional
        ? committedBefore
          ? 'this file runs outside a transaction, so statements before this line were committed: make them idempotent (IF NOT EXISTS) and re-run'
          : 'this file runs outside a transaction; nothing of it was committed'
        : 'nothing of this file was committed'
    }`,
    { file: p.file.path, line: s?.line },
    err.code,
  );
}

/**
 * One transaction for the whole file, sent as a single multi-statement query (one round trip):
 * `BEGIN; SET LOCAL ...; <statements>; RESET ...; <history>; COMMIT`. On failure the
 * transaction is rolled back; the failing line comes from the error's position when the server
 * reports one, else from replaying the statements one by one in a rolled-back transaction
 * (never after a statement_timeout / cancel, SQLSTATE 57014: the replay would hold the same
 * locks that long again).
 */
async function runTransactional(
  ctx: RunContext,
  p: ParsedMigration,
  record: (executionMs?: number) => string,
): Promise<number> {
  const SEP = '\n;\n'; // the newline ends a trailing `-- comment` before the `;`
  const head = ['BEGIN', ...setTimeouts(ctx, 'LOCAL')];
  const text = [
    ...head,
    ...p.statements.map((s) => s.sql),
    ...restoreSession(ctx),
    record(),
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
          if (!isConnectionLost(e)) await ctx.client.query('ROLLBACK').catch(() => {});
          throw e;
        }
      },
    );
  } catch (e) {
    const err = e as PgError;
    if (isConnectionLost(e)) throw lost(ctx, p, undefined, e);
    if (!err.code) throw e;
    const pos = Number(err.position) - 1;
    // (Positions count characters; with surrogate pairs in the text, replay instead.)
    if (err.position && pos >= starts[0] && !/[\uD800-\uDFFF]/.test(text)) {
      const i = starts.findLastIndex((x) => x <= pos);
      if (i >= 0 && pos < starts[i] + p.statements[i].sql.length) {
        throw failure(ctx, p, p.statements[i], e);
      }
    }
    if (err.code === QUERY_CANCELED) throw failure(ctx, p, undefined, e);
    throw failure(ctx, p, await locateFailure(ctx, p), e);
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

/** Consecutive statements that run together: one alone, or one explicit BEGIN ... COMMIT block. */
function units(p: ParsedMigration): Statement[][] {
  const out: Statement[][] = [];
  for (const s of p.statements) {
    const last = out[out.length - 1];
    if (s.block !== undefined && last && last[0].block === s.block) last.push(s);
    else out.push([s]);
  }
  return out;
}

/**
 * A file that cannot run in one transaction: each statement runs alone, each explicit
 * `BEGIN ... COMMIT` block as one transaction, the history row is written after the last one.
 * Before and after each `CREATE INDEX CONCURRENTLY`, the invalid index an interrupted build of
 * it left is dropped (see concurrently.ts), so a re-run builds it again.
 */
async function runNonTransactional(
  ctx: RunContext,
  p: ParsedMigration,
  record: (executionMs?: number) => string,
): Promise<number> {
  const start = performance.now();
  await ctx.client.query(setTimeouts(ctx, 'SESSION').join('; '));
  let committed = 0;
  for (const unit of units(p)) {
    const s = unit[0];
    const block = s.block !== undefined;
    try {
      if (!block) await dropInvalidIndexFor(ctx.client, s, ctx.logger);
      await withLockRetry(
        ctx,
        () => `${p.file.path}:${s.line}`,
        async () => {
          try {
            if (block) {
              await ctx.client.query(['BEGIN', ...unit.map((x) => x.sql), 'COMMIT'].join('\n;\n'));
            } else await ctx.client.query(s.sql);
          } catch (e) {
            if (isConnectionLost(e)) throw e;
            if (block) await ctx.client.query('ROLLBACK').catch(() => {});
            else await dropInvalidIndexFor(ctx.client, s, ctx.logger).catch(() => []);
            throw e;
          }
        },
      );
      committed++;
    } catch (e) {
      if (!(e as PgError).code && !isConnectionLost(e)) throw e;
      let at = s;
      if (block && !isConnectionLost(e)) {
        const pos = Number((e as PgError).position);
        if (pos) {
          let offset = 'BEGIN\n;\n'.length;
          for (const x of unit) {
            if (pos - 1 < offset + x.sql.length) {
              at = x;
              break;
            }
            offset += x.sql.length + 3;
          }
        }
      }
      throw failure(ctx, p, at, e, true, committed);
    }
  }
  const ms = Math.round(performance.now() - start);
  // The file's own SETs (and the run's timeouts) were session-wide: end them before the
  // history row is written and the next file runs.
  await ctx.client.query(restoreSession(ctx).join('; '));
  await ctx.client.query(record(ms));
  return ms;
}

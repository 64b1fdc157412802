/**
 * Splitting migration files into statements with the real PostgreSQL parser (`libpg-query`,
 * libpg_query compiled to WebAssembly; PostgreSQL 18 grammar), and classifying each statement:
 * can it run inside a transaction block?
 *
 * libpg_query reports `stmt_location` / `stmt_len` as byte offsets into the UTF-8 text (both
 * omitted when 0), and a parse error's cursor position as a 0-based byte offset.
 */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import type { Node, ParseResult } from 'libpg-query';
import { ConfigError } from '../errors.js';
import type { MigrationFile } from './files.js';
import { wasmPath } from './wasm.js';

type LibPgQuery = typeof import('libpg-query');
let loading: Promise<LibPgQuery> | undefined;

/**
 * Loads the parser's WebAssembly module once per process. Inside an ncc bundle the emscripten
 * loader finds the wasm file through a global `__dirname` (see wasm.ts); outside a bundle Node
 * loads the package's CommonJS build, which has its own `__dirname`.
 */
export function loadParser(): Promise<LibPgQuery> {
  if (!loading) loading = loadLibrary();
  return loading;
}

async function loadLibrary(): Promise<LibPgQuery> {
  const g = globalThis as { __dirname?: string };
  const shim = g.__dirname === undefined;
  if (shim) {
    const wasm = wasmPath();
    let dir = dirname(wasm);
    // The bundler may emit the asset under another name; the loader wants its own name.
    if (basename(wasm) !== 'libpg-query.wasm') {
      dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'libpg-query-'));
      symlinkSync(wasm, join(dir, 'libpg-query.wasm'));
    }
    g.__dirname = dir;
  }
  try {
    // Evaluating the module starts the loader, which reads `__dirname` synchronously.
    const lib = await import('libpg-query');
    if (shim) delete g.__dirname;
    await lib.loadModule();
    return lib;
  } finally {
    if (shim) delete g.__dirname;
  }
}

/** One statement of a migration file. */
export interface Statement {
  /** The statement text, without the terminating `;`. */
  sql: string;
  /** 1-based line of the statement's first token in the file. */
  line: number;
  /** The parse node's type, e.g. `CreateStmt`, `IndexStmt`, `AlterTableStmt`. */
  kind: string;
  /** The parse node body (libpg_query JSON). */
  node: Record<string, unknown>;
  /**
   * When set, the statement cannot run inside a transaction block; the text names why
   * (e.g. `CREATE INDEX CONCURRENTLY`).
   */
  nonTransactional?: string;
}

/** A parsed migration file. */
export interface ParsedMigration {
  file: MigrationFile;
  statements: Statement[];
  /** True when the file holds a statement that cannot run in a transaction. */
  nonTransactional: boolean;
  /** Line of a leading `BEGIN` that wrapped the file (dropped by the parser), if any. */
  wrappedAt?: number;
  /** 1-based line of a parse-tree `location` (a byte offset into the file). */
  lineOf(byteOffset: number): number;
}

/** Why `stmt` cannot run in a transaction block, or undefined when it can (PostgreSQL docs of each command). */
export function nonTransactionalReason(
  kind: string,
  node: Record<string, unknown>,
): string | undefined {
  const defnames = (list: unknown): string[] =>
    Array.isArray(list)
      ? list.map((d) => String((d as { DefElem?: { defname?: string } }).DefElem?.defname ?? ''))
      : [];
  switch (kind) {
    case 'IndexStmt':
      return node.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined;
    case 'DropStmt':
      return node.concurrent ? 'DROP INDEX CONCURRENTLY' : undefined;
    case 'ReindexStmt':
      if (defnames(node.params).includes('concurrently')) return 'REINDEX CONCURRENTLY';
      return node.kind === 'REINDEX_OBJECT_SYSTEM' || node.kind === 'REINDEX_OBJECT_DATABASE'
        ? 'REINDEX SYSTEM/DATABASE'
        : undefined;
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'VACUUM' : undefined;
    case 'CreatedbStmt':
      return 'CREATE DATABASE';
    case 'DropdbStmt':
      return 'DROP DATABASE';
    case 'CreateTableSpaceStmt':
      return 'CREATE TABLESPACE';
    case 'DropTableSpaceStmt':
      return 'DROP TABLESPACE';
    case 'AlterSystemStmt':
      return 'ALTER SYSTEM';
    case 'CreateSubscriptionStmt':
      return 'CREATE SUBSCRIPTION';
    case 'DropSubscriptionStmt':
      return 'DROP SUBSCRIPTION';
    case 'ClusterStmt':
      return node.relation ? undefined : 'CLUSTER (all tables)';
    case 'AlterTableStmt': {
      const cmds = (node.cmds as { AlterTableCmd?: Record<string, unknown> }[] | undefined) ?? [];
      const detach = cmds.some((c) => {
        const cmd = c.AlterTableCmd;
        const def = cmd?.def as { PartitionCmd?: { concurrent?: boolean } } | undefined;
        return cmd?.subtype === 'AT_DetachPartition' && def?.PartitionCmd?.concurrent;
      });
      return detach ? 'DETACH PARTITION CONCURRENTLY' : undefined;
    }
    default:
      return undefined;
  }
}

/** Byte offset → index of the first byte after whitespace and SQL comments. */
function skipTrivia(bytes: Buffer, at: number): number {
  let i = at;
  while (i < bytes.length) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) i++;
    else if (c === 0x2d && bytes[i + 1] === 0x2d) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
    } else if (c === 0x2f && bytes[i + 1] === 0x2a) {
      let depth = 1;
      i += 2;
      while (i < bytes.length && depth > 0) {
        if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
          depth++;
          i += 2;
        } else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f) {
          depth--;
          i += 2;
        } else i++;
      }
    } else break;
  }
  return i;
}

/** 1-based line number of byte offset `at`, using a precomputed list of newline offsets. */
function lineAt(newlines: number[], at: number): number {
  let lo = 0;
  let hi = newlines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (newlines[mid] < at) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/**
 * Parses a migration file into statements. A leading `BEGIN` / `START TRANSACTION` and a
 * trailing `COMMIT` are dropped (the runner already wraps the file in a transaction); any other
 * transaction-control statement is refused.
 *
 * @param options.checkMixing - apply {@link checkMixing} (default true; the linter reports it instead)
 * @throws ConfigError at the file and line of a syntax error, of a transaction-control
 *   statement, or of a statement that breaks the rule for mixing non-transactional statements
 */
export async function parseMigration(
  file: MigrationFile,
  options: { checkMixing?: boolean } = {},
): Promise<ParsedMigration> {
  const lib = await loadParser();
  const bytes = Buffer.from(file.sql, 'utf8');
  const newlines: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) newlines.push(i);
  let result: ParseResult;
  try {
    result = lib.parseSync(file.sql);
  } catch (e) {
    const err = e as Error & { sqlDetails?: { cursorPosition?: number } };
    const pos = err.sqlDetails?.cursorPosition ?? 0;
    throw new ConfigError(`SQL syntax error: ${err.message}`, {
      file: file.path,
      line: lineAt(newlines, pos),
    });
  }
  const statements: Statement[] = [];
  for (const raw of result.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const first = skipTrivia(bytes, start);
    const [kind, node] = Object.entries(raw.stmt as Node)[0] as [string, Record<string, unknown>];
    const sql = bytes.subarray(start, end).toString('utf8').trim();
    statements.push({
      sql,
      line: lineAt(newlines, first),
      kind,
      node,
      nonTransactional: nonTransactionalReason(kind, node),
    });
  }
  // Transaction control: allow one wrapping BEGIN ... COMMIT, refuse anything else.
  const isTx = (s: Statement, kinds: string[]) =>
    s.kind === 'TransactionStmt' && kinds.includes(String(s.node.kind));
  let wrappedAt: number | undefined;
  if (statements.length && isTx(statements[0], ['TRANS_STMT_BEGIN', 'TRANS_STMT_START'])) {
    const last = statements[statements.length - 1];
    if (statements.length > 1 && isTx(last, ['TRANS_STMT_COMMIT'])) {
      wrappedAt = statements[0].line;
      statements.shift();
      statements.pop();
    }
  }
  const tx = statements.find((s) => s.kind === 'TransactionStmt');
  if (tx) {
    throw new ConfigError(
      `transaction control (${tx.sql.split(/\s/)[0].toUpperCase()}) is not allowed in a migration: each file already runs in its own transaction`,
      { file: file.path, line: tx.line },
    );
  }
  const parsed: ParsedMigration = {
    file,
    statements,
    nonTransactional: statements.some((s) => s.nonTransactional),
    lineOf: (at) => lineAt(newlines, at),
    wrappedAt,
  };
  if (options.checkMixing !== false) checkMixing(parsed);
  return parsed;
}

/** Statements allowed next to a non-transactional one: session settings. */
const SESSION_KINDS = new Set(['VariableSetStmt', 'VariableShowStmt']);

/**
 * The rule for files that mix statement kinds. A file whose statements can all run in a
 * transaction runs in one transaction. A file that holds a statement that cannot
 * (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...) runs statement by statement without a
 * transaction, so it may contain only such statements plus `SET`/`RESET` session settings;
 * any other statement is refused at its line — move it into its own migration file. This keeps
 * the guarantee that a transactional change is never half applied.
 *
 * @throws ConfigError at the first statement that breaks the rule
 */
export function checkMixing(parsed: ParsedMigration): void {
  if (!parsed.nonTransactional) return;
  const first = parsed.statements.find((s) => s.nonTransactional)!;
  const bad = parsed.statements.find((s) => !s.nonTransactional && !SESSION_KINDS.has(s.kind));
  if (bad) {
    throw new ConfigError(
      `this file holds ${first.nonTransactional} (line ${first.line}), which cannot run in a transaction, so it runs statement by statement; it may only contain such statements and SET/RESET. Move this ${bad.kind.replace(/Stmt$/, '')} statement into its own migration file`,
      { file: parsed.file.path, line: bad.line },
    );
  }
}

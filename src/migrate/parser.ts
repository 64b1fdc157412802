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
  /** Index into {@link ParsedMigration.blocks} when the file wrote the statement inside an explicit transaction block. */
  block?: number;
}

/** A parsed migration file. */
export interface ParsedMigration {
  file: MigrationFile;
  statements: Statement[];
  /** True when the file holds a statement that cannot run in a transaction. */
  nonTransactional: boolean;
  /** Line of a leading `BEGIN` that wrapped the whole file (dropped by the parser), if any. */
  wrappedAt?: number;
  /** Explicit `BEGIN ... COMMIT` blocks in the file (their BEGIN and COMMIT are dropped). */
  blocks: TransactionBlock[];
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

/** An explicit `BEGIN ... COMMIT` block written in a migration file. */
export interface TransactionBlock {
  /** 1-based lines of the `BEGIN` and the `COMMIT`. */
  begin: number;
  end: number;
}

/**
 * Replaces Flyway-style `${name}` placeholders (Flyway docs, "Placeholders") with the values
 * of `placeholders`; `${flyway:filename}` and `${flyway:timestamp}` are built in.
 * @throws ConfigError at the file and line of a placeholder without a value (input `placeholders`)
 */
export function replacePlaceholders(
  file: MigrationFile,
  placeholders: Record<string, string>,
): string {
  const builtIn: Record<string, string> = {
    'flyway:filename': file.filename.split('/').pop() ?? file.filename,
    'flyway:timestamp': new Date().toISOString(),
  };
  return file.sql.replace(/\$\{([A-Za-z0-9_.:-]+)\}/g, (all, name: string, at: number) => {
    const v = Object.hasOwn(placeholders, name) ? placeholders[name] : builtIn[name];
    if (v === undefined) {
      const line = file.sql.slice(0, at).split('\n').length;
      throw new ConfigError(
        `no value for placeholder \${${name}}: pass it in the placeholders input (name: value)`,
        { file: file.path, line },
        'placeholders',
      );
    }
    return v;
  });
}

/** Options of {@link parseMigration}. */
export interface ParseOptions {
  /** Apply {@link checkMixing} (default true; the linter reports it instead). */
  checkMixing?: boolean;
  /** Replace `${name}` placeholders with these values first (see {@link replacePlaceholders}). */
  placeholders?: Record<string, string>;
}

/**
 * Parses a migration file into statements.
 *
 * Explicit transaction blocks (`BEGIN` / `START TRANSACTION` ... `COMMIT` / `END`) may stand
 * anywhere in a file. Their `BEGIN` and `COMMIT` are dropped and their statements marked with
 * the block: in a file that runs in one transaction they simply become part of it (the whole
 * file commits or nothing does); in a file that runs statement by statement each block runs
 * as its own transaction. `SAVEPOINT`, `RELEASE` and `ROLLBACK TO SAVEPOINT` stay.
 *
 * @throws ConfigError at the file and line of a syntax error; of a `ROLLBACK`, `PREPARE
 *   TRANSACTION`, nested `BEGIN`, `COMMIT` without `BEGIN` or `BEGIN` without `COMMIT`; of a
 *   placeholder without a value; or of a statement that breaks the rule for mixing
 *   non-transactional statements
 */
export async function parseMigration(
  file: MigrationFile,
  options: ParseOptions = {},
): Promise<ParsedMigration> {
  const lib = await loadParser();
  const text =
    options.placeholders !== undefined ? replacePlaceholders(file, options.placeholders) : file.sql;
  const bytes = Buffer.from(text, 'utf8');
  const newlines: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) newlines.push(i);
  let result: ParseResult;
  try {
    result = lib.parseSync(text);
  } catch (e) {
    const err = e as Error & { sqlDetails?: { cursorPosition?: number } };
    const pos = err.sqlDetails?.cursorPosition ?? 0;
    throw new ConfigError(`SQL syntax error: ${err.message}`, {
      file: file.path,
      line: lineAt(newlines, pos),
    });
  }
  const all: Statement[] = [];
  for (const raw of result.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const first = skipTrivia(bytes, start);
    const [kind, node] = Object.entries(raw.stmt as Node)[0] as [string, Record<string, unknown>];
    const sql = bytes.subarray(start, end).toString('utf8').trim();
    all.push({
      sql,
      line: lineAt(newlines, first),
      kind,
      node,
      nonTransactional: nonTransactionalReason(kind, node),
    });
  }
  const { statements, blocks } = resolveTransactionBlocks(all, file);
  // A single block around the whole file (the classic wrapper) is remembered for lint.
  const wrappedAt =
    blocks.length === 1 &&
    statements.length > 0 &&
    statements.every((s) => s.block === 0) &&
    all[0].kind === 'TransactionStmt'
      ? blocks[0].begin
      : undefined;
  if (wrappedAt !== undefined) for (const s of statements) delete s.block;
  const parsed: ParsedMigration = {
    file,
    statements,
    nonTransactional: statements.some((s) => s.nonTransactional),
    lineOf: (at) => lineAt(newlines, at),
    wrappedAt,
    blocks,
  };
  if (options.checkMixing !== false) checkMixing(parsed);
  return parsed;
}

function txKind(s: Statement): string | undefined {
  return s.kind === 'TransactionStmt' ? String(s.node.kind) : undefined;
}

/** Drops explicit BEGIN / COMMIT, marks the statements between them, refuses the rest. */
function resolveTransactionBlocks(
  all: Statement[],
  file: MigrationFile,
): { statements: Statement[]; blocks: TransactionBlock[] } {
  const statements: Statement[] = [];
  const blocks: TransactionBlock[] = [];
  let open: Statement | undefined;
  const refuse = (s: Statement, why: string): never => {
    throw new ConfigError(why, { file: file.path, line: s.line });
  };
  for (const s of all) {
    const k = txKind(s);
    if (
      k === undefined ||
      ['TRANS_STMT_SAVEPOINT', 'TRANS_STMT_RELEASE', 'TRANS_STMT_ROLLBACK_TO'].includes(k)
    ) {
      if (open) s.block = blocks.length;
      statements.push(s);
      continue;
    }
    if (k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START') {
      if (open)
        refuse(
          s,
          `BEGIN inside the transaction block opened at line ${open.line}: blocks do not nest`,
        );
      open = s;
      continue;
    }
    if (k === 'TRANS_STMT_COMMIT') {
      if (!open) {
        refuse(
          s,
          'transaction control (COMMIT) without a BEGIN before it: each file already runs in its own transaction; remove it or add the BEGIN',
        );
      }
      if (s.node.chain) refuse(s, 'COMMIT AND CHAIN is not supported in a migration');
      blocks.push({ begin: open!.line, end: s.line });
      open = undefined;
      continue;
    }
    const word = s.sql.split(/\s/)[0].toUpperCase();
    refuse(
      s,
      k === 'TRANS_STMT_ROLLBACK'
        ? `transaction control (${word}) is not allowed in a migration: it would discard the file's own changes; a migration that fails is rolled back by the runner`
        : `transaction control (${word}) is not allowed in a migration: each file already runs in its own transaction`,
    );
  }
  if (open) refuse(open, `BEGIN without a COMMIT: close the transaction block`);
  return { statements, blocks };
}

/** Statements allowed next to a non-transactional one: session settings. */
const SESSION_KINDS = new Set(['VariableSetStmt', 'VariableShowStmt']);

/**
 * The rule for files that mix statement kinds. A file whose statements can all run in a
 * transaction runs in one transaction. A file that holds a statement that cannot
 * (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...) runs statement by statement without a
 * transaction, so it may contain only such statements, `SET`/`RESET` session settings and
 * explicit `BEGIN ... COMMIT` blocks (each runs as its own transaction); any other statement is
 * refused at its line (a file marked to run without a transaction, dbmate `transaction:false`,
 * is exempt) — move it into its own migration file. This keeps
 * the guarantee that a transactional change is never half applied.
 *
 * @throws ConfigError at the first statement that breaks the rule
 */
export function checkMixing(parsed: ParsedMigration): void {
  if (!parsed.nonTransactional || parsed.file.noTransaction) return;
  const first = parsed.statements.find((s) => s.nonTransactional)!;
  const inBlock = parsed.statements.find((s) => s.nonTransactional && s.block !== undefined);
  if (inBlock) {
    throw new ConfigError(
      `${inBlock.nonTransactional} cannot run inside the transaction block opened at line ${parsed.blocks[inBlock.block!].begin}: move it out of the BEGIN ... COMMIT block`,
      { file: parsed.file.path, line: inBlock.line },
    );
  }
  const bad = parsed.statements.find(
    (s) => !s.nonTransactional && !SESSION_KINDS.has(s.kind) && s.block === undefined,
  );
  if (bad) {
    throw new ConfigError(
      `this file holds ${first.nonTransactional} (line ${first.line}), which cannot run in a transaction, so it runs statement by statement; it may only contain such statements and SET/RESET. Move this ${bad.kind.replace(/Stmt$/, '')} statement into its own migration file`,
      { file: parsed.file.path, line: bad.line },
    );
  }
}

/**
 * Migration lint: flags operations that lock or rewrite busy tables, or break running
 * application code, in pending or changed migration files. Rules and their names follow Squawk
 * (squawkhq.com/docs/rules); each finding links to the Squawk page of its rule.
 *
 * Operations on a table created earlier in the same file (`CREATE TABLE`, `CREATE TABLE AS`,
 * materialized views, `SELECT INTO`, temporary tables), or in an earlier pending file of the
 * same run, are exempt (nobody else can use it yet), as in Squawk. `require-timeout-settings`
 * is off when the runner sets `lock_timeout` itself (the default; lock-timeout 0 turns it on).
 */
import { ConfigError, type Annotation, type Logger } from '../errors.js';
import { loadMigrations, versionKey, type MigrationFile } from './files.js';
import type { MigrateOptions } from './engine.js';
import { chooseStore, historyTableName } from './history.js';
import { checkMixing, parseMigration, type ParsedMigration, type Statement } from './parser.js';
import { connect } from '../db/connect.js';

/** Squawk rule names used by the linter. */
export type LintRule =
  | 'require-concurrent-index-creation'
  | 'require-concurrent-index-deletion'
  | 'disallowed-unique-constraint'
  | 'ban-concurrent-index-creation-in-transaction'
  | 'adding-field-with-default'
  | 'adding-required-field'
  | 'adding-not-nullable-field'
  | 'adding-foreign-key-constraint'
  | 'constraint-missing-not-valid'
  | 'changing-column-type'
  | 'renaming-column'
  | 'renaming-table'
  | 'ban-drop-column'
  | 'ban-drop-table'
  | 'require-timeout-settings'
  | 'invalid-migration';

/** One lint finding at a file and line. */
export interface LintFinding {
  rule: LintRule;
  level: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  version: string;
}

/** When the lint step fails: on any error, on any warning or error, or never. */
export type FailOn = 'error' | 'warning' | 'never';

/** Options of {@link lintMigrations}. */
export interface LintOptions extends Partial<MigrateOptions> {
  dir: string;
  /** Default `error`. */
  failOn?: FailOn;
  /**
   * Lint every file instead of the pending and changed ones. Implied when no `databaseUrl` is
   * given.
   */
  all?: boolean;
  /**
   * Report each finding through the logger (default true). The action turns findings into
   * titled annotations itself and passes false.
   */
  logFindings?: boolean;
}

/** What {@link lintMigrations} found. */
export interface LintResult {
  findings: LintFinding[];
  /** Files linted (file names). */
  linted: string[];
  /** True when the findings reach the `failOn` level. */
  failed: boolean;
}

/** Functions whose result changes per row: a DEFAULT calling one rewrites the table (PostgreSQL docs, ALTER TABLE "Notes"). */
const VOLATILE = new Set([
  'random',
  'random_normal',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'setseed',
]);

/** Stable or immutable functions common in defaults: evaluated once, no rewrite. */
const NON_VOLATILE = new Set([
  'now',
  'statement_timestamp',
  'transaction_timestamp',
  'current_setting',
  'to_timestamp',
  'make_interval',
  'lower',
  'upper',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'array_fill',
]);

const DOCS = 'https://squawkhq.com/docs/';

type Obj = Record<string, unknown>;

function funcNames(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) funcNames(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Obj;
    if (o.FuncCall) {
      const names = ((o.FuncCall as Obj).funcname as { String?: { sval?: string } }[]) ?? [];
      out.push(names.map((n) => n.String?.sval ?? '').pop() ?? '');
    }
    for (const v of Object.values(o)) funcNames(v, out);
  }
  return out;
}

function constraintsOf(columnDef: Obj): Obj[] {
  return ((columnDef.constraints as { Constraint?: Obj }[]) ?? [])
    .map((c) => c.Constraint)
    .filter((c): c is Obj => !!c);
}

/** The serial pseudo-types: a column of one gets a `nextval()` default (PostgreSQL docs, "Serial Types"). */
const SERIAL_TYPES = new Set([
  'smallserial',
  'serial2',
  'serial',
  'serial4',
  'bigserial',
  'serial8',
]);

/** The type name of a ColumnDef, without its schema (`bigserial`, `int4`). */
function typeNameOf(columnDef: Obj): string {
  const names = ((columnDef.typeName as Obj | undefined)?.names as { String?: Obj }[]) ?? [];
  return String(names[names.length - 1]?.String?.sval ?? '').toLowerCase();
}

function relname(node: Obj | undefined): string {
  return String((node?.relation as Obj | undefined)?.relname ?? '');
}

const DDL_KINDS = new Set([
  'AlterTableStmt',
  'IndexStmt',
  'RenameStmt',
  'DropStmt',
  'CreateTrigStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'AlterEnumStmt',
]);

/** What a lint run carries from file to file. */
export interface LintContext {
  /**
   * Tables (and materialized views, `CREATE TABLE AS`, `SELECT INTO`, temporary tables)
   * created earlier in the same run; filled in as files are linted in order. Operations on
   * them are exempt from the rules meant for tables in use.
   */
  created?: Set<string>;
  /**
   * The runner sets `lock_timeout` itself (runbook migrate with a lock timeout above 0), so
   * `require-timeout-settings` does not apply.
   */
  runnerSetsTimeouts?: boolean;
}

/** The table a statement creates, if it creates one. */
function createdBy(kind: string, n: Obj): string {
  if (kind === 'CreateStmt') return relname(n);
  const into = (
    kind === 'CreateTableAsStmt' ? n.into : kind === 'SelectStmt' ? n.intoClause : undefined
  ) as { rel?: Obj } | undefined;
  if (into?.rel) return String(into.rel.relname ?? '');
  return '';
}

/**
 * Lints one parsed file.
 * @param p - the parsed file; `mixingError` is the parser's refusal of a mixed file, if any
 * @param context - tables created earlier in the run, and whether the runner sets timeouts
 */
export function lintParsed(
  p: ParsedMigration,
  mixingError?: ConfigError,
  context: LintContext = {},
): LintFinding[] {
  const findings: LintFinding[] = [];
  const created = context.created ?? new Set<string>();
  let lockTimeoutSet = !!context.runnerSetsTimeouts;
  let timeoutReported = false;
  const add = (rule: LintRule, level: 'error' | 'warning', line: number, message: string) =>
    findings.push({
      rule,
      level,
      line,
      file: p.file.path,
      version: p.file.version,
      message: `${message} (${rule}: ${DOCS}${rule})`,
    });
  const lineOf = (s: Statement, node?: Obj) =>
    typeof node?.location === 'number' && node.location >= 0 ? p.lineOf(node.location) : s.line;

  if (mixingError?.location?.line) {
    const cic = p.statements.find((s) => s.nonTransactional);
    add(
      'ban-concurrent-index-creation-in-transaction',
      'error',
      mixingError.location.line,
      `${cic?.nonTransactional ?? 'a non-transactional statement'} cannot share a file with other statements: the runner refuses this file. Move the other statements into their own migration`,
    );
  }
  if (p.wrappedAt !== undefined && p.nonTransactional) {
    const s = p.statements.find((x) => x.nonTransactional)!;
    add(
      'ban-concurrent-index-creation-in-transaction',
      'error',
      s.line,
      `${s.nonTransactional} inside BEGIN ... COMMIT (line ${p.wrappedAt}) fails outside this runner; remove the transaction block`,
    );
  }

  for (const s of p.statements) {
    const n = s.node;
    if (s.kind === 'VariableSetStmt' && n.name === 'lock_timeout') lockTimeoutSet = true;
    const made = createdBy(s.kind, n);
    if (made) created.add(made);
    const target =
      s.kind === 'IndexStmt' || s.kind === 'AlterTableStmt' || s.kind === 'RenameStmt'
        ? relname(n)
        : '';
    const existing = target !== '' && !created.has(target);
    const isDdlOnExisting =
      DDL_KINDS.has(s.kind) &&
      (existing || s.kind === 'DropStmt' || s.kind === 'AlterEnumStmt') &&
      !s.nonTransactional;
    if (isDdlOnExisting && !lockTimeoutSet && !timeoutReported) {
      timeoutReported = true;
      add(
        'require-timeout-settings',
        'warning',
        s.line,
        `DDL on an existing table without SET lock_timeout earlier in the file: if the table is busy, this statement queues every later query behind it (runbook migrate sets lock_timeout itself; other tools do not)`,
      );
    }

    if (s.kind === 'IndexStmt' && !n.concurrent && existing) {
      add(
        'require-concurrent-index-creation',
        'error',
        s.line,
        `CREATE INDEX on existing table "${target}" without CONCURRENTLY blocks writes for the whole build; use CREATE INDEX CONCURRENTLY in its own migration file`,
      );
    }

    if (s.kind === 'AlterTableStmt' && existing) {
      for (const c of (n.cmds as { AlterTableCmd?: Obj }[]) ?? []) {
        const cmd = c.AlterTableCmd;
        if (!cmd) continue;
        const def = cmd.def as Obj | undefined;
        switch (cmd.subtype) {
          case 'AT_AddColumn': {
            const col = def?.ColumnDef as Obj | undefined;
            if (!col) break;
            const cons = constraintsOf(col);
            const dflt = cons.find((k) => k.contype === 'CONSTR_DEFAULT');
            const generated = cons.some(
              (k) => k.contype === 'CONSTR_GENERATED' || k.contype === 'CONSTR_IDENTITY',
            );
            const notNull = cons.some((k) => k.contype === 'CONSTR_NOTNULL');
            const line = lineOf(s, col);
            const serial = SERIAL_TYPES.has(typeNameOf(col));
            const identity = cons.some((k) => k.contype === 'CONSTR_IDENTITY');
            if (serial || identity) {
              // Every existing row gets its own nextval(): a volatile default.
              add(
                'adding-field-with-default',
                'error',
                line,
                `${serial ? `${typeNameOf(col)} column` : 'identity column'} "${String(col.colname)}" gives every existing row its own nextval(): PostgreSQL rewrites "${target}" under an ACCESS EXCLUSIVE lock; add a nullable column, backfill it in batches, then attach the sequence`,
              );
            } else if (dflt) {
              const fns = funcNames(dflt.raw_expr);
              const volatile = fns.filter((f) => VOLATILE.has(f.toLowerCase()));
              const unknown = fns.filter(
                (f) => !VOLATILE.has(f.toLowerCase()) && !NON_VOLATILE.has(f.toLowerCase()),
              );
              if (volatile.length) {
                add(
                  'adding-field-with-default',
                  'error',
                  line,
                  `column "${String(col.colname)}" gets a volatile default ${volatile[0]}(): PostgreSQL rewrites "${target}" under an ACCESS EXCLUSIVE lock; add the column without a default, backfill in batches, then SET DEFAULT`,
                );
              } else if (unknown.length) {
                add(
                  'adding-field-with-default',
                  'warning',
                  line,
                  `column "${String(col.colname)}" default calls ${unknown[0]}(): if that function is volatile, "${target}" is rewritten under an ACCESS EXCLUSIVE lock`,
                );
              }
            } else if (notNull && !generated) {
              add(
                'adding-required-field',
                'error',
                line,
                `column "${String(col.colname)}" is NOT NULL without a DEFAULT: this fails on a non-empty "${target}" and breaks inserts from the running application; add a DEFAULT or make it nullable`,
              );
            }
            if (generated && cons.some((k) => k.contype === 'CONSTR_GENERATED')) {
              add(
                'adding-field-with-default',
                'error',
                line,
                `stored generated column "${String(col.colname)}" rewrites "${target}" under an ACCESS EXCLUSIVE lock`,
              );
            }
            for (const k of cons) {
              if (k.contype === 'CONSTR_UNIQUE' || k.contype === 'CONSTR_PRIMARY') {
                add(
                  'disallowed-unique-constraint',
                  'error',
                  lineOf(s, k),
                  `column "${String(col.colname)}" ${k.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} builds its index on "${target}" while blocking reads and writes; add the column, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX`,
                );
              }
              if (k.contype === 'CONSTR_FOREIGN') {
                add(
                  'adding-foreign-key-constraint',
                  'warning',
                  lineOf(s, k),
                  `column "${String(col.colname)}" REFERENCES checks every row of "${target}" while locking both tables; add the column, then ADD CONSTRAINT ... NOT VALID and VALIDATE CONSTRAINT in a later migration`,
                );
              }
            }
            break;
          }
          case 'AT_AddConstraint': {
            const k = def?.Constraint as Obj | undefined;
            if (!k) break;
            if ((k.contype === 'CONSTR_UNIQUE' || k.contype === 'CONSTR_PRIMARY') && !k.indexname) {
              add(
                'disallowed-unique-constraint',
                'error',
                lineOf(s, k),
                `${k.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} constraint on "${target}" builds its index while blocking reads and writes; CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... ${k.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX`,
              );
            } else if (k.contype === 'CONSTR_FOREIGN' && !k.skip_validation) {
              add(
                'adding-foreign-key-constraint',
                'warning',
                lineOf(s, k),
                `foreign key on "${target}" without NOT VALID scans the table while blocking writes on both tables; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration`,
              );
            } else if (k.contype === 'CONSTR_CHECK' && k.initially_valid) {
              add(
                'constraint-missing-not-valid',
                'warning',
                lineOf(s, k),
                `CHECK constraint on "${target}" without NOT VALID scans the table under an ACCESS EXCLUSIVE lock; add it NOT VALID, then VALIDATE CONSTRAINT`,
              );
            }
            break;
          }
          case 'AT_SetNotNull':
            add(
              'adding-not-nullable-field',
              'warning',
              s.line,
              `SET NOT NULL on "${target}"."${String(cmd.name)}" scans the whole table under an ACCESS EXCLUSIVE lock; add a CHECK (${String(cmd.name)} IS NOT NULL) NOT VALID constraint, validate it, then SET NOT NULL`,
            );
            break;
          case 'AT_AlterColumnType':
            add(
              'changing-column-type',
              'error',
              s.line,
              `changing the type of "${target}"."${String(cmd.name)}" may rewrite the table and its indexes under an ACCESS EXCLUSIVE lock and breaks running code; add a new column and backfill`,
            );
            break;
          case 'AT_DropColumn':
            add(
              'ban-drop-column',
              'warning',
              s.line,
              `dropping column "${target}"."${String(cmd.name)}" breaks application code that still reads it; stop using it in a release first`,
            );
            break;
        }
      }
    }

    if (s.kind === 'RenameStmt' && existing) {
      if (n.renameType === 'OBJECT_COLUMN') {
        add(
          'renaming-column',
          'warning',
          s.line,
          `renaming "${target}"."${String(n.subname)}" breaks running application code that uses the old name`,
        );
      } else if (n.renameType === 'OBJECT_TABLE') {
        add(
          'renaming-table',
          'warning',
          s.line,
          `renaming table "${target}" breaks running application code that uses the old name`,
        );
      }
    }

    if (s.kind === 'DropStmt' && n.removeType === 'OBJECT_INDEX' && !n.concurrent) {
      add(
        'require-concurrent-index-deletion',
        'warning',
        s.line,
        `DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table; use DROP INDEX CONCURRENTLY in its own migration file`,
      );
    }

    if (s.kind === 'DropStmt' && n.removeType === 'OBJECT_TABLE') {
      add(
        'ban-drop-table',
        'warning',
        s.line,
        `DROP TABLE loses its data for good and breaks code that still uses it`,
      );
    }
  }
  return findings;
}

/**
 * Lints the pending and changed migration files (every file with `all` or without a database
 * URL) and reports each finding as a warning or error at its file and line through `logger`.
 * @throws ConfigError for a bad directory or file name, or a bad URL
 */
export async function lintMigrations(options: LintOptions, logger: Logger): Promise<LintResult> {
  const set = loadMigrations(options.dir, options.format ?? 'auto');
  const files = [...set.files, ...set.repeatables];
  let targets: MigrationFile[] = files;
  const pendingRun = !!options.databaseUrl && !options.all;
  if (options.databaseUrl && !options.all) {
    const client = await connect(options.databaseUrl, {
      caCert: options.caCert || undefined,
      applicationName: options.applicationName ?? 'runbook-migrate',
    });
    try {
      const store = await chooseStore(
        client,
        set.format,
        options.historyTable ? historyTableName(options.historyTable) : undefined,
      );
      const history = await store.read(client, set.files);
      const applied = new Map(
        history.map((h) => [h.repeatable ? `R:${h.name}` : versionKey(h.version), h]),
      );
      targets = files.filter((f) => {
        const h = applied.get(f.repeatable ? `R:${f.name}` : versionKey(f.version));
        return !h || !store.matches(f, h);
      });
    } finally {
      await client.end().catch(() => {});
    }
  }
  // Files applied in one run share their created tables; the runner's lock_timeout (default
  // 5 s) makes require-timeout-settings moot unless it is turned off (0).
  const runnerSetsTimeouts = (options.lockTimeoutMs ?? 5_000) > 0;
  const shared = new Set<string>();
  const placeholders =
    options.placeholders && Object.keys(options.placeholders).length
      ? options.placeholders
      : set.format === 'flyway'
        ? {}
        : undefined;
  const findings: LintFinding[] = [];
  for (const f of targets) {
    let parsed: ParsedMigration;
    try {
      parsed = await parseMigration(f, { checkMixing: false, placeholders });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      findings.push({
        rule: 'invalid-migration',
        level: 'error',
        file: f.path,
        line: e.location?.line ?? 1,
        version: f.version,
        message: e.message.replace(/^[^:]*(:\d+)?: /, ''),
      });
      continue;
    }
    let mixing: ConfigError | undefined;
    try {
      checkMixing(parsed);
    } catch (e) {
      if (e instanceof ConfigError) mixing = e;
      else throw e;
    }
    findings.push(
      ...lintParsed(parsed, mixing, {
        created: pendingRun ? shared : undefined,
        runnerSetsTimeouts,
      }),
    );
  }
  for (const f of options.logFindings === false ? [] : findings) {
    const loc = { file: f.file, line: f.line };
    if (f.level === 'error') logger.error(f.message, loc);
    else logger.warning(f.message, loc);
  }
  const failOn = options.failOn ?? 'error';
  const failed =
    failOn === 'never'
      ? false
      : failOn === 'warning'
        ? findings.length > 0
        : findings.some((f) => f.level === 'error');
  logger.info(
    `linted ${targets.length} file(s): ${findings.filter((f) => f.level === 'error').length} error(s), ${findings.filter((f) => f.level === 'warning').length} warning(s)`,
  );
  return { findings, linted: targets.map((f) => f.filename), failed };
}

/** Lint findings as annotations (for `annotate()` in the action). */
export function lintAnnotations(findings: LintFinding[]): Annotation[] {
  return findings.map((f) => ({
    level: f.level,
    title: f.rule,
    message: f.message,
    location: { file: f.file, line: f.line },
  }));
}

/**
 * One migrate command (`plan`, `apply`, `status`, `verify`, `baseline`, `lint`, `rollback`,
 * `repair`) run the same way
 * for the `migrate` action and `runbook migrate`: the dispatch to the engine and the shaping of
 * its outcome into one result that both turn into outputs, a job summary or an exit code.
 */
import { parse as parseYaml } from 'yaml';
import { ConfigError, type Logger } from '../errors.js';
import {
  applyMigrations,
  baselineMigrations,
  MigrationFailedError,
  MigrationRefusedError,
  migrationStatus,
  planMigrations,
  repairMigrations,
  rollbackMigrations,
  verifyMigrations,
  type MigrateOptions,
  type MigrateResult,
} from './engine.js';
import { lintMigrations, type FailOn, type LintResult } from './lint.js';
import { lintSummary, migrateSummary } from './report.js';
import { schemaDrift } from './schema.js';

/** Every migrate command, in the order the usage and the action's `command` input list them. */
export const MIGRATE_COMMANDS = [
  'plan',
  'apply',
  'status',
  'verify',
  'baseline',
  'lint',
  'rollback',
  'repair',
] as const;

/** One of {@link MIGRATE_COMMANDS}. */
export type MigrateCommand = (typeof MIGRATE_COMMANDS)[number];

export { SECRET_PLACEHOLDER } from './engine.js';

/**
 * Parses placeholder values (Flyway `${name}` syntax): a YAML / JSON mapping
 * (`schema: billing`) or one `name=value` per line. Values are used as strings.
 * @throws ConfigError naming `input` for a line that is neither, or a nested value
 */
export function parsePlaceholders(
  text: string | undefined,
  input = 'placeholders',
): Record<string, string> {
  const out: Record<string, string> = {};
  const src = (text ?? '').trim();
  if (!src) return out;
  const lines = src.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#'));
  if (lines.every((l) => /^[A-Za-z0-9_.:-]+=/.test(l.trim()))) {
    for (const l of lines) {
      const i = l.indexOf('=');
      out[l.slice(0, i).trim()] = l.slice(i + 1);
    }
    return out;
  }
  let doc: unknown;
  try {
    doc = parseYaml(src);
  } catch (e) {
    throw new ConfigError(
      `expected name: value lines (YAML) or name=value lines: ${(e as Error).message}`,
      undefined,
      input,
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('expected a mapping of placeholder names to values', undefined, input);
  }
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object') {
      throw new ConfigError(
        `placeholder '${k}' must be a plain value, not a list or mapping`,
        undefined,
        input,
      );
    }
    out[k] = v === null ? '' : String(v);
  }
  return out;
}

/** Whether `name` is one of {@link MIGRATE_COMMANDS}. */
export function isMigrateCommand(name: string | undefined): name is MigrateCommand {
  return (MIGRATE_COMMANDS as readonly (string | undefined)[]).includes(name);
}

/**
 * Options of {@link runMigrateCommand}: the engine's {@link MigrateOptions} plus what single
 * commands take. `databaseUrl` may be empty for `lint` only (then every file is linted).
 */
export interface MigrateCommandOptions extends MigrateOptions {
  /** `baseline`: mark every file up to and including this version as applied. */
  baselineVersion?: string;
  /** `lint`: the finding level that fails the command (default `error`). */
  failOn?: FailOn;
  /** `lint`: lint every file, not only the pending and changed ones. */
  all?: boolean;
  /** `lint`: report each finding through the logger (default true). */
  logFindings?: boolean;
  /** `verify`: also compare the live schema with the one the migrations build (schema.ts). */
  schema?: boolean;
  /** `verify` with `schema`: a server to build the shadow database on (default: embedded). */
  shadowDatabaseUrl?: string;
}

/** Why a migrate command failed (the action fails the step, the CLI exits 1). */
export interface MigrateCommandFailure {
  /**
   * `lint`: findings at or above `failOn`; `verify`: verify found problems; `refused`: apply (or
   * another command) refused before changing anything ({@link MigrationRefusedError}); `failed`:
   * a migration statement failed ({@link MigrationFailedError}).
   */
  kind: 'lint' | 'verify' | 'refused' | 'failed';
  /**
   * The error to fail with: the engine's {@link MigrationRefusedError} or
   * {@link MigrationFailedError} (with the file and line), or a {@link ConfigError} saying what
   * lint (input `fail-on`) or verify found.
   */
  error: ConfigError;
}

/** What {@link runMigrateCommand} did: the same shape for every command. */
export interface MigrateCommandResult {
  command: MigrateCommand;
  /**
   * Every command but `lint`: rows, applied, baselined and pending versions. After a failed
   * `apply`, the state when the run stopped (`pending` counts the failed file; `problems` holds
   * the error). After a refusal, the state that made it refuse, with nothing applied.
   */
  result?: MigrateResult;
  /** `lint`: the findings. */
  lint?: LintResult;
  /** The job summary (Markdown) for `result` or `lint`. */
  summary?: string;
  /** Set when the command failed; absent on success. */
  failure?: MigrateCommandFailure;
}

/**
 * Runs one migrate command with the engine and shapes the outcome.
 * Refusals ({@link MigrationRefusedError}) and failed migrations ({@link MigrationFailedError})
 * are returned as a `failure`, not thrown, as are lint findings at or above `failOn` and verify
 * problems.
 * @throws ConfigError for bad options (e.g. a `baselineVersion` that is not digits, input
 *   `baseline-version`; a missing migrations directory; a bad database URL)
 */
export async function runMigrateCommand(
  command: MigrateCommand,
  options: MigrateCommandOptions,
  logger: Logger,
): Promise<MigrateCommandResult> {
  const { baselineVersion, failOn, all, logFindings, schema, shadowDatabaseUrl, ...migrate } =
    options;
  try {
    if (command === 'lint') {
      const lint = await lintMigrations(
        { ...migrate, databaseUrl: migrate.databaseUrl || undefined, failOn, all, logFindings },
        logger,
      );
      return {
        command,
        lint,
        summary: lintSummary(lint),
        failure: lint.failed
          ? {
              kind: 'lint',
              error: new ConfigError(
                `lint found ${lint.findings.length} finding(s) at or above fail-on '${failOn ?? 'error'}'`,
                undefined,
                'fail-on',
              ),
            }
          : undefined,
      };
    }
    const result =
      command === 'plan'
        ? await planMigrations(migrate, logger)
        : command === 'apply'
          ? await applyMigrations(migrate, logger)
          : command === 'status'
            ? await migrationStatus(migrate, logger)
            : command === 'verify'
              ? await verifyMigrations(migrate, logger)
              : command === 'rollback'
                ? await rollbackMigrations(migrate, logger)
                : command === 'repair'
                  ? await repairMigrations(migrate, logger)
                  : await baselineMigrations(
                      { ...migrate, baselineVersion: baselineVersion ?? '' },
                      logger,
                    );
    if (command === 'verify' && schema) {
      result.schemaDiff = await schemaDrift({ ...migrate, shadowDatabaseUrl }, logger);
      if (result.schemaDiff.length) {
        result.problems.push(
          `the live schema differs from the migrations in ${result.schemaDiff.length} place(s): ${result.schemaDiff.slice(0, 3).join('; ')}${result.schemaDiff.length > 3 ? '; ...' : ''}`,
        );
      }
    }
    return {
      command,
      result,
      summary: migrateSummary(result),
      failure:
        command === 'verify' && result.problems.length
          ? {
              kind: 'verify',
              error: new ConfigError(
                `verify found ${result.problems.length} problem(s): ${result.problems[0]}`,
              ),
            }
          : undefined,
    };
  } catch (e) {
    if (e instanceof MigrationFailedError) {
      const result: MigrateResult = {
        command: command === 'rollback' ? 'rollback' : 'apply',
        format: e.context.format as MigrateResult['format'],
        formatReason: e.context.formatReason,
        historyTable: e.context.historyTable,
        rows: e.rows,
        applied: e.applied,
        baselined: [],
        pending: e.rows
          .filter((r) => r.state === 'pending' || r.state === 'failed')
          .map((r) => r.version),
        problems: [e.message],
        warnings: [],
      };
      return {
        command,
        result,
        summary: migrateSummary(result),
        failure: { kind: 'failed', error: e },
      };
    }
    if (e instanceof MigrationRefusedError) {
      // Nothing was applied; the summary shows which files made the command refuse.
      const result: MigrateResult = {
        command: command === 'plan' ? 'plan' : 'apply',
        rows: e.rows,
        applied: [],
        baselined: [],
        pending: e.pending,
        problems: e.problems,
        warnings: [],
      };
      return {
        command,
        result,
        summary: migrateSummary(result),
        failure: { kind: 'refused', error: e },
      };
    }
    throw e;
  }
}

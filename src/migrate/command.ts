/**
 * One migrate command (`plan`, `apply`, `status`, `verify`, `baseline`, `lint`) run the same way
 * for the `migrate` action and `runbook migrate`: the dispatch to the engine and the shaping of
 * its outcome into one result that both turn into outputs, a job summary or an exit code.
 */
import { ConfigError, type Logger } from '../errors.js';
import {
  applyMigrations,
  baselineMigrations,
  MigrationFailedError,
  MigrationRefusedError,
  migrationStatus,
  planMigrations,
  verifyMigrations,
  type MigrateOptions,
  type MigrateResult,
} from './engine.js';
import { lintMigrations, type FailOn, type LintResult } from './lint.js';
import { lintSummary, migrateSummary } from './report.js';

/** Every migrate command, in the order the usage and the action's `command` input list them. */
export const MIGRATE_COMMANDS = ['plan', 'apply', 'status', 'verify', 'baseline', 'lint'] as const;

/** One of {@link MIGRATE_COMMANDS}. */
export type MigrateCommand = (typeof MIGRATE_COMMANDS)[number];

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
  const { baselineVersion, failOn, all, logFindings, ...migrate } = options;
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
              : await baselineMigrations(
                  { ...migrate, baselineVersion: baselineVersion ?? '' },
                  logger,
                );
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
        command: 'apply',
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

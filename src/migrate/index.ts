/**
 * The migrate engine's public API: ordered SQL migrations for PostgreSQL with a history table,
 * checksums, an advisory lock, per-file transactions, lock-timeout retries and a Squawk-style
 * lint. Every function takes one options object and a {@link Logger} and returns a plain result.
 */
export {
  planMigrations,
  applyMigrations,
  migrationStatus,
  verifyMigrations,
  baselineMigrations,
  readHistory,
  ensureHistoryTable,
  historyTableName,
  MigrationRefusedError,
  MigrationFailedError,
  type MigrateOptions,
  type BaselineOptions,
  type MigrateResult,
  type MigrationRow,
  type MigrationState,
  type HistoryRow,
} from './engine.js';
export {
  lintMigrations,
  lintParsed,
  lintAnnotations,
  type LintOptions,
  type LintResult,
  type LintFinding,
  type LintRule,
  type FailOn,
} from './lint.js';
export {
  discoverMigrations,
  checksum,
  compareVersions,
  MIGRATION_NAME,
  type MigrationFile,
} from './files.js';
export {
  parseMigration,
  loadParser,
  nonTransactionalReason,
  checkMixing,
  type ParsedMigration,
  type Statement,
} from './parser.js';
export { migrateSummary, lintSummary, textTable } from './report.js';
export {
  runMigrateCommand,
  isMigrateCommand,
  MIGRATE_COMMANDS,
  type MigrateCommand,
  type MigrateCommandOptions,
  type MigrateCommandResult,
  type MigrateCommandFailure,
} from './command.js';

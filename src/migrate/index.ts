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
  rollbackMigrations,
  repairMigrations,
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
  loadMigrations,
  detectFormat,
  checksum,
  flywayChecksum,
  compareVersions,
  versionKey,
  MIGRATION_NAME,
  FORMATS,
  FORMATS_WITH_DOWN,
  type MigrationFile,
  type MigrationFormat,
  type FormatOption,
  type MigrationSet,
  type DownPart,
} from './files.js';
export { chooseStore, runbookStore, NATIVE_TABLES, type HistoryStore } from './history.js';
export { listInvalidIndexes, dropInvalidIndexFor, type InvalidIndex } from './concurrently.js';
export { schemaDrift, catalogLines, diffLines, type SchemaDriftOptions } from './schema.js';
export { isConnectionLost } from './apply.js';
export {
  parseMigration,
  loadParser,
  nonTransactionalReason,
  replacePlaceholders,
  checkMixing,
  type ParsedMigration,
  type Statement,
} from './parser.js';
export { migrateSummary, lintSummary, textTable } from './report.js';
export {
  runMigrateCommand,
  isMigrateCommand,
  parsePlaceholders,
  SECRET_PLACEHOLDER,
  MIGRATE_COMMANDS,
  type MigrateCommand,
  type MigrateCommandOptions,
  type MigrateCommandResult,
  type MigrateCommandFailure,
} from './command.js';

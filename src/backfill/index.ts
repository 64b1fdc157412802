/**
 * The backfill engine's public API: load a spec, then analyze, dry-run, execute and verify it.
 * Each function takes one options object and a {@link Logger} and returns a plain result.
 */
export {
  loadBackfillSpec,
  validateSpecAgainstDatabase,
  backfillSpecSchema,
  type BackfillSpec,
  type SpecQuery,
} from './spec.js';
export {
  analyzeBackfill,
  dryRunBackfill,
  executeBackfill,
  verifyBackfill,
  describeDiff,
  BackfillBusyError,
  BackfillBatchError,
  CHECKPOINT_DDL,
  type BackfillOptions,
  type DryRunOptions,
  type ExecuteOptions,
  type VerifyOptions,
  type AnalyzeResult,
  type DryRunResult,
  type ExecuteResult,
  type VerifyResult,
  type QueryResult,
  type DiffRow,
  type DiffCounts,
  type RunSummary,
} from './engine.js';
export { generatePaket7Data, type GenerateOptions, type GenerateResult } from './generate.js';
export {
  analyzeMarkdown,
  executeFailureMarkdown,
  executeMarkdown,
  verifyMarkdown,
} from './report.js';

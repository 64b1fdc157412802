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
  verifyBackfill,
  describeDiff,
  type BackfillOptions,
  type DryRunOptions,
  type VerifyOptions,
  type AnalyzeResult,
  type DryRunResult,
  type VerifyResult,
  type QueryResult,
  type DiffRow,
  type DiffCounts,
  type RunSummary,
} from './engine.js';
export {
  executeBackfill,
  prepareRun,
  resumeCommand,
  BackfillBusyError,
  BackfillBatchError,
  BackfillConnectionError,
  type ExecuteOptions,
  type ExecuteResult,
  type PartitionResult,
  type PreparedRun,
} from './execute.js';
export {
  CHECKPOINT_DDL,
  ensureCheckpointSchema,
  readPartitions,
  setRunControl,
  type PartitionRow,
  type PauseSummary,
} from './checkpoint.js';
export { columnsReadFromTarget } from './lint.js';
export { generatePaket7Data, type GenerateOptions, type GenerateResult } from './generate.js';
export {
  analyzeMarkdown,
  kubernetesMarkdown,
  executeFailureMarkdown,
  executeMarkdown,
  verifyMarkdown,
} from './report.js';

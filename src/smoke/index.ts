/**
 * The smoke engine's public API: HTTP smoke checks from a YAML file, with idempotency checks and
 * SQL assertions. Used by `actions/smoke`, `runbook smoke` and the release rehearsal.
 */
export { loadSmokeChecks, DEFAULT_TIMEOUT_MS } from './load.js';
export type { LoadSmokeOptions, LoadedSmokeChecks, PreparedCheck } from './load.js';
export { runSmokeChecks, jsonAt, jsonEqual, firstDifference } from './run.js';
export type { SmokeOptions, SmokeResult, SmokeRun, FetchLike } from './run.js';
export { smokeSummary, smokeResults } from './report.js';
export type { SmokeResultRecord } from './report.js';
export { parseAssignments, redactor } from './template.js';
export { smokeFileSchema } from './schema.js';
export type { SmokeFile, SmokeCheck } from './schema.js';

/**
 * One release engine: the release plan (schema, loader), the compiled release the reusable
 * workflow, `runbook plan` and `runbook rehearse` all run, the rehearsal, and the one report
 * renderer used by the workflow's report job and the rehearsal.
 */
export * from './schema.js';
export * from './load.js';
export { releasePlanJsonSchema, SCHEMA_FILE } from './json-schema.js';
export * from './compile.js';
export { outline } from './outline.js';
export {
  rehearse,
  type RehearseOptions,
  type RehearsalResult,
  type TimelineEntry,
  type GateStep,
  type Recording,
  worstValue,
} from './rehearse.js';
export { renderReport } from './report.js';

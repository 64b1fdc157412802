/** The release rehearsal: a plan run end to end locally, and its report. */
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

/**
 * Replay provider: serves the raw values recorded in a measurements file (see
 * `../measurements.ts`) at the times they were measured, so changed criteria (thresholds,
 * limits, min-sample, confidence) can be judged against a real canary afterwards. A metric or
 * query that was not recorded has no data; a query whose text changed since the recording is
 * served from the recording with a warning.
 */
import type { Logger } from '../../errors.js';
import type { GateResult } from '../measurements.js';
import { alignToSteps, type MetricsProvider, type Point, type QueryRef } from './types.js';

/** Creates a provider over a recorded gate result. */
export function replayProvider(recording: GateResult, logger: Logger): MetricsProvider {
  const warned = new Set<string>();
  function series(ref: QueryRef): Point[] {
    const metric = recording.metrics.find((m) => m.name === ref.metric);
    if (!metric) {
      if (!warned.has(ref.metric))
        logger.warning(`replay: metric '${ref.metric}' is not in the recording`);
      warned.add(ref.metric);
      return [];
    }
    const recorded = metric.queries[ref.role];
    const key = `${ref.metric}/${ref.role}`;
    if (recorded !== undefined && recorded !== ref.query && !warned.has(key)) {
      warned.add(key);
      logger.warning(
        `replay: the ${ref.role} query of '${ref.metric}' differs from the recorded one; replaying the recorded values`,
      );
    }
    return metric.measurements.map((m) => {
      const v = ref.role === 'value' ? m.value : m[ref.role];
      return { t: Date.parse(m.at), v: typeof v === 'number' && Number.isFinite(v) ? v : null };
    });
  }
  return {
    name: 'replay',
    async instant(ref, atMs, intervalMs) {
      return alignToSteps(series(ref), atMs, atMs, intervalMs)[0].v;
    },
    async range(ref, startMs, endMs, stepMs) {
      return alignToSteps(series(ref), startMs, endMs, stepMs);
    },
  };
}

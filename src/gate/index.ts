/**
 * The canary-gate engine: load exit criteria, measure a canary from Datadog, Prometheus,
 * Grafana or a recording, and return a verdict with every measurement.
 *
 * ```ts
 * const result = await runGate({ criteria: 'examples/paket7/gate/prometheus.yml', mode: 'replay',
 *   replayFile: 'examples/paket7/gate/recorded/healthy.json' }, consoleLogger);
 * result.verdict; // 'pass' | 'fail' | 'inconclusive'
 * ```
 */
export {
  loadCriteria,
  parseCriteria,
  parseCondition,
  renderTemplate,
  criteriaSchema,
  PROVIDERS,
  type Criteria,
  type MetricCriteria,
  type Condition,
  type TemplateVariables,
  type CriteriaOverrides,
  type ProviderName,
} from './criteria.js';
export { runGate, parseTime, MODES, type GateOptions, type Mode } from './run.js';
export {
  measure,
  newMetricState,
  outcome,
  type Measurement,
  type Phase,
  type Sample,
} from './evaluation.js';
export { wilsonBounds, exactBounds, rateBounds, normalQuantile } from './statistics.js';
export {
  readMeasurements,
  writeMeasurements,
  type GateResult,
  type MetricResult,
  type Verdict,
} from './measurements.js';
export { renderSummary } from './report.js';
export type { MetricsProvider, QueryRef, Point } from './providers/types.js';
export { ProviderError } from './providers/types.js';
export type { PrometheusOptions } from './providers/prometheus.js';
export type { GrafanaOptions } from './providers/grafana.js';
export type { DatadogOptions } from './providers/datadog.js';

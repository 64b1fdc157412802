/**
 * Canary exit criteria: the YAML schema, its loader and the condition grammar.
 *
 * The vocabulary follows Argo Rollouts' AnalysisTemplate (`interval`, `count`, `initialDelay`,
 * `failureLimit`, `consecutiveErrorLimit`, `inconclusiveLimit`, `dryRun`; see argo-rollouts
 * `pkg/apis/rollouts/v1alpha1/analysis_types.go`), spelled in kebab-case, and Kayenta's
 * `lookback` for the trailing window of pooled counts. Every mistake is a {@link ConfigError}
 * carrying the criteria file and line.
 *
 * **`failure-limit` differs from Argo's `failureLimit`.** Here it counts *consecutive* failed
 * measurements of one metric: the gate fails on failure number `failure-limit + 1` in a row,
 * and a successful measurement resets the count. Argo Rollouts' `failureLimit` counts *total*
 * failed measurements over the whole analysis (a success does not reset it). The same
 * criteria file is therefore more tolerant of isolated failures here than in Argo; with
 * `failure-limit: 0` both fail on the first failed measurement. `consecutive-error-limit` and
 * `inconclusive-limit` count consecutive measurements as in Argo.
 *
 * ```yaml
 * provider: prometheus
 * interval: 1m
 * duration: 30m
 * failure-limit: 2
 * metrics:
 *   - name: error-rate
 *     numerator: sum(increase(http_requests_total{code=~"5..",tenant=~"{{tenants}}"}[{{interval}}]))
 *     denominator: sum(increase(http_requests_total{tenant=~"{{tenants}}"}[{{interval}}]))
 *     condition: "< 1%"
 *     unit: ratio
 * ```
 */
import { loadYaml, parseDuration, parseYaml, type LoadedYaml } from '../config/load.js';
import { ConfigError, type SourceLocation } from '../errors.js';
import { parseCondition, type Condition } from './conditions.js';
import {
  criteriaSchema,
  type CriteriaFile,
  type NoDataPolicy,
  type ProviderName,
  type Unit,
} from './schema.js';
import { renderTemplate, type TemplateVariables } from './templates.js';

export {
  PROVIDERS,
  NO_DATA_POLICIES,
  UNITS,
  criteriaSchema,
  type ProviderName,
  type NoDataPolicy,
  type Unit,
  type CriteriaFile,
} from './schema.js';
export { parseCondition, holds, type Condition, type Operator } from './conditions.js';
export { renderTemplate, type TemplateVariables, type QueryDialect } from './templates.js';

/** Default trailing window of a rate's second test, in intervals (`lookback` not given). */
export const DEFAULT_LOOKBACK_INTERVALS = 5;

/** One metric of the criteria, with its queries rendered (template variables filled). */
export interface MetricCriteria {
  name: string;
  provider: Exclude<ProviderName, 'replay'>;
  /** The value query (absent for a count-based rate). */
  query?: string;
  /** Count queries: errors and requests per interval; the value is numerator / denominator. */
  numerator?: string;
  denominator?: string;
  /** Query whose value is the stable version's, for baseline-relative conditions. */
  baseline?: string;
  /** Threshold and operator, already converted to `unit`. */
  condition: Condition;
  /**
   * Unit of the query's value and of the threshold: `ratio` (0..1, so 1% = 0.01), `percent`
   * (0..100), `seconds`, `milliseconds`, `count` or `none`. Count-based rates are ratios.
   */
  unit: Unit;
  noData: NoDataPolicy;
  /** Minimum pooled denominator (a count of requests) before a count-based rate is judged. */
  minSample: number;
  /**
   * Count metrics: the trailing window, in measurements (this one included), tested besides
   * the counts pooled since the start (from `lookback` / deprecated `pool`, rounded to whole
   * intervals; default {@link DEFAULT_LOOKBACK_INTERVALS}); undefined = `lookback: all`.
   */
  lookbackIntervals?: number;
  /**
   * No series (or no value) for the numerator means zero events instead of no data; the gate
   * still checks that the selector's label names exist.
   */
  absentIsZero: boolean;
  /**
   * Confidence in 0.5..1, e.g. 0.99: a healthy rate fails with probability at most
   * `1 − confidence` over all the gate's looks.
   */
  confidence: number;
  /** Measured and reported, never affects the verdict. */
  dryRun: boolean;
  /** Where the metric is in the criteria file. */
  location: SourceLocation;
}

/** Criteria ready to run: durations in milliseconds, queries rendered. */
export interface Criteria {
  file: string;
  provider: Exclude<ProviderName, 'replay'>;
  /** Milliseconds between measurements. */
  intervalMs: number;
  /** Number of measurements that must hold for a pass (from `count`, or `duration / interval`). */
  count: number;
  /** Milliseconds to wait before the first measurement window starts. */
  initialDelayMs: number;
  /**
   * Milliseconds a window's data may arrive late (`query-delay`): live mode queries a window
   * this long after it ended; a backtest without an explicit end ends this long before now.
   */
  queryDelayMs: number;
  /**
   * Consecutive failed measurements of one metric tolerated; the gate fails when a metric's
   * run of failures exceeds it. Not Argo Rollouts' `failureLimit`, which counts total failures.
   */
  failureLimit: number;
  /** Consecutive provider errors of one metric tolerated before the gate is inconclusive. */
  consecutiveErrorLimit: number;
  /** Consecutive inconclusive (no-data) measurements of one metric tolerated. */
  inconclusiveLimit: number;
  datadogApi: 'v1' | 'v2';
  /** Datadog site from the file (`datadog.site`), used when no site input is given. */
  datadogSite?: string;
  metrics: MetricCriteria[];
  /** Deprecated keys the file used, with their file and line, for the caller to warn about. */
  deprecations?: { message: string; location: SourceLocation }[];
}

/** Overrides given by action inputs or CLI flags. */
export interface CriteriaOverrides {
  /** Milliseconds. */
  intervalMs?: number;
  /** Milliseconds. */
  durationMs?: number;
}

function tenantsOf(v: string[] | string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : v.split(/[\s,]+/);
  return list.map((s) => s.trim()).filter(Boolean);
}

/**
 * Turns a validated criteria document into {@link Criteria}: durations to milliseconds,
 * conditions parsed, template variables filled (inputs win over the file's `variables`).
 * @throws ConfigError with file and line for any semantic mistake
 */
export function resolveCriteria(
  loaded: LoadedYaml<CriteriaFile>,
  variables: TemplateVariables = {},
  overrides: CriteriaOverrides = {},
  input = 'criteria',
): Criteria {
  const doc = loaded.value;
  const fail = (path: (string | number)[], message: string): never => {
    throw new ConfigError(message, loaded.locate(path), input);
  };
  const durAt = (v: string | number, path: (string | number)[]): number => {
    try {
      return parseDuration(v, path.join('.'));
    } catch (e) {
      return fail(path, (e as Error).message);
    }
  };
  const dur = (v: string | number, key: string): number => durAt(v, [key]);
  const intervalMs = overrides.intervalMs ?? dur(doc.interval, 'interval');
  if (intervalMs < 1000) fail(['interval'], `interval must be at least 1s`);
  let count: number;
  if (overrides.durationMs !== undefined)
    count = Math.max(1, Math.ceil(overrides.durationMs / intervalMs));
  else if (doc.count !== undefined) count = doc.count;
  else if (doc.duration !== undefined) {
    count = Math.max(1, Math.ceil(dur(doc.duration, 'duration') / intervalMs));
  } else {
    return fail(
      [],
      'give either duration (how long every criterion must hold) or count (measurements)',
    );
  }
  const vars: TemplateVariables = {
    service: variables.service || doc.variables.service,
    env: variables.env || doc.variables.env,
    tenants: variables.tenants?.length ? variables.tenants : tenantsOf(doc.variables.tenants),
  };
  const names = new Set<string>();
  const deprecations: NonNullable<Criteria['deprecations']> = [];
  const metrics = doc.metrics.map((m, i): MetricCriteria => {
    const at = (key: string) => ['metrics', i, key];
    if (names.has(m.name)) fail(at('name'), `metric name '${m.name}' is used twice`);
    if (m.pool !== undefined) {
      if (m.lookback !== undefined) fail(at('pool'), 'give lookback only (pool is its old name)');
      deprecations.push({
        message: `metric '${m.name}': 'pool' is deprecated; write 'lookback' (same meaning)`,
        location: loaded.locate(at('pool')),
      });
    }
    const lookback = m.lookback ?? m.pool;
    const lookbackKey = m.lookback !== undefined ? 'lookback' : 'pool';
    names.add(m.name);
    const counts = m.numerator !== undefined || m.denominator !== undefined;
    if (counts && (m.numerator === undefined || m.denominator === undefined)) {
      fail(at(m.numerator ? 'numerator' : 'denominator'), 'give both numerator and denominator');
    }
    if (counts && m.query !== undefined) {
      fail(at('query'), 'give either query or numerator/denominator, not both');
    }
    if (!counts && m.query === undefined) {
      fail(['metrics', i], 'give a query, or numerator and denominator count queries');
    }
    if (counts && m.unit !== 'ratio' && m.unit !== 'none') {
      fail(
        at('unit'),
        `numerator / denominator is a ratio (0..1): write unit: ratio (conditions like "< 1%" are converted), not ${m.unit}`,
      );
    }
    let condition: Condition;
    try {
      condition = parseCondition(m.condition, m.unit);
    } catch (e) {
      return fail(at('condition'), (e as Error).message);
    }
    if (condition.relative && !m.baseline) {
      fail(
        at('condition'),
        `condition '${m.condition}' refers to the baseline but no baseline query is given`,
      );
    }
    if (m.baseline && !condition.relative) {
      fail(
        at('baseline'),
        `a baseline query is given but condition '${m.condition}' does not use it (write e.g. "<= baseline * 1.5 + 0.001")`,
      );
    }
    const render = (
      key: 'query' | 'numerator' | 'denominator' | 'baseline',
    ): string | undefined => {
      const q = m[key];
      if (q === undefined) return undefined;
      try {
        return renderTemplate(
          q,
          vars,
          intervalMs,
          (m.provider ?? doc.provider) === 'datadog' ? 'datadog' : 'promql',
        );
      } catch (e) {
        return fail(at(key), (e as Error).message);
      }
    };
    return {
      name: m.name,
      provider: m.provider ?? doc.provider,
      query: render('query'),
      numerator: render('numerator'),
      denominator: render('denominator'),
      baseline: render('baseline'),
      condition,
      unit: m.unit,
      noData: m['no-data'],
      minSample: m['min-sample'],
      lookbackIntervals:
        lookback === undefined
          ? DEFAULT_LOOKBACK_INTERVALS
          : lookback === 'all'
            ? undefined
            : Math.max(1, Math.round(durAt(lookback, at(lookbackKey)) / intervalMs)),
      absentIsZero: m['absent-is-zero'],
      confidence: m.confidence,
      dryRun: m['dry-run'],
      location: loaded.locate(['metrics', i]),
    };
  });
  return {
    file: loaded.file,
    provider: doc.provider,
    intervalMs,
    count,
    initialDelayMs: dur(doc['initial-delay'], 'initial-delay'),
    queryDelayMs: dur(doc['query-delay'], 'query-delay'),
    failureLimit: doc['failure-limit'],
    consecutiveErrorLimit: doc['consecutive-error-limit'],
    inconclusiveLimit: doc['inconclusive-limit'],
    datadogApi: doc.datadog.api,
    datadogSite: doc.datadog.site,
    metrics,
    ...(deprecations.length ? { deprecations } : {}),
  };
}

/**
 * Loads and validates a criteria file.
 * @param file - path to the YAML criteria
 * @param variables - template variables from inputs (override the file's `variables`)
 * @param overrides - `interval`/`duration` overrides in milliseconds
 * @throws ConfigError with file and line for unreadable files, bad YAML, schema violations,
 *   unknown template variables and bad conditions
 */
export function loadCriteria(
  file: string,
  variables: TemplateVariables = {},
  overrides: CriteriaOverrides = {},
  input = 'criteria',
): Criteria {
  return resolveCriteria(loadYaml(file, criteriaSchema, input), variables, overrides, input);
}

/** As {@link loadCriteria} for text in memory (`file` names it in errors). */
export function parseCriteria(
  text: string,
  file = 'criteria.yml',
  variables: TemplateVariables = {},
  overrides: CriteriaOverrides = {},
): Criteria {
  return resolveCriteria(parseYaml(text, file, criteriaSchema, 'criteria'), variables, overrides);
}

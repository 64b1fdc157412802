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
import { z } from 'zod';
import { loadYaml, parseDuration, parseYaml, type LoadedYaml } from '../config/load.js';
import { ConfigError, type SourceLocation } from '../errors.js';

/** Where metrics come from. `grafana` runs Prometheus queries through Grafana's datasource proxy. */
export const PROVIDERS = ['datadog', 'prometheus', 'grafana', 'replay'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** What a measurement without data means: never a silent success. */
export const NO_DATA_POLICIES = ['fail', 'inconclusive', 'ignore'] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

/** Units a metric may declare; conditions may then use `%`, `ms` or `s` suffixes. */
export const UNITS = ['none', 'ratio', 'percent', 'seconds', 'milliseconds', 'count'] as const;
export type Unit = (typeof UNITS)[number];

// Unknown keys are reported at their own line (a strict object reports them at the parent's).
function noUnknownKeys<T extends z.ZodRawShape>(shape: T) {
  return z
    .object(shape)
    .catchall(z.unknown())
    .superRefine((obj, ctx) => {
      for (const key of Object.keys(obj)) {
        if (!(key in shape)) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `is not a known key (known: ${Object.keys(shape).join(', ')})`,
          });
        }
      }
    });
}
const duration = z.union([z.string(), z.number()]);
const positiveInt = z.number().int().min(0);

const metricSchema = noUnknownKeys({
  name: z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'use letters, digits, ".", "_" or "-"'),
  provider: z.enum(['datadog', 'prometheus', 'grafana']).optional(),
  query: z.string().min(1).optional(),
  numerator: z.string().min(1).optional(),
  denominator: z.string().min(1).optional(),
  baseline: z.string().min(1).optional(),
  condition: z.string().min(1),
  unit: z.enum(UNITS).default('none'),
  'no-data': z.enum(NO_DATA_POLICIES).default('inconclusive'),
  'min-sample': z.number().min(0).default(100),
  lookback: duration.optional(),
  /** @deprecated Old name of `lookback`; still parsed, with a warning. */
  pool: duration.optional(),
  confidence: z.number().gt(0.5).lt(1).default(0.99),
  'dry-run': z.boolean().default(false),
  description: z.string().optional(),
});

/**
 * The criteria file as written (after defaults). Durations are strings such as `30s`, `1m`,
 * `2h` (see `parseDuration`) or bare numbers of seconds.
 *
 * Top-level keys:
 * - `provider`: default provider of every metric (`datadog`, `prometheus`, `grafana`).
 * - `interval` (duration, default `1m`): time between measurements; also each measurement's
 *   window (`{{interval}}`).
 * - `duration` (duration) or `count` (measurements): how long every criterion must hold for a
 *   pass; `count = ceil(duration / interval)`.
 * - `initial-delay` (duration, default `0s`): wait before the first measurement window starts
 *   (Argo `initialDelay`).
 * - `query-delay` (duration, default `0s`): live mode measures each window only this long
 *   after it ended, and a backtest without `end` ends this long before now — for providers
 *   whose data arrives late (Datadog ingestion lag). The measurement still stands for the
 *   window's end.
 * - `failure-limit` (integer, default 0): **consecutive** failed measurements of one metric
 *   tolerated; the gate fails on the next one in a row. Unlike Argo Rollouts' `failureLimit`,
 *   which counts the *total* failed measurements of the analysis, a successful measurement
 *   resets this count.
 * - `consecutive-error-limit` (integer, default 4): consecutive provider errors tolerated
 *   before the gate is inconclusive (as Argo's `consecutiveErrorLimit`).
 * - `inconclusive-limit` (integer, default 0): consecutive inconclusive (no-data)
 *   measurements tolerated before the gate is inconclusive.
 * - `datadog`: `api` (`v1` = GET /api/v1/query, `v2` = POST /api/v2/query/timeseries) and `site`.
 * - `variables`: defaults for `{{service}}`, `{{env}}`, `{{tenants}}`.
 * - `metrics`: see the metric keys below.
 *
 * Metric keys: `name`, `provider`, `query` or `numerator` + `denominator` (count queries per
 * interval), `baseline`, `condition` (e.g. `< 1%`, `<= 500ms`), `unit` (`ratio` = 0..1,
 * `percent` = 0..100, `seconds`, `milliseconds`, `count`, `none`), `no-data`, `min-sample`
 * (requests, i.e. pooled denominator, before a rate is judged), `lookback` (duration: pool
 * counts over this trailing window instead of the whole canary; Kayenta's "lookback"; the
 * deprecated alias `pool` still parses), `confidence` (one-sided, 0.5..1), `dry-run`,
 * `description`.
 */
export const criteriaSchema = noUnknownKeys({
  provider: z.enum(['datadog', 'prometheus', 'grafana']).default('prometheus'),
  interval: duration.default('1m'),
  duration: duration.optional(),
  count: z.number().int().min(1).optional(),
  'initial-delay': duration.default(0),
  'query-delay': duration.default(0),
  /** Consecutive failed measurements tolerated (NOT Argo's total-failures `failureLimit`). */
  'failure-limit': positiveInt.default(0),
  'consecutive-error-limit': positiveInt.default(4),
  'inconclusive-limit': positiveInt.default(0),
  datadog: z
    .object({ api: z.enum(['v1', 'v2']).default('v2'), site: z.string().optional() })
    .strict()
    .default({ api: 'v2' }),
  variables: z
    .object({
      service: z.string().optional(),
      env: z.string().optional(),
      tenants: z.union([z.array(z.string()), z.string()]).optional(),
    })
    .strict()
    .default({}),
  metrics: z.array(metricSchema).min(1),
});

export type CriteriaFile = z.infer<typeof criteriaSchema>;

/** Comparison operators a condition may use. */
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/**
 * A parsed condition. The measured value passes when `value <op> threshold`, where
 * `threshold = baseline × factor + offset` for a baseline-relative condition and the constant
 * `threshold` otherwise (already converted to the metric's unit).
 */
export interface Condition {
  op: Operator;
  /** Constant threshold in the metric's unit (absent when relative to the baseline). */
  threshold?: number;
  /** Baseline-relative: `baseline × factor + offset`. */
  relative?: { factor: number; offset: number };
  /** The condition as written, for reports. */
  text: string;
}

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
   * Count metrics: pool counts over the trailing this-many measurements, this one included
   * (from `lookback` / deprecated `pool`, rounded to whole intervals); undefined = pool every
   * measurement since the first.
   */
  lookbackIntervals?: number;
  /** One-sided confidence level of the Wilson bound (a probability in 0.5..1), e.g. 0.99. */
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

/** Values for the `{{tenants}}`, `{{service}}` and `{{env}}` template variables. */
export interface TemplateVariables {
  tenants?: string[];
  service?: string;
  env?: string;
}

/** Overrides given by action inputs or CLI flags. */
export interface CriteriaOverrides {
  /** Milliseconds. */
  intervalMs?: number;
  /** Milliseconds. */
  durationMs?: number;
}

const CONDITION_RE =
  /^\s*(<=|>=|==|!=|<|>)\s*(?:(baseline)\s*(?:\*\s*([0-9.eE+-]+))?\s*(?:([+-])\s*([0-9.eE+-]+)\s*(%|ms|s)?)?|([+-]?[0-9.]+(?:[eE][+-]?\d+)?)\s*(%|ms|s)?)\s*$/;

function convert(n: number, suffix: string | undefined, unit: Unit, text: string): number {
  if (!suffix) return n;
  if (suffix === '%') {
    if (unit === 'ratio') return n / 100;
    if (unit === 'percent') return n;
    throw new Error(
      `'${text}' uses % but the metric's unit is '${unit}' (state unit: ratio or percent)`,
    );
  }
  const ms = suffix === 'ms' ? n : n * 1000;
  if (unit === 'seconds') return ms / 1000;
  if (unit === 'milliseconds') return ms;
  throw new Error(
    `'${text}' uses ${suffix} but the metric's unit is '${unit}' (state unit: seconds or milliseconds)`,
  );
}

/**
 * Parses a condition such as `< 0.01`, `< 1%`, `<= 500ms`, `== 0` or `<= baseline * 1.5 + 0.001`.
 * Suffixes `%`, `ms`, `s` are converted to the metric's `unit`.
 * @throws Error with a message naming the condition (the loader adds file and line)
 */
export function parseCondition(text: string, unit: Unit = 'none'): Condition {
  const m = CONDITION_RE.exec(text);
  if (!m) {
    throw new Error(
      `condition '${text}' is not understood (write e.g. "< 0.01", "< 1%", "<= 500ms", "== 0", "<= baseline * 1.5 + 0.001")`,
    );
  }
  const op = m[1] as Operator;
  if (m[2]) {
    const factor = m[3] !== undefined ? Number(m[3]) : 1;
    let offset = m[5] !== undefined ? convert(Number(m[5]), m[6], unit, text) : 0;
    if (m[4] === '-') offset = -offset;
    if (!Number.isFinite(factor) || !Number.isFinite(offset)) {
      throw new Error(`condition '${text}' has a number that is not finite`);
    }
    return { op, relative: { factor, offset }, text: text.trim() };
  }
  const n = Number(m[7]);
  if (!Number.isFinite(n)) throw new Error(`condition '${text}' has a number that is not finite`);
  return { op, threshold: convert(n, m[8], unit, text), text: text.trim() };
}

/** True when `value <op> threshold` holds. */
export function holds(op: Operator, value: number, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

const VAR_RE = /\{\{\s*([a-z_]+)(?::([a-z]+))?\s*\}\}/g;

/**
 * Fills template variables in a query. `{{tenants}}` renders as a regex alternation
 * (`tn-4582|tn-9014`, for PromQL `=~`), `{{tenants:csv}}` as `tn-4582,tn-9014` (Datadog
 * `tenant IN (...)`), `{{tenants:or}}` as `tn-4582 OR tn-9014`; `{{service}}`, `{{env}}`;
 * `{{interval}}` as a PromQL duration (`60s`) and `{{interval_seconds}}` as a number.
 * @throws Error naming an unknown or unset variable
 */
export function renderTemplate(text: string, vars: TemplateVariables, intervalMs: number): string {
  return text.replace(VAR_RE, (_all, name: string, format?: string) => {
    switch (name) {
      case 'tenants': {
        if (!vars.tenants || vars.tenants.length === 0) {
          throw new Error(`{{tenants}} is used but no tenants were given (input 'tenants')`);
        }
        if (!format || format === 'regex') return vars.tenants.join('|');
        if (format === 'csv') return vars.tenants.join(',');
        if (format === 'or') return vars.tenants.join(' OR ');
        throw new Error(`unknown format '{{tenants:${format}}}' (use regex, csv or or)`);
      }
      case 'service':
      case 'env': {
        const v = vars[name];
        if (!v) throw new Error(`{{${name}}} is used but no ${name} was given (input '${name}')`);
        return v;
      }
      case 'interval':
        return `${Math.round(intervalMs / 1000)}s`;
      case 'interval_seconds':
        return String(Math.round(intervalMs / 1000));
      default:
        throw new Error(
          `unknown template variable {{${name}}} (known: tenants, service, env, interval, interval_seconds)`,
        );
    }
  });
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
        return renderTemplate(q, vars, intervalMs);
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
          ? undefined
          : Math.max(1, Math.round(durAt(lookback, at(lookbackKey)) / intervalMs)),
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

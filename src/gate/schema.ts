/**
 * The criteria file's schema (zod): every key, its type and default. The loader in
 * `criteria.ts` turns a document that passes it into runnable {@link Criteria}; see there for
 * what each key means. Unknown keys are reported at their own line.
 */
import { z } from 'zod';

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
  'absent-is-zero': z.boolean().default(false),
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
 * (requests, i.e. pooled denominator, before a rate is judged), `lookback` (duration, default
 * 5 intervals: the trailing window a rate is also tested over, so a late regression is not
 * diluted by the healthy minutes before it; `all` tests the counts pooled since the start
 * only; the deprecated alias `pool` still parses), `absent-is-zero` (default false: a
 * numerator whose selector matches no series makes the gate inconclusive with "query matches
 * no series"; true: no series means zero events, as for an error counter that appears with the
 * first error — the selector's label names are still checked), `confidence` (0.5..1: the gate
 * fails a healthy canary with probability at most `1 − confidence` over all its looks),
 * `dry-run`, `description`.
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

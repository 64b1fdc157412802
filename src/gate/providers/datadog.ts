/**
 * Datadog provider through the official `@datadog/datadog-api-client`, imported lazily (it is
 * ~11 MB) the first time a Datadog metric is measured.
 *
 * - v1 `MetricsApi.queryMetrics` — `GET /api/v1/query?from=&to=&query=` (Unix seconds);
 *   the response's `series[].pointlist` holds `[milliseconds, value | null]` pairs
 *   (docs.datadoghq.com/api/latest/metrics/#query-timeseries-points).
 * - v2 `MetricsApi.queryTimeseriesData` — `POST /api/v2/query/timeseries` with
 *   `data.attributes {from, to, interval}` in milliseconds, `queries` and `formulas`; the
 *   response's `data.attributes.times[]` and `values[formula][]` (nullable)
 *   (docs.datadoghq.com/api/latest/metrics/#query-timeseries-data-across-multiple-products).
 *
 * A null point is missing data, never zero. The measured value at time t is the last non-null
 * point of the window `(t - interval, t]`, so write counts as e.g.
 * `sum:trace.http.request.errors{service:{{service}}}.as_count().rollup(sum, {{interval_seconds}})`.
 * Rate limits: HTTP 429 is retried after `X-RateLimit-Reset` seconds (see `http.ts`). A 403
 * (bad API or application key) stops the gate with a clear error that never contains the keys.
 */
import { redactor } from '../../redact.js';
import { ConfigError } from '../../errors.js';
import { fetchWithBackoff } from './http.js';
import {
  alignToSteps,
  ProviderError,
  sampleValue,
  type MetricsProvider,
  type Point,
  type ProviderContext,
  type QueryRef,
} from './types.js';

/** Datadog connection options. */
export interface DatadogOptions {
  /** API key (secret). */
  apiKey: string;
  /** Application key (secret). */
  appKey: string;
  /** Datadog site, e.g. `datadoghq.com` (default) or `datadoghq.eu`. */
  site?: string;
  /** Which metrics query API to call (default v2). */
  api?: 'v1' | 'v2';
  /** Full base URL overriding `site` (e.g. a local fake: `http://127.0.0.1:8126`). */
  baseUrl?: string;
}

const SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'uk1.datadoghq.com',
  'ddog-gov.com',
  'us2.ddog-gov.com',
];

/** Creates the Datadog provider; the client library loads on first use. @throws ConfigError for missing keys or an unknown site */
export function datadogProvider(options: DatadogOptions, ctx: ProviderContext): MetricsProvider {
  if (!options.apiKey)
    throw new ConfigError('is required for the datadog provider', undefined, 'datadog-api-key');
  if (!options.appKey)
    throw new ConfigError('is required for the datadog provider', undefined, 'datadog-app-key');
  const site = options.site || 'datadoghq.com';
  if (!options.baseUrl && !SITES.includes(site)) {
    throw new ConfigError(
      `unknown Datadog site '${site}' (known: ${SITES.join(', ')})`,
      undefined,
      'datadog-site',
    );
  }
  const api = options.api ?? 'v2';
  // Error bodies and client messages are outside text: they may echo a key.
  const redact = redactor([options.apiKey, options.appKey]);
  type Apis = {
    v1: { queryMetrics(p: { from: number; to: number; query: string }): Promise<any> };
    v2: { queryTimeseriesData(p: { body: any }): Promise<any> };
  };
  let apis: Promise<Apis> | undefined;
  const load = (): Promise<Apis> =>
    (apis ??= (async () => {
      ctx.logger.debug('loading @datadog/datadog-api-client');
      const mod = await import('@datadog/datadog-api-client');
      const { client, v1, v2, logger: ddLogger } = (mod as any).default ?? mod;
      // The client logs failed requests itself; the gate reports them as measurement errors.
      if (!process.env.DEBUG) ddLogger?.setLevel?.('silent');
      const configuration = client.createConfiguration({
        authMethods: { apiKeyAuth: options.apiKey, appKeyAuth: options.appKey },
        fetch: fetchWithBackoff(ctx, 'datadog'),
        enableRetry: false,
        ...(options.baseUrl
          ? {
              baseServer: new client.BaseServerConfiguration(
                options.baseUrl.replace(/\/+$/, ''),
                {},
              ),
            }
          : {}),
      });
      if (!options.baseUrl) client.setServerVariables(configuration, { site });
      return { v1: new v1.MetricsApi(configuration), v2: new v2.MetricsApi(configuration) };
    })());

  const where = options.baseUrl ? new URL(options.baseUrl).host : `api.${site}`;
  async function call<T>(ref: QueryRef, fn: (a: Apis) => Promise<T>): Promise<T> {
    const a = await load();
    try {
      return await fn(a);
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 401 || code === 403) {
        throw new ConfigError(
          `Datadog (${where}) rejected the API or application key (HTTP ${code}); check the datadog-api-key and datadog-app-key secrets and datadog-site`,
          undefined,
          'datadog-api-key',
        );
      }
      const body = (e as { body?: { errors?: string[] } }).body;
      const detail = Array.isArray(body?.errors) ? `: ${redact(body.errors.join('; '))}` : '';
      if (typeof code === 'number') {
        throw new ProviderError(
          `datadog ${api}: HTTP ${code} for ${ref.metric} (${ref.role})${detail}`,
          code,
        );
      }
      throw new ProviderError(
        `datadog ${api}: request for ${ref.metric} failed: ${redact((e as Error).message)}`,
      );
    }
  }

  async function points(
    ref: QueryRef,
    fromMs: number,
    toMs: number,
    stepMs: number,
  ): Promise<Point[]> {
    if (api === 'v1') {
      const resp = await call(ref, (a) =>
        a.v1.queryMetrics({
          from: Math.floor(fromMs / 1000),
          to: Math.ceil(toMs / 1000),
          query: ref.query,
        }),
      );
      if (resp.status && resp.status !== 'ok') {
        throw new ProviderError(
          `datadog v1: query for ${ref.metric} answered status '${resp.status}': ${resp.error ?? ''}`,
        );
      }
      const series: { pointlist?: [number, number | null][] }[] = resp.series ?? [];
      if (series.length > 1) {
        throw new ProviderError(
          `datadog v1: query for ${ref.metric} returned ${series.length} series; aggregate it so it returns one`,
        );
      }
      return (series[0]?.pointlist ?? []).map(([t, v]) => ({ t, v: sampleValue(v) }));
    }
    const resp = await call(ref, (a) =>
      a.v2.queryTimeseriesData({
        body: {
          data: {
            type: 'timeseries_request',
            attributes: {
              from: fromMs,
              to: toMs,
              interval: stepMs,
              queries: [{ dataSource: 'metrics', query: ref.query, name: 'q' }],
              formulas: [{ formula: 'q' }],
            },
          },
        },
      }),
    );
    const attrs = resp.data?.attributes ?? {};
    const times: number[] = attrs.times ?? [];
    const values: (number | null)[][] = attrs.values ?? [];
    if (values.length > 1) {
      throw new ProviderError(
        `datadog v2: query for ${ref.metric} returned ${values.length} series; aggregate it so it returns one`,
      );
    }
    const row = values[0] ?? [];
    return times.map((t, i) => ({ t, v: sampleValue(row[i]) }));
  }

  return {
    name: `datadog-${api}`,
    async instant(ref, atMs, intervalMs) {
      const pts = await points(ref, atMs - intervalMs, atMs, intervalMs);
      const aligned = alignToSteps(pts, atMs, atMs, intervalMs);
      return aligned[0].v;
    },
    async range(ref, startMs, endMs, stepMs) {
      const pts = await points(ref, startMs - stepMs, endMs, stepMs);
      return alignToSteps(pts, startMs, endMs, stepMs);
    },
  };
}

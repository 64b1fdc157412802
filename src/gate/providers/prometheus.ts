/**
 * Prometheus HTTP API provider (prometheus.io/docs/prometheus/latest/querying/api):
 * `GET /api/v1/query?query=&time=` for live measurements and
 * `GET /api/v1/query_range?query=&start=&end=&step=` for backtests. Times are Unix seconds.
 *
 * An empty vector, a `NaN` sample or a missing step is no data. A query that returns more
 * than one series is an error: aggregate it (`sum(...)`, `max(...)`) so one number is judged.
 * Bearer (`token`) or basic (`username`/`password`) authentication; the same client serves
 * Grafana's datasource proxy (see `grafana.ts`).
 */
import { ConfigError } from '../../errors.js';
import { redactor } from '../../redact.js';
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

/** Connection options for a Prometheus-compatible query API. */
export interface PrometheusOptions {
  /** Base URL, e.g. `http://prometheus:9090` (the `/api/v1/...` paths are appended). */
  url: string;
  /** Bearer token (secret). */
  token?: string;
  username?: string;
  /** Basic-auth password (secret). */
  password?: string;
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Names the provider in messages (`prometheus` or `grafana`). */
  label?: string;
  /** The input that holds the credentials, named in an authentication error. */
  credentialInput?: string;
  /** The input that holds the URL, named in a URL error. */
  urlInput?: string;
}

interface ApiResponse {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: {
    resultType: 'vector' | 'matrix' | 'scalar' | 'string';
    result: unknown;
  };
}

/** Creates a Prometheus provider. @throws ConfigError for a URL that does not parse */
export function prometheusProvider(
  options: PrometheusOptions,
  ctx: ProviderContext,
): MetricsProvider {
  const label = options.label ?? 'prometheus';
  // Server and network error text is outside text: it may echo the token or the password.
  const redact = redactor([options.token, options.password]);
  let base: URL;
  try {
    base = new URL(options.url.endsWith('/') ? options.url : options.url + '/');
  } catch {
    throw new ConfigError(
      `'${redact(options.url)}' is not a URL`,
      undefined,
      options.urlInput ?? 'prometheus-url',
    );
  }
  if (base.username || base.password) {
    throw new ConfigError(
      'put credentials in the token or username/password inputs, not in the URL',
      undefined,
      options.urlInput ?? 'prometheus-url',
    );
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  else if (options.username || options.password) {
    headers.authorization = `Basic ${Buffer.from(`${options.username ?? ''}:${options.password ?? ''}`).toString('base64')}`;
  }
  const doFetch = fetchWithBackoff(ctx, label);

  async function get(path: string, params: Record<string, string>): Promise<ApiResponse['data']> {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let resp: Response;
    try {
      resp = await doFetch(url, {
        headers,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new ProviderError(
        `${label}: request to ${base.origin} failed: ${redact((e as Error).message)}`,
      );
    }
    const text = await resp.text();
    if (resp.status === 401 || resp.status === 403) {
      throw new ConfigError(
        `${label} at ${base.origin} rejected the credentials (HTTP ${resp.status})`,
        undefined,
        options.credentialInput,
      );
    }
    let body: ApiResponse | undefined;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      body = undefined;
    }
    if (resp.status === 400 && body?.status === 'error') {
      throw new ProviderError(
        redact(`${label}: query rejected (${body.errorType}): ${body.error}`),
        400,
      );
    }
    if (!resp.ok || !body || body.status !== 'success' || !body.data) {
      throw new ProviderError(
        redact(
          `${label}: HTTP ${resp.status} from ${url.pathname}${body?.error ? `: ${body.error}` : ''}`,
        ),
        resp.status,
      );
    }
    return body.data;
  }

  function single<T>(ref: QueryRef, result: T[]): T | undefined {
    if (result.length > 1) {
      throw new ProviderError(
        `${label}: query for ${ref.metric} (${ref.role}) returned ${result.length} series; aggregate it (sum/max) so it returns one`,
      );
    }
    return result[0];
  }

  return {
    name: label,
    async instant(ref, atMs) {
      const data = await get('api/v1/query', { query: ref.query, time: (atMs / 1000).toFixed(3) });
      if (data!.resultType === 'scalar') return sampleValue((data!.result as [number, string])[1]);
      if (data!.resultType !== 'vector') {
        throw new ProviderError(
          `${label}: query for ${ref.metric} returned a ${data!.resultType}, expected a vector`,
        );
      }
      const s = single(ref, data!.result as { value: [number, string] }[]);
      return s ? sampleValue(s.value[1]) : null;
    },
    async range(ref, startMs, endMs, stepMs) {
      const data = await get('api/v1/query_range', {
        query: ref.query,
        start: (startMs / 1000).toFixed(3),
        end: (endMs / 1000).toFixed(3),
        step: `${stepMs / 1000}`,
      });
      if (data!.resultType !== 'matrix') {
        throw new ProviderError(
          `${label}: range query for ${ref.metric} returned a ${data!.resultType}, expected a matrix`,
        );
      }
      const s = single(ref, data!.result as { values: [number, string][] }[]);
      const points: Point[] = (s?.values ?? []).map(([t, v]) => ({
        t: Math.round(t * 1000),
        v: sampleValue(v),
      }));
      return alignToSteps(points, startMs, endMs, stepMs);
    },
    // GET /api/v1/series?match[]=&start=&end= lists the matching series' label sets;
    // GET /api/v1/labels?match[]=&start=&end= the label names of the matching series.
    async series(selector, startMs, endMs) {
      const data = await get('api/v1/series', {
        'match[]': selector,
        start: (startMs / 1000).toFixed(3),
        end: (endMs / 1000).toFixed(3),
      });
      return Array.isArray(data) ? data.length : 0;
    },
    async labelNames(metricName, startMs, endMs) {
      const data = await get('api/v1/labels', {
        'match[]': `{__name__=${JSON.stringify(metricName)}}`,
        start: (startMs / 1000).toFixed(3),
        end: (endMs / 1000).toFixed(3),
      });
      return Array.isArray(data) ? data.filter((x): x is string => typeof x === 'string') : [];
    },
  };
}

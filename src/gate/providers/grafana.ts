/**
 * Grafana provider: Prometheus queries sent through Grafana's datasource proxy,
 * `GET <grafana>/api/datasources/proxy/uid/<uid>/api/v1/query[_range]`, authenticated with a
 * service-account token as a bearer token (grafana.com/docs/grafana/latest/developers/http_api/
 * data_source/ "Data source proxy calls", and .../administration/service-accounts).
 */
import { ConfigError } from '../../errors.js';
import { prometheusProvider } from './prometheus.js';
import type { MetricsProvider, ProviderContext } from './types.js';

/** Grafana connection options. */
export interface GrafanaOptions {
  /** Grafana base URL, e.g. `https://grafana.example.com`. */
  url: string;
  /** Service-account token (secret). */
  token: string;
  /** UID of the Prometheus data source. */
  datasourceUid: string;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
}

/** Creates the Grafana provider. @throws ConfigError when the URL, token or data source UID is missing */
export function grafanaProvider(options: GrafanaOptions, ctx: ProviderContext): MetricsProvider {
  if (!options.url)
    throw new ConfigError('is required for the grafana provider', undefined, 'grafana-url');
  if (!options.token)
    throw new ConfigError('is required for the grafana provider', undefined, 'grafana-token');
  if (!/^[\w-]+$/.test(options.datasourceUid ?? '')) {
    throw new ConfigError(
      `'${options.datasourceUid ?? ''}' is not a data source UID (letters, digits, - and _)`,
      undefined,
      'grafana-datasource-uid',
    );
  }
  const base = options.url.replace(/\/+$/, '');
  return prometheusProvider(
    {
      url: `${base}/api/datasources/proxy/uid/${options.datasourceUid}/`,
      token: options.token,
      timeoutMs: options.timeoutMs,
      label: 'grafana',
      credentialInput: 'grafana-token',
      urlInput: 'grafana-url',
    },
    ctx,
  );
}

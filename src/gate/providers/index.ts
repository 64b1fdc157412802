/**
 * The provider factory: builds the metrics provider a metric names, loading each provider's
 * client code only when a metric uses it (the Datadog client alone is ~11 MB).
 */
import { ConfigError, type Logger } from '../../errors.js';
import type { MetricCriteria, ProviderName } from '../criteria.js';
import type { GateResult } from '../measurements.js';
import type { DatadogOptions } from './datadog.js';
import type { GrafanaOptions } from './grafana.js';
import type { PrometheusOptions } from './prometheus.js';
import type { MetricsProvider, ProviderContext } from './types.js';

/** Everything a provider may need: connection options per provider, and the criteria's defaults. */
export interface ProviderSettings {
  prometheus?: PrometheusOptions;
  grafana?: GrafanaOptions;
  datadog?: DatadogOptions;
  /** From the criteria: Datadog API version and site. */
  datadogApi: 'v1' | 'v2';
  datadogSite?: string;
  /** The recording the `replay` provider serves, and the metrics it is replayed for. */
  recording?: GateResult;
  metrics: MetricCriteria[];
  logger: Logger;
}

/**
 * Creates the provider called `name`.
 * @throws ConfigError when the provider's required options (URL, credentials, recording) are missing
 */
export async function createProvider(
  name: ProviderName,
  settings: ProviderSettings,
  ctx: ProviderContext,
): Promise<MetricsProvider> {
  switch (name) {
    case 'replay':
      if (!settings.recording)
        throw new ConfigError('is required in replay mode', undefined, 'replay-file');
      return (await import('./replay.js')).replayProvider(
        settings.recording,
        settings.logger,
        settings.metrics,
      );
    case 'prometheus':
      if (!settings.prometheus?.url)
        throw new ConfigError(
          'is required for the prometheus provider',
          undefined,
          'prometheus-url',
        );
      return (await import('./prometheus.js')).prometheusProvider(settings.prometheus, ctx);
    case 'grafana':
      return (await import('./grafana.js')).grafanaProvider(
        settings.grafana ?? { url: '', token: '', datasourceUid: '' },
        ctx,
      );
    case 'datadog':
      return (await import('./datadog.js')).datadogProvider(
        {
          api: settings.datadogApi,
          ...(settings.datadog ?? { apiKey: '', appKey: '' }),
          site: settings.datadog?.site || settings.datadogSite,
        },
        ctx,
      );
  }
}

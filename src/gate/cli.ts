/**
 * `runbook gate`: judge a canary from the command line (same engine as the canary-gate action).
 * Secrets come from the environment (DATADOG_API_KEY, DATADOG_APP_KEY, PROMETHEUS_TOKEN,
 * PROMETHEUS_PASSWORD, GRAFANA_TOKEN), never from flags, so they stay out of shell history.
 */
import { durationFlag, listFlag, oneOfFlag, parseFlags, requiredFlag } from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { PROVIDERS } from './criteria.js';
import { renderSummary } from './report.js';
import { MODES, runGate } from './run.js';

const usage = `runbook gate --criteria <file.yml> [options]

  --mode live|backtest|replay   (default live)
  --provider datadog|prometheus|grafana|replay
  --tenants a,b  --service s  --env e
  --prometheus-url URL  --prometheus-username U   (PROMETHEUS_TOKEN / PROMETHEUS_PASSWORD env)
  --grafana-url URL  --grafana-datasource-uid UID (GRAFANA_TOKEN env)
  --datadog-site datadoghq.eu                      (DATADOG_API_KEY / DATADOG_APP_KEY env)
  --replay-file measurements.json
  --start T  --end T     backtest window: RFC 3339 or relative (-30m)
  --interval 1m  --duration 30m  --timeout 45m
  --measurements-file out.json

Exit code: 0 pass, 1 fail or inconclusive, 2 usage error.`;

export const command: CliCommand = {
  name: 'gate',
  summary: 'judge a canary against exit criteria (live, backtest or replay)',
  usage,
  run: async (argv, logger) => {
    const { values: v } = parseFlags(
      argv,
      {
        criteria: { type: 'string' },
        mode: { type: 'string', default: 'live' },
        provider: { type: 'string' },
        tenants: { type: 'string' },
        service: { type: 'string' },
        env: { type: 'string' },
        'prometheus-url': { type: 'string' },
        'prometheus-username': { type: 'string' },
        'grafana-url': { type: 'string' },
        'grafana-datasource-uid': { type: 'string' },
        'datadog-site': { type: 'string' },
        'replay-file': { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        interval: { type: 'string' },
        duration: { type: 'string' },
        timeout: { type: 'string' },
        'measurements-file': { type: 'string' },
        help: { type: 'boolean' },
      },
      usage,
    );
    if (v.help) {
      logger.info(usage);
      return 0;
    }
    const criteria = requiredFlag(v.criteria, '--criteria');
    const mode = oneOfFlag(v.mode, MODES, '--mode');
    const provider = v.provider ? oneOfFlag(v.provider, PROVIDERS, '--provider') : undefined;
    const env = process.env;
    const result = await runGate(
      {
        criteria,
        mode,
        provider,
        variables: {
          tenants: v.tenants === undefined ? undefined : listFlag(v.tenants),
          service: v.service,
          env: v.env,
        },
        overrides: {
          intervalMs: durationFlag(v.interval, '--interval'),
          durationMs: durationFlag(v.duration, '--duration'),
        },
        prometheus: v['prometheus-url']
          ? {
              url: v['prometheus-url'],
              token: env.PROMETHEUS_TOKEN,
              username: v['prometheus-username'],
              password: env.PROMETHEUS_PASSWORD,
            }
          : undefined,
        grafana: v['grafana-url']
          ? {
              url: v['grafana-url'],
              token: env.GRAFANA_TOKEN ?? '',
              datasourceUid: v['grafana-datasource-uid'] ?? '',
            }
          : undefined,
        datadog: {
          apiKey: env.DATADOG_API_KEY ?? '',
          appKey: env.DATADOG_APP_KEY ?? '',
          site: v['datadog-site'] ?? env.DATADOG_SITE,
        },
        replayFile: v['replay-file'],
        start: v.start,
        end: v.end,
        timeoutMs: durationFlag(v.timeout, '--timeout'),
        measurementsFile: v['measurements-file'],
      },
      logger,
    );
    logger.info('\n' + renderSummary(result));
    return result.verdict === 'pass' ? 0 : 1;
  },
};

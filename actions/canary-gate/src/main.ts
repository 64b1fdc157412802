/**
 * canary-gate action: typed inputs → `runGate` → outputs, job summary and annotations.
 * The step fails on a `fail` verdict, and on `inconclusive` as `on-inconclusive` says.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  actionsLogger,
  annotate,
  inputs,
  output,
  runAction,
  summary,
} from '../../../src/github/action.js';
import { loadCriteria, MODES, PROVIDERS, renderSummary, runGate } from '../../../src/gate/index.js';

await runAction(async () => {
  const criteriaFile = inputs.path('criteria', { required: true });
  const mode = inputs.choice('mode', MODES, 'live');
  const provider = inputs.string('provider') ? inputs.choice('provider', PROVIDERS) : undefined;
  const onInconclusive = inputs.choice(
    'on-inconclusive',
    ['fail', 'pass', 'neutral'] as const,
    'fail',
  );
  const datadogApiKey = inputs.secret('datadog-api-key');
  const datadogAppKey = inputs.secret('datadog-app-key');
  const prometheusToken = inputs.secret('prometheus-token');
  const prometheusPassword = inputs.secret('prometheus-password');
  const grafanaToken = inputs.secret('grafana-token');
  const criteria = loadCriteria(
    criteriaFile,
    {
      tenants: inputs.list('tenants'),
      service: inputs.string('service'),
      env: inputs.string('env'),
    },
    {
      intervalMs: inputs.optionalDurationMs('interval'),
      durationMs: inputs.optionalDurationMs('duration'),
    },
  );
  const measurementsFile =
    inputs.path('measurements-file', { kind: 'output' }) ||
    join(
      process.env.RUNNER_TEMP || tmpdir(),
      'canary-gate',
      `measurements-${process.env.GITHUB_RUN_ID ?? 'local'}-${Date.now()}.json`,
    );
  const prometheusUrl = inputs.string('prometheus-url');
  const grafanaUrl = inputs.string('grafana-url');

  const result = await runGate(
    {
      criteria,
      mode,
      provider,
      prometheus: prometheusUrl
        ? {
            url: prometheusUrl,
            token: prometheusToken || undefined,
            username: inputs.string('prometheus-username') || undefined,
            password: prometheusPassword || undefined,
            credentialInput: prometheusToken ? 'prometheus-token' : 'prometheus-password',
          }
        : undefined,
      grafana: grafanaUrl
        ? {
            url: grafanaUrl,
            token: grafanaToken,
            datasourceUid: inputs.string('grafana-datasource-uid'),
          }
        : undefined,
      datadog: {
        apiKey: datadogApiKey,
        appKey: datadogAppKey,
        site: inputs.string('datadog-site') || undefined,
      },
      replayFile: inputs.path('replay-file') || undefined,
      start: inputs.string('start') || undefined,
      end: inputs.string('end') || undefined,
      timeoutMs: inputs.optionalDurationMs('timeout'),
      measurementsFile,
    },
    actionsLogger,
  );

  output('verdict', result.verdict);
  output('reason', result.reason);
  output('measurements-file', measurementsFile);
  output('failed-at', result.failedAt ?? '');
  await summary(renderSummary(result));

  if (result.verdict === 'fail') {
    const failing = result.metrics.filter((m) => m.status === 'failed' && !m.dryRun);
    annotate(
      failing.map((m) => ({
        level: 'error' as const,
        title: `canary-gate: ${m.name} failed`,
        message: m.reason ?? result.reason,
        location: criteria.metrics.find((c) => c.name === m.name)?.location,
      })),
    );
    // Each failing metric has its own annotation with the reason; the step error names them
    // instead of repeating the same text.
    throw new Error(
      failing.length
        ? `canary gate failed at ${result.failedAt}: ${failing.map((m) => m.name).join(', ')} (see the ${failing.length > 1 ? 'annotations' : 'annotation'} at the criteria file and the job summary)`
        : `canary gate failed at ${result.failedAt}: ${result.reason}`,
    );
  }
  if (result.verdict === 'inconclusive') {
    const message = `canary gate inconclusive: ${result.reason}`;
    if (onInconclusive === 'fail') throw new Error(`${message} (on-inconclusive: fail)`);
    annotate([
      {
        level: onInconclusive === 'neutral' ? 'warning' : 'notice',
        message,
        location: { file: criteriaFile },
      },
    ]);
  }
});

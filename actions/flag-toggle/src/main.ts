/**
 * `flag-toggle` action: typed inputs → `toggleFlag` → outputs `previous-state`, `state`,
 * `changed`, and a job summary. See actions/flag-toggle/README.md.
 */
import {
  inputs,
  output,
  runAction,
  summary,
  actionsLogger,
  mask,
} from '../../../src/github/action.js';
import { ConfigError } from '../../../src/errors.js';
import {
  BACKENDS,
  FlagGuardError,
  FlagVerifyError,
  OPERATIONS,
  flagFailureSummary,
  flagSummary,
  toggleFlag,
} from '../../../src/flags/index.js';
import type { HttpApiConfig } from '../../../src/flags/backends/http.js';

function httpApi(): Partial<HttpApiConfig> | undefined {
  const raw = inputs.string('http-api');
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Partial<HttpApiConfig>;
  } catch (e) {
    throw new ConfigError(`not valid JSON: ${(e as Error).message}`, undefined, 'http-api');
  }
}

await runAction(async () => {
  const backend = inputs.choice('backend', BACKENDS, 'postgres');
  const token = inputs.secret('token');
  const databaseUrl =
    backend === 'postgres'
      ? inputs.databaseUrl('database-url', { required: true })
      : inputs.databaseUrl('database-url', { required: false });
  const caCert = backend === 'postgres' ? inputs.caCert('ca-cert') : undefined;
  const tenants = inputs.list('tenants');
  const scopeRaw = inputs.string('scope');
  const scope = scopeRaw ? inputs.choice('scope', ['tenants', 'global'] as const) : undefined;
  const restoreState = inputs.string('restore-state');
  const percentageRaw = inputs.string('percentage').replace(/%$/, '').trim();
  const percentage = percentageRaw === '' ? undefined : Number(percentageRaw);
  if (percentage !== undefined && Number.isNaN(percentage))
    throw new ConfigError(
      `expected a number from 0 to 100, got '${percentageRaw}'`,
      undefined,
      'percentage',
    );
  const result = await toggleFlag(
    {
      backend,
      operation: inputs.choice('operation', OPERATIONS),
      flag: inputs.string('flag'),
      tenants,
      scope,
      percentage,
      plan: inputs.path('plan') || undefined,
      guard: {
        globalMustBe: inputs.choice('global-must-be', ['on', 'off', 'any'] as const, 'any'),
      },
      restoreState: restoreState || undefined,
      reason: inputs.string('reason'),
      dryRun: inputs.bool('dry-run'),
      keyPattern: inputs.string('key-pattern') || undefined,
      tenantPattern: inputs.string('tenant-pattern') || undefined,
      databaseUrl,
      caCert,
      flagTableSchema: inputs.string('flag-table-schema', { default: 'runbook' }),
      baseUrl: inputs.string('base-url') || undefined,
      token: token || undefined,
      environment: inputs.string('environment') || undefined,
      project: inputs.string('project') || undefined,
      contextKind: inputs.string('context-kind', { default: 'tenant' }),
      http: httpApi(),
    },
    actionsLogger,
  ).catch(async (e: unknown) => {
    const failed = flagFailureSummary(inputs.string('operation'), e);
    if (failed) await summary(failed);
    if (e instanceof FlagVerifyError && !e.rolledBack) {
      // The write may be partly applied: give a rollback step what it needs.
      output('previous-state', e.previous);
      output('state', e.actual);
      output('changed', 'true');
    }
    if (e instanceof FlagGuardError && e.previous && e.state && !e.rolledBack) {
      // Violated after the write on a backend without transactions: the write is kept.
      output('previous-state', e.previous);
      output('state', e.state);
      output('changed', 'true');
    }
    throw e;
  });
  if (token) mask(token);
  output('previous-state', result.previousState);
  output('state', result.state);
  output('changed', result.changed ? 'true' : 'false');
  await summary(flagSummary(result));
});

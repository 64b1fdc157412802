/**
 * Backend factory. Each backend module is imported only when used, so the action bundle does
 * not load HTTP clients or `pg` for a backend it does not run.
 */
import { ConfigError, type Logger } from '../../errors.js';
import type { RetryOptions } from '../http.js';
import type { HttpApiConfig } from './http.js';
import { BACKENDS, type BackendName, type FlagBackend } from './types.js';

/** Connection settings for every backend; each backend reads the ones it needs. */
export interface BackendOptions {
  /** postgres: the application's database URL (secret). */
  databaseUrl?: string;
  /** postgres: PEM text of a CA certificate to verify the server's TLS certificate with. */
  caCert?: string;
  /** postgres: schema of the flag tables. Default `runbook`. */
  flagTableSchema?: string;
  /** postgres: `lock_timeout` while waiting for the flag row lock, milliseconds. Default 10000. */
  lockTimeoutMs?: number;
  /** http, launchdarkly, unleash: API base URL (LaunchDarkly default `https://app.launchdarkly.com`). */
  baseUrl?: string;
  /** http, launchdarkly, unleash: API token (secret, never printed). */
  token?: string;
  /** LaunchDarkly environment key, Unleash environment, or the http API's TARGET_ENV. */
  environment?: string;
  /** LaunchDarkly project key / Unleash project id (Unleash default `default`). */
  project?: string;
  /** Unleash: stickiness of the percentage rollout (context field). Default `default`. */
  stickiness?: string;
  /** LaunchDarkly: how long to wait for an approval request's review, milliseconds. Default 1800000. */
  approvalTimeoutMs?: number;
  /** LaunchDarkly: how often to poll an approval request, milliseconds. Default 10000. */
  approvalPollMs?: number;
  /** LaunchDarkly context kind of tenant targets. Default `tenant`. */
  contextKind?: string;
  /** http: request templates (see `backends/http.ts`). */
  http?: Partial<HttpApiConfig>;
  /** Retry settings for the HTTP backends. */
  retry?: RetryOptions;
}

function need(value: string | undefined, input: string, backend: string): string {
  if (!value) throw new ConfigError(`is required for backend ${backend}`, undefined, input);
  return value;
}

/**
 * Creates a backend by name.
 * @throws ConfigError when the name is unknown or a required setting is missing
 */
export async function createBackend(
  name: BackendName,
  options: BackendOptions,
  logger: Logger,
): Promise<FlagBackend> {
  switch (name) {
    case 'postgres': {
      const { PostgresBackend } = await import('./postgres.js');
      return PostgresBackend.open(
        {
          databaseUrl: need(options.databaseUrl, 'database-url', name),
          caCert: options.caCert || undefined,
          schema: options.flagTableSchema || 'runbook',
          lockTimeoutMs: options.lockTimeoutMs,
        },
        logger,
      );
    }
    case 'http': {
      const { HttpBackend } = await import('./http.js');
      return new HttpBackend(
        {
          baseUrl: need(options.baseUrl, 'base-url', name),
          token: need(options.token, 'token', name),
          environment: options.environment,
          api: options.http,
          retry: options.retry,
        },
        logger,
      );
    }
    case 'launchdarkly': {
      const { LaunchDarklyBackend } = await import('./launchdarkly.js');
      return new LaunchDarklyBackend(
        {
          baseUrl: options.baseUrl || 'https://app.launchdarkly.com',
          token: need(options.token, 'token', name),
          environment: need(options.environment, 'environment', name),
          project: need(options.project, 'project', name),
          contextKind: options.contextKind || 'tenant',
          retry: options.retry,
          approvalTimeoutMs: options.approvalTimeoutMs,
          approvalPollMs: options.approvalPollMs,
        },
        logger,
      );
    }
    case 'unleash': {
      const { UnleashBackend } = await import('./unleash.js');
      return new UnleashBackend(
        {
          baseUrl: need(options.baseUrl, 'base-url', name),
          token: need(options.token, 'token', name),
          environment: need(options.environment, 'environment', name),
          project: options.project || 'default',
          stickiness: options.stickiness || undefined,
          retry: options.retry,
        },
        logger,
      );
    }
    default:
      throw new ConfigError(
        `expected one of ${BACKENDS.join(', ')}, got '${String(name)}'`,
        undefined,
        'backend',
      );
  }
}

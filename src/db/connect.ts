/**
 * PostgreSQL connections: URL parsing with clear errors, TLS options, and password redaction.
 *
 * Follows libpq's connection URI format (PostgreSQL docs, "Connection Strings") as implemented by
 * `pg-connection-string`: `postgres://user:password@host:port/db?sslmode=require`.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { ConfigError } from '../errors.js';

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** PEM text of a CA certificate to trust (RDS, Supabase); enables certificate verification. */
  caCert?: string;
  /** Path of a PEM CA certificate file; alternative to `caCert`. */
  caFile?: string;
  /** `application_name` shown in pg_stat_activity and in lock-holder messages. */
  applicationName?: string;
  /** The input / flag that named the URL, for error messages. Default `database-url`. */
  input?: string;
  /** Connect timeout in milliseconds. Default 10000. */
  connectTimeoutMs?: number;
}

/**
 * Replaces the password in a connection URL (or a `key=value` conninfo string) with `***`.
 * Safe on text that contains no URL.
 */
export function redactUrl(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]*)@/gi, '$1***@')
    .replace(/(password=)([^&\s]+)/gi, '$1***');
}

/** The password in a connection URL, if any, so callers can mask it (`core.setSecret`). */
export function urlPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds `pg` client configuration from a URL.
 * @throws ConfigError when the URL is empty or not a postgres:// URL (the message never contains
 *   the password)
 */
export function clientConfig(url: string, options: ConnectOptions = {}): pg.ClientConfig {
  const input = options.input ?? 'database-url';
  if (!url) throw new ConfigError('a PostgreSQL connection URL is required', undefined, input);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`not a valid URL: ${redactUrl(url)}`, undefined, input);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new ConfigError(
      `expected a postgres:// or postgresql:// URL, got '${parsed.protocol}' in ${redactUrl(url)}`,
      undefined,
      input,
    );
  }
  const sslmode = parsed.searchParams.get('sslmode');
  const ca = options.caCert ?? (options.caFile ? readFileSync(options.caFile, 'utf8') : undefined);
  parsed.searchParams.delete('sslmode');
  const config: pg.ClientConfig = {
    connectionString: parsed.toString(),
    application_name: options.applicationName ?? 'runbook-actions',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  };
  if (ca) config.ssl = { ca, rejectUnauthorized: true };
  else if (sslmode === 'verify-full' || sslmode === 'verify-ca')
    config.ssl = { rejectUnauthorized: true };
  else if (sslmode === 'require' || sslmode === 'prefer')
    config.ssl = { rejectUnauthorized: false };
  // libpq's verify-ca checks the certificate chain but not that the host name matches it.
  if (typeof config.ssl === 'object' && sslmode === 'verify-ca') {
    config.ssl.checkServerIdentity = () => undefined;
  }
  return config;
}

/**
 * Opens one connected `pg.Client`.
 * @throws ConfigError for a bad URL; for a connection failure, an Error whose message names the
 *   host and port and never the password
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url, options));
  try {
    await client.connect();
  } catch (e) {
    const u = new URL(url);
    throw new ConfigError(
      `cannot connect to PostgreSQL at ${u.hostname}:${u.port || 5432}/${u.pathname.slice(1)}: ${redactUrl((e as Error).message)}`,
      undefined,
      options.input ?? 'database-url',
    );
  }
  // A failed idle client must not crash the process; the next query reports the error.
  client.on('error', () => {});
  return client;
}

/** Quotes an SQL identifier (`schema.table` is split on the dot). */
export function ident(name: string): string {
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

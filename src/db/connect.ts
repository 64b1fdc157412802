/**
 * PostgreSQL connections: URL parsing as libpq reads it, TLS as libpq's `sslmode` means it, and
 * clear errors that never echo a password.
 *
 * Sources: PostgreSQL docs §34.1.1 "Connection Strings" (URI form, `connect_timeout`,
 * `sslmode`), §34.19 "SSL Support" (what each `sslmode` checks), and `pg-connection-string`,
 * the parser `pg` itself uses for the URI form.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ConfigError } from '../errors.js';
import { redactCredentials, redactSecrets } from '../redact.js';

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
  /**
   * Connect timeout in milliseconds when the URL has no `connect_timeout` (which wins, as in
   * libpq). Default 10000.
   */
  connectTimeoutMs?: number;
}

/** libpq's `sslmode` values (PostgreSQL docs §34.19.1, table "SSL Mode Descriptions"). */
export const SSL_MODES = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
] as const;
/** One of {@link SSL_MODES}. */
export type SslMode = (typeof SSL_MODES)[number];

/** A PostgreSQL URL as libpq reads it. */
export interface DatabaseUrl {
  host: string;
  /** TCP port (default 5432). */
  port: number;
  database: string;
  user: string;
  /** The whole password, decoded; `undefined` when the URL has none. */
  password?: string;
  /** libpq's `sslmode`; `prefer` (libpq's default) when the URL has none. */
  sslmode: SslMode;
  /** `connect_timeout` in milliseconds (the URL gives seconds); 0 waits forever; `undefined` when absent. */
  connectTimeoutMs?: number;
  /** `sslrootcert`: path of a CA certificate file, when given. */
  sslrootcert?: string;
  /** `application_name`, when given. */
  applicationName?: string;
  /** `options` (server settings such as `-c search_path=app`), when given. */
  options?: string;
}

/**
 * Replaces the password in a connection URL (or a `key=value` conninfo string) with `***`.
 * Safe on text that contains no URL. Kept for its callers; it is {@link redactCredentials}.
 */
export function redactUrl(text: string): string {
  return redactCredentials(text);
}

const FORMAT =
  'expected postgres://user:password@host:port/database?sslmode=require; percent-encode @, /, :, ?, # and spaces in the user name and password (encodeURIComponent)';

/**
 * Parses a PostgreSQL URL the way libpq does (via `pg-connection-string`): user name and password
 * percent-decoded, `password`, `sslmode`, `connect_timeout` (seconds; values 1 and 2 mean 2 s, 0
 * or negative waits forever, as libpq), `sslrootcert`, `application_name` and `options` from the
 * query string.
 * @throws ConfigError naming `input` for an empty URL, a URL that does not parse, a scheme other
 *   than postgres:// or postgresql://, an unknown `sslmode` or a `connect_timeout` that is not an
 *   integer. The message never contains the URL (it may hold a password in a shape we could not
 *   recognise).
 */
export function parseDatabaseUrl(url: string, input = 'database-url'): DatabaseUrl {
  if (!url) throw new ConfigError('a PostgreSQL connection URL is required', undefined, input);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (!scheme) throw new ConfigError(`is not a URL: ${FORMAT}`, undefined, input);
  if (!/^postgres(ql)?$/i.test(scheme)) {
    throw new ConfigError(
      `expected a postgres:// or postgresql:// URL, got '${scheme}://'`,
      undefined,
      input,
    );
  }
  // The TLS parameters are read here, not by the parser (which would read certificate files and
  // warn that it gives `sslmode` a meaning other than libpq's).
  const q = url.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1).split('#')[0]);
  const tls = Object.fromEntries(
    ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'].map((k) => [k, query.get(k) ?? undefined]),
  );
  for (const k of Object.keys(tls)) query.delete(k);
  const stripped = q < 0 ? url : `${url.slice(0, q)}?${query.toString()}`;
  let c: ReturnType<typeof parseConnectionString>;
  try {
    c = parseConnectionString(stripped);
    new URL(stripped.replace(/ /g, '%20'));
  } catch {
    throw new ConfigError(`is not a valid PostgreSQL URL: ${FORMAT}`, undefined, input);
  }
  const host = c.host ?? '';
  const port = c.port ? Number(c.port) : 5432;
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(
      `is not a valid PostgreSQL URL (no host or a bad port): ${FORMAT}`,
      undefined,
      input,
    );
  }
  const rawMode = tls.sslmode || 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(rawMode)) {
    throw new ConfigError(
      `sslmode '${rawMode.slice(0, 40)}' is not one of ${SSL_MODES.join(', ')}`,
      undefined,
      input,
    );
  }
  let connectTimeoutMs: number | undefined;
  if (c.connect_timeout !== undefined && c.connect_timeout !== '') {
    const s = Number(c.connect_timeout);
    if (!Number.isInteger(s)) {
      throw new ConfigError(
        `connect_timeout must be a whole number of seconds, got '${String(c.connect_timeout).slice(0, 40)}'`,
        undefined,
        input,
      );
    }
    // libpq: "Zero, negative, or not specified means wait indefinitely. The minimum allowed
    // timeout is 2 seconds, therefore a value of 1 is interpreted as 2."
    connectTimeoutMs = s <= 0 ? 0 : Math.max(s, 2) * 1000;
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  return {
    host,
    port,
    database: c.database ?? '',
    user: c.user ?? '',
    password: str(c.password),
    sslmode: rawMode as SslMode,
    connectTimeoutMs,
    sslrootcert: str(tls.sslrootcert),
    applicationName: str(c.application_name),
    options: str(c.options),
  };
}

/**
 * The whole password of a connection URL, decoded, so callers can mask it (`core.setSecret`);
 * `undefined` when the URL has none or does not parse.
 */
export function urlPassword(url: string): string | undefined {
  try {
    return parseDatabaseUrl(url).password;
  } catch {
    return undefined;
  }
}

/**
 * Every string that may be (part of) the password of `url` as written, for masking: the decoded
 * password, its percent-encoded spelling as written, and, for a URL that does not parse (an
 * unencoded `@`, `/` or space in the password), everything between the user name's `:` and the
 * last `@` before the host. Empty when the URL has no password.
 */
export function urlPasswordCandidates(url: string): string[] {
  const out = new Set<string>();
  const pw = urlPassword(url);
  if (pw) out.add(pw);
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:(.*)@[^@]*$/is.exec(url);
  if (m?.[1]) out.add(m[1]);
  const short = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@]*)@/i.exec(url);
  if (short?.[1]) out.add(short[1]);
  const query = /[?&]password=([^&#]*)/i.exec(url);
  if (query?.[1]) {
    out.add(query[1]);
    try {
      out.add(decodeURIComponent(query[1].replace(/\+/g, ' ')));
    } catch {
      // kept as written
    }
  }
  return [...out].filter(Boolean);
}

type TlsChoice = pg.ClientConfig['ssl'];

/**
 * Builds `pg` client configuration from a URL; `prefer` and `allow` are resolved to their first
 * attempt (TLS for `prefer`, plain for `allow`); {@link connect} makes the second.
 * @throws ConfigError as {@link parseDatabaseUrl} (the message never contains the password)
 */
export function clientConfig(url: string, options: ConnectOptions = {}): pg.ClientConfig {
  return attempts(url, options)[0];
}

function attempts(url: string, options: ConnectOptions): pg.ClientConfig[] {
  const input = options.input ?? 'database-url';
  const u = parseDatabaseUrl(url, input);
  let ca = options.caCert ?? (options.caFile ? readFileSync(options.caFile, 'utf8') : undefined);
  if (!ca && u.sslrootcert && u.sslrootcert !== 'system') {
    try {
      ca = readFileSync(u.sslrootcert, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `sslrootcert: cannot read ${u.sslrootcert}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        undefined,
        input,
      );
    }
  }
  const base: pg.ClientConfig = {
    host: u.host,
    port: u.port,
    database: u.database || undefined,
    user: u.user || undefined,
    password: u.password,
    application_name: options.applicationName ?? u.applicationName ?? 'runbook-actions',
    connectionTimeoutMillis: u.connectTimeoutMs ?? options.connectTimeoutMs ?? 10_000,
    ...(u.options ? { options: u.options } : {}),
  };
  // PostgreSQL docs §34.19.1: require encrypts without checking the certificate (unless a root
  // certificate is given, then it acts as verify-ca); verify-ca checks the chain; verify-full
  // also checks the host name. A CA given by the caller turns certificate checks on.
  const verify: TlsChoice = ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: true };
  const chainOnly: TlsChoice = { ...verify, checkServerIdentity: () => undefined };
  const encrypt: TlsChoice = ca ? verify : { rejectUnauthorized: false };
  const plain = { ...base, ssl: false };
  switch (u.sslmode) {
    case 'disable':
      return [plain];
    case 'allow':
      return [plain, { ...base, ssl: encrypt }];
    case 'prefer':
      return [{ ...base, ssl: encrypt }, plain];
    case 'require':
      return [{ ...base, ssl: encrypt }];
    case 'verify-ca':
      return [{ ...base, ssl: chainOnly }];
    case 'verify-full':
      return [{ ...base, ssl: verify }];
  }
}

/** Errors after which `prefer` / `allow` make their second attempt: the server refused or broke the first mode. */
function retryOtherMode(e: unknown): boolean {
  const msg = (e as Error).message ?? '';
  const code = (e as { code?: string }).code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(code))
    return false;
  if (code === '28P01' || code === '3D000') return false;
  return /ssl|tls|certificate|encryption|pg_hba|socket hang up|ECONNRESET|terminated/i.test(
    `${msg} ${code}`,
  );
}

/**
 * Opens one connected `pg.Client`. `sslmode=prefer` (the default, as in libpq) tries TLS, then
 * plain when the server does not offer TLS; `allow` tries plain, then TLS.
 * @throws ConfigError for a bad URL; for a connection failure, a ConfigError whose message names
 *   the host and port and never the password
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const input = options.input ?? 'database-url';
  const configs = attempts(url, options);
  let last: unknown;
  for (const [i, config] of configs.entries()) {
    const client = new pg.Client(config);
    try {
      await client.connect();
      // A failed idle client must not crash the process; the next query reports the error.
      client.on('error', () => {});
      return client;
    } catch (e) {
      last = e;
      await client.end().catch(() => {});
      if (i + 1 < configs.length && retryOtherMode(e)) continue;
      break;
    }
  }
  const u = parseDatabaseUrl(url, input);
  const msg = redactSecrets((last as Error).message ?? String(last), [u.password]);
  throw new ConfigError(
    `cannot connect to PostgreSQL at ${u.host}:${u.port}/${u.database}: ${msg}`,
    undefined,
    input,
  );
}

/** Quotes an SQL identifier (`schema.table` is split on the dot). */
export function ident(name: string): string {
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

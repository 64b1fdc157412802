/**
 * The `http` backend: a home-grown flag admin API like the one the Paket 7 deploy plan's
 * `flag-toggle.sh` talks to (`VIDEO_KIT_ADMIN_TOKEN`, `TARGET_ENV`).
 *
 * Requests are templates (see {@link HttpApiConfig}); the defaults are:
 * - read: `GET /v1/admin/flags/{flag}?env={environment}` → `{"global": bool, "tenants": [ids]}`
 * - per tenant: `PUT /v1/admin/flags/{flag}/tenants/{tenant}?env={environment}` with
 *   `{"enabled": bool, "comment": "..."}`
 * - global: `PUT /v1/admin/flags/{flag}?env={environment}` with `{"enabled": bool, "comment": "..."}`
 *
 * "Global" is the read response's `globalPath` field (`true`/`"on"` = on). Authentication is
 * `Authorization: Bearer <token>`. When the read returns an `ETag`, the first write sends it as
 * `If-Match` (RFC 9110 section 13.1.1) and each write's new `ETag` is sent with the next one, so
 * a concurrent change gives a 412 instead of a lost update. 429 and 5xx are retried with backoff.
 */
import type { Logger } from '../../errors.js';
import { ConfigError } from '../../errors.js';
import { redactCredentials, redactSecrets } from '../../redact.js';
import { requestJson, type HttpClientOptions, type RetryOptions } from '../http.js';
import { BackendError, type FlagBackend, type FlagChange, type FlagState } from './types.js';

/** One request template. Placeholders: `{flag}`, `{tenant}`, `{environment}`, `{enabled}`, `{comment}`. */
export interface RequestTemplate {
  method: string;
  /** Path and query relative to `base-url`; placeholders are URL-encoded. */
  path: string;
  /** JSON body template; placeholders are replaced by JSON values (`"tn-1"`, `true`). */
  body?: string;
}

/** The request templates of an admin API. Every field has a default (see the module comment). */
export interface HttpApiConfig {
  read: RequestTemplate;
  /** Dotted path of the global flag in the read response (boolean or `"on"`/`"off"`). */
  globalPath: string;
  /** Dotted path of the enabled tenant ids in the read response (array of strings). */
  tenantsPath: string;
  tenant: RequestTemplate;
  global: RequestTemplate;
  /** Header carrying the token. Default `Authorization` (value `Bearer <token>`). */
  authHeader: string;
  /** Prefix of the token in `authHeader`. Default `Bearer `. */
  authScheme: string;
}

/** The default templates. */
export const DEFAULT_HTTP_API: HttpApiConfig = {
  read: { method: 'GET', path: '/v1/admin/flags/{flag}?env={environment}' },
  globalPath: 'global',
  tenantsPath: 'tenants',
  tenant: {
    method: 'PUT',
    path: '/v1/admin/flags/{flag}/tenants/{tenant}?env={environment}',
    body: '{"enabled": {enabled}, "comment": {comment}}',
  },
  global: {
    method: 'PUT',
    path: '/v1/admin/flags/{flag}?env={environment}',
    body: '{"enabled": {enabled}, "comment": {comment}}',
  },
  authHeader: 'Authorization',
  authScheme: 'Bearer ',
};

/** Options of {@link HttpBackend}. */
export interface HttpBackendOptions {
  baseUrl: string;
  token: string;
  /** Substituted for `{environment}` (the seed's TARGET_ENV). */
  environment?: string;
  api?: Partial<HttpApiConfig>;
  retry?: RetryOptions;
}

type Vars = Record<string, string | boolean | undefined>;

function fillPath(t: string, vars: Vars): string {
  return t.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(String(vars[k] ?? '')));
}

function fillBody(t: string | undefined, vars: Vars): string | undefined {
  if (!t) return undefined;
  return t.replace(/\{(\w+)\}/g, (_m, k: string) => JSON.stringify(vars[k] ?? null));
}

function at(obj: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      obj,
    );
}

/** A flag admin API driven by request templates. */
export class HttpBackend implements FlagBackend {
  readonly name = 'http' as const;
  readonly globalMeaning: string;
  private readonly api: HttpApiConfig;
  private readonly client: HttpClientOptions;
  private etag?: string;

  constructor(
    private readonly options: HttpBackendOptions,
    logger: Logger,
  ) {
    this.api = { ...DEFAULT_HTTP_API, ...options.api };
    for (const k of ['read', 'tenant', 'global'] as const) {
      const t = this.api[k];
      if (!t || typeof t.method !== 'string' || typeof t.path !== 'string') {
        throw new ConfigError(`http-api.${k} needs a method and a path`, undefined, 'http-api');
      }
    }
    try {
      new URL(options.baseUrl);
    } catch {
      throw new ConfigError(
        `not a URL: '${redactCredentials(options.baseUrl)}'`,
        undefined,
        'base-url',
      );
    }
    this.globalMeaning = `the '${this.api.globalPath}' field of ${this.api.read.method} ${this.api.read.path}`;
    this.client = {
      service: 'flag admin API',
      secrets: [options.token],
      retry: options.retry,
      logger,
    };
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      [this.api.authHeader]: `${this.api.authScheme}${this.options.token}`,
      'Content-Type': 'application/json',
      ...extra,
    };
  }

  async read(flag: string): Promise<FlagState> {
    const vars = { flag, environment: this.options.environment };
    const res = await requestJson(
      {
        method: this.api.read.method,
        url: this.url(fillPath(this.api.read.path, vars)),
        headers: this.headers(),
        body: fillBody(this.api.read.body, vars),
        idempotent: true, // a read, whatever its method
      },
      this.client,
    );
    const g = at(res.json, this.api.globalPath);
    const tenants = at(res.json, this.api.tenantsPath);
    if ((typeof g !== 'boolean' && g !== 'on' && g !== 'off') || !Array.isArray(tenants)) {
      throw new BackendError(
        `flag admin API: the read response has no boolean '${this.api.globalPath}' or no '${this.api.tenantsPath}' array: ${redactSecrets(res.text, [this.options.token]).slice(0, 200)}`,
      );
    }
    this.etag = res.headers.get('etag') ?? undefined;
    return {
      flag,
      global: g === true || g === 'on' ? 'on' : 'off',
      tenants: (tenants as unknown[]).map(String).sort(),
      backend: 'http',
      exists: true,
      backendDetail: this.etag ? { etag: this.etag } : undefined,
    };
  }

  private async send(t: RequestTemplate, vars: Vars): Promise<void> {
    const extra: Record<string, string> = this.etag ? { 'If-Match': this.etag } : {};
    const res = await requestJson(
      {
        method: t.method,
        url: this.url(fillPath(t.path, vars)),
        headers: this.headers(extra),
        body: fillBody(t.body, vars),
      },
      this.client,
    );
    this.etag = res.headers.get('etag') ?? undefined;
  }

  /** Sends one request per changed tenant and one for a global change (global off first, on last). */
  async write(change: FlagChange): Promise<void> {
    const { flag, from, to, comment } = change;
    const base = { flag, environment: this.options.environment, comment };
    this.etag = (from.backendDetail?.etag as string | undefined) ?? this.etag;
    const globalChange = from.global !== to.global;
    if (globalChange && to.global === 'off')
      await this.send(this.api.global, { ...base, enabled: false });
    for (const tenant of from.tenants.filter((t) => !to.tenants.includes(t))) {
      await this.send(this.api.tenant, { ...base, tenant, enabled: false });
    }
    for (const tenant of to.tenants.filter((t) => !from.tenants.includes(t))) {
      await this.send(this.api.tenant, { ...base, tenant, enabled: true });
    }
    if (globalChange && to.global === 'on')
      await this.send(this.api.global, { ...base, enabled: true });
  }

  async close(): Promise<void> {}
}

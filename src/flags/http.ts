/**
 * A small JSON-over-HTTP client for the SaaS flag backends (LaunchDarkly, Unleash, a home-grown
 * admin API): bearer/API-key authentication, clear errors for 401/403/404/409, and retries with
 * backoff for 429 and 5xx (through the shared `src/http/retry.ts`).
 *
 * Rate limits follow the documented headers: `Retry-After` (seconds or an HTTP date, RFC 9110
 * section 10.2.3) and LaunchDarkly's `X-Ratelimit-Reset` (epoch milliseconds; LaunchDarkly API
 * docs, "Rate limiting"). Tokens never appear in errors or logs.
 */
import { redactSecrets } from '../redact.js';
import type { Logger } from '../errors.js';
import {
  fetchWithRetry,
  LAUNCHDARKLY_RATE_LIMIT_HEADERS,
  serverDelayMs,
  type RetryPolicy,
} from '../http/retry.js';
import { BackendError } from './backends/types.js';

/** Retry settings. All durations in milliseconds. */
export interface RetryOptions {
  /** Attempts in total, including the first. Default 5. */
  maxAttempts?: number;
  /** First backoff delay for 5xx and network errors; doubles each attempt. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound for any single wait, also for server-requested waits. Default 30000 ms. */
  maxDelayMs?: number;
  /** Per-request timeout. Default 30000 ms. */
  timeoutMs?: number;
}

/** One request. */
export interface JsonRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A JSON-serialisable body, or a string sent as is. */
  body?: unknown;
  /** Statuses that return normally instead of throwing (e.g. `[404]` to read a missing flag). */
  accept?: number[];
  /**
   * Whether sending the request twice has the effect of sending it once. Default: by method
   * (RFC 9110 section 9.2.2: GET, HEAD, OPTIONS, PUT, DELETE are idempotent; POST, PATCH are
   * not). A non-idempotent request is retried only on 429 and 503 (the server did not process
   * it), never on another 5xx or a network error, where it may have been applied.
   */
  idempotent?: boolean;
}

const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];

/** A successful (or accepted) response. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or `undefined` when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

/** A client bound to one service: its name for messages, its secret for redaction. */
export interface HttpClientOptions {
  /** Service name used in messages, e.g. `LaunchDarkly`. */
  service: string;
  /** Secrets to redact from every message (the token). */
  secrets?: string[];
  retry?: RetryOptions;
  logger: Logger;
}

/**
 * Milliseconds to wait before retrying a 429, from `Retry-After` (seconds or HTTP date) or, when
 * that is absent, `X-Ratelimit-Reset` (epoch milliseconds); `undefined` when neither is usable.
 */
export function rateLimitDelayMs(headers: Headers, now = Date.now()): number | undefined {
  return serverDelayMs(headers, LAUNCHDARKLY_RATE_LIMIT_HEADERS, now);
}

/** Every known secret (in each encoded form) and every credential-shaped value → `***`. */
function redact(text: string, secrets: string[] = []): string {
  return redactSecrets(text, secrets);
}

function serverMessage(text: string, json: unknown): string {
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const m = o.message ?? o.error ?? o.code;
    if (typeof m === 'string') return m;
  }
  return text;
}

/** The server's error message with every secret redacted, then cut to 300 characters. */
function serverDetail(text: string, json: unknown, secrets?: string[]): string {
  const full = redact(serverMessage(text, json), secrets);
  return full.length > 300 ? `${full.slice(0, 300)}…` : full;
}

/**
 * Sends one JSON request with retries: 429 (waiting as {@link rateLimitDelayMs} says), any 5xx
 * and network errors (exponential backoff), each wait at most `maxDelayMs`.
 * @throws BackendError with the HTTP status: 401/403 (token rejected), 404 (not found),
 *   409 (conflict), other 4xx, or 429/5xx after `maxAttempts`
 */
export async function requestJson(
  req: JsonRequest,
  client: HttpClientOptions,
): Promise<JsonResponse> {
  const maxAttempts = client.retry?.maxAttempts ?? 5;
  const cap = client.retry?.maxDelayMs ?? 30_000;
  const path = (() => {
    try {
      const u = new URL(req.url);
      return `${u.pathname}${u.search}`;
    } catch {
      return req.url;
    }
  })();
  const what = `${client.service} ${req.method} ${redact(path, client.secrets)}`;
  let attempts = 1;
  const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.includes(req.method.toUpperCase());
  const policy: RetryPolicy = {
    maxAttempts,
    serverErrors: idempotent ? 'all' : [503],
    retryNetworkErrors: idempotent,
    doNotRetry: req.accept,
    baseDelayMs: client.retry?.baseDelayMs ?? 500,
    maxBackoffMs: cap,
    serverDelayStatuses: [429],
    rateLimitHeaders: LAUNCHDARKLY_RATE_LIMIT_HEADERS,
    maxServerDelayMs: cap,
    timeoutMs: client.retry?.timeoutMs ?? 30_000,
    onRetry: (e) => {
      attempts = e.attempt + 1;
      const wait = `retrying in ${e.delayMs} ms`;
      client.logger.warning(
        e.reason === 'network-error'
          ? `${what}: ${redact((e.error as Error).message, client.secrets)}; ${wait} (attempt ${e.attempt})`
          : `${what}: ${e.status === 429 ? 'rate limited (429)' : `server error ${e.status}`}; ${wait} (attempt ${e.attempt} of ${e.maxAttempts})`,
      );
    },
  };
  let res: Response;
  try {
    res = await fetchWithRetry(
      req.url,
      {
        method: req.method,
        headers: { Accept: 'application/json', ...req.headers },
        body:
          req.body === undefined
            ? undefined
            : typeof req.body === 'string'
              ? req.body
              : JSON.stringify(req.body),
      },
      policy,
    );
  } catch (e) {
    const msg = redact((e as Error).message, client.secrets);
    throw new BackendError(`${what} failed after ${attempts} attempts: ${msg}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.ok || req.accept?.includes(res.status))
    return { status: res.status, headers: res.headers, json, text };
  const detail = serverDetail(text, json, client.secrets);
  if (res.status === 429 || res.status >= 500) {
    throw new BackendError(
      `${what}: ${res.status === 429 ? 'rate limited (429)' : `server error (${res.status})`} after ${attempts} attempt${attempts === 1 ? '' : 's'}${!idempotent && res.status !== 429 && res.status !== 503 ? ` (not retried: the ${req.method} may have been applied)` : ''}: ${detail}`,
      res.status,
    );
  }
  if (res.status === 401 || res.status === 403) {
    throw new BackendError(
      `${what}: the token was rejected (${res.status} ${res.status === 401 ? 'Unauthorized' : 'Forbidden'}): check the 'token' input and its permissions. ${detail}`,
      res.status,
    );
  }
  if (res.status === 404) throw new BackendError(`${what}: not found (404): ${detail}`, 404);
  if (res.status === 409 || res.status === 412) {
    throw new BackendError(
      `${what}: conflict (${res.status}): the flag changed concurrently or the request conflicts with its state: ${detail}`,
      res.status,
    );
  }
  throw new BackendError(`${what}: rejected (${res.status}): ${detail}`, res.status);
}

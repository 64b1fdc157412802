/**
 * A small JSON-over-HTTP client for the SaaS flag backends (LaunchDarkly, Unleash, a home-grown
 * admin API): bearer/API-key authentication, clear errors for 401/403/404/409, and retries with
 * backoff for 429 and 5xx.
 *
 * Rate limits follow the documented headers: `Retry-After` (seconds or an HTTP date, RFC 9110
 * section 10.2.3) and LaunchDarkly's `X-Ratelimit-Reset` (epoch milliseconds; LaunchDarkly API
 * docs, "Rate limiting"). Tokens never appear in errors or logs.
 */
import type { Logger } from '../errors.js';
import { sleep } from '../errors.js';
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
}

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

/** Milliseconds to wait before retrying a 429, from `Retry-After` or `X-Ratelimit-Reset`. */
export function rateLimitDelayMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter.trim())) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('x-ratelimit-reset');
  if (reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) - now);
  return undefined;
}

function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

function serverMessage(text: string, json: unknown): string {
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const m = o.message ?? o.error ?? o.code;
    if (typeof m === 'string') return m;
  }
  return text.slice(0, 300);
}

/**
 * Sends one JSON request with retries.
 * @throws BackendError with the HTTP status: 401/403 (token rejected), 404 (not found),
 *   409 (conflict), other 4xx, or 429/5xx after `maxAttempts`
 */
export async function requestJson(
  req: JsonRequest,
  client: HttpClientOptions,
): Promise<JsonResponse> {
  const maxAttempts = client.retry?.maxAttempts ?? 5;
  const base = client.retry?.baseDelayMs ?? 500;
  const cap = client.retry?.maxDelayMs ?? 30_000;
  const timeoutMs = client.retry?.timeoutMs ?? 30_000;
  const path = (() => {
    try {
      const u = new URL(req.url);
      return `${u.pathname}${u.search}`;
    } catch {
      return req.url;
    }
  })();
  const what = `${client.service} ${req.method} ${redact(path, client.secrets)}`;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: { Accept: 'application/json', ...req.headers },
        body:
          req.body === undefined
            ? undefined
            : typeof req.body === 'string'
              ? req.body
              : JSON.stringify(req.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const msg = redact((e as Error).message, client.secrets);
      if (attempt >= maxAttempts)
        throw new BackendError(`${what} failed after ${attempt} attempts: ${msg}`);
      const wait = Math.min(cap, base * 2 ** (attempt - 1));
      client.logger.warning(`${what}: ${msg}; retrying in ${wait} ms (attempt ${attempt})`);
      await sleep(wait);
      continue;
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
    const detail = redact(serverMessage(text, json), client.secrets);
    if (res.status === 429 || res.status >= 500) {
      if (attempt >= maxAttempts) {
        throw new BackendError(
          `${what}: ${res.status === 429 ? 'rate limited (429)' : `server error (${res.status})`} after ${attempt} attempts: ${detail}`,
          res.status,
        );
      }
      const asked = res.status === 429 ? rateLimitDelayMs(res.headers) : undefined;
      const wait = Math.min(cap, asked ?? base * 2 ** (attempt - 1));
      client.logger.warning(
        `${what}: ${res.status === 429 ? 'rate limited (429)' : `server error ${res.status}`}; retrying in ${wait} ms (attempt ${attempt} of ${maxAttempts})`,
      );
      await sleep(wait);
      continue;
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
}

/**
 * `fetch` with retries: one implementation of "retry on HTTP 429 and 5xx, wait as the server
 * asks, else back off exponentially, give every attempt a deadline", shared by the feature-flag
 * backends (`src/flags/http.ts`) and the metrics providers (`src/gate/providers/http.ts`).
 *
 * Where APIs differ (which header wins, what `X-RateLimit-Reset` counts, which 5xx are retried,
 * how many times, whether a network error is retried), the difference is a {@link RetryPolicy}
 * option, not a second copy of the loop.
 *
 * Headers honoured (only for the statuses in {@link RetryPolicy.serverDelayStatuses}):
 * - `Retry-After`: delay-seconds (a non-negative number) or an HTTP-date
 *   (RFC 9110 section 10.2.3). A date in the past means "now" (0 ms).
 * - `X-RateLimit-Reset`, in one of two documented meanings ({@link ResetHeaderMeaning}):
 *   - seconds until the rate-limit window resets (Datadog, docs.datadoghq.com/api/latest/rate-limits);
 *   - the instant of the reset in milliseconds since the Unix epoch (LaunchDarkly's
 *     `X-Ratelimit-Reset`, launchdarkly.com/docs/api, "Rate limiting").
 *
 * Engine code: no `@actions/*` imports.
 */
import { sleep as realSleep } from '../errors.js';

/**
 * What the `X-RateLimit-Reset` header counts (header names are case-insensitive):
 * - `'delta-seconds'`: seconds until the window resets, e.g. `7` (Datadog); fractions allowed.
 * - `'epoch-milliseconds'`: the reset instant in milliseconds since the Unix epoch, e.g.
 *   `1780513205000` (LaunchDarkly); an integer. An instant in the past means 0 ms.
 */
export type ResetHeaderMeaning = 'delta-seconds' | 'epoch-milliseconds';

/** How a server's requested wait is read from a response's headers. */
export interface RateLimitHeaders {
  /** What `X-RateLimit-Reset` counts. */
  reset: ResetHeaderMeaning;
  /** The header read first when a response carries both; the other one is the fallback. */
  prefer: 'retry-after' | 'x-ratelimit-reset';
}

/**
 * LaunchDarkly (launchdarkly.com/docs/api, "Rate limiting"): `Retry-After` first, then
 * `X-Ratelimit-Reset` as epoch milliseconds.
 */
export const LAUNCHDARKLY_RATE_LIMIT_HEADERS: RateLimitHeaders = {
  reset: 'epoch-milliseconds',
  prefer: 'retry-after',
};

/**
 * Datadog (docs.datadoghq.com/api/latest/rate-limits): `X-RateLimit-Reset` first, as seconds
 * until the reset, then `Retry-After`.
 */
export const DATADOG_RATE_LIMIT_HEADERS: RateLimitHeaders = {
  reset: 'delta-seconds',
  prefer: 'x-ratelimit-reset',
};

const SECONDS = /^\d+(\.\d+)?$/;
const INTEGER = /^\d+$/;

/**
 * Milliseconds to wait according to a `Retry-After` value: delay-seconds or an HTTP-date
 * (RFC 9110 section 10.2.3).
 * @param value - the header value, or `null` when absent
 * @param nowMs - the current time in milliseconds since the epoch (for the HTTP-date form)
 * @returns milliseconds (≥ 0), or `undefined` for an absent, empty or unparseable value
 */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (SECONDS.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Milliseconds to wait according to an `X-RateLimit-Reset` value.
 * @param value - the header value, or `null` when absent
 * @param meaning - what the value counts (see {@link ResetHeaderMeaning})
 * @param nowMs - the current time in milliseconds since the epoch (for `'epoch-milliseconds'`)
 * @returns milliseconds (≥ 0), or `undefined` for an absent or unparseable value
 */
export function rateLimitResetMs(
  value: string | null,
  meaning: ResetHeaderMeaning,
  nowMs: number,
): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (meaning === 'delta-seconds') return SECONDS.test(v) ? Number(v) * 1000 : undefined;
  return INTEGER.test(v) ? Math.max(0, Number(v) - nowMs) : undefined;
}

/**
 * Milliseconds the server asks the client to wait, from `Retry-After` and `X-RateLimit-Reset`
 * read in the order and meaning `headers` gives. A header that is absent or does not parse is
 * skipped in favour of the other.
 * @param nowMs - the current time in milliseconds since the epoch (default `Date.now()`)
 * @returns milliseconds (≥ 0, not capped), or `undefined` when neither header gives a wait
 */
export function serverDelayMs(
  responseHeaders: Headers,
  headers: RateLimitHeaders,
  nowMs = Date.now(),
): number | undefined {
  const retryAfter = () => retryAfterMs(responseHeaders.get('retry-after'), nowMs);
  const reset = () =>
    rateLimitResetMs(responseHeaders.get('x-ratelimit-reset'), headers.reset, nowMs);
  return headers.prefer === 'retry-after' ? (retryAfter() ?? reset()) : (reset() ?? retryAfter());
}

/** Why a request is retried. */
export type RetryReason = 'rate-limited' | 'server-error' | 'network-error';

/** Passed to {@link RetryPolicy.onRetry} before each wait. */
export interface RetryEvent {
  /** The attempt that failed, counting from 1. */
  attempt: number;
  /** Attempts in total allowed for this kind of failure. */
  maxAttempts: number;
  /** Milliseconds about to be waited before the next attempt. */
  delayMs: number;
  reason: RetryReason;
  /** The HTTP status (`rate-limited`, `server-error`). */
  status?: number;
  /** What `fetch` threw (`network-error`). */
  error?: unknown;
  /** Whether `delayMs` came from the server's headers rather than the backoff. */
  serverAsked: boolean;
}

/** When and how {@link fetchWithRetry} retries. All durations in milliseconds. */
export interface RetryPolicy {
  /**
   * Attempts in total (the first request and its retries) for a 429 and, when
   * `retryNetworkErrors` is set, for a network error. Values below 1 mean 1.
   */
  maxAttempts: number;
  /** The 5xx statuses that are retried: `'all'` (500–599) or a list, e.g. `[502, 503, 504]`. */
  serverErrors: 'all' | readonly number[];
  /**
   * Attempts in total after which a retried 5xx is returned as it is. Every earlier attempt
   * counts, whatever its outcome (e.g. 3: two 429s then a 503 returns the 503). Default
   * `maxAttempts`.
   */
  maxServerErrorAttempts?: number;
  /**
   * Whether a `fetch` that throws (connection refused or reset, DNS failure, the per-attempt
   * deadline) is retried with backoff. When `false`, or when attempts run out, the error `fetch`
   * threw is rethrown as it is.
   */
  retryNetworkErrors: boolean;
  /** Statuses never retried, even when listed above (e.g. ones the caller treats as answers). */
  doNotRetry?: readonly number[];
  /** The backoff before retry n (n = 1, 2, ...) is `baseDelayMs × 2^(n-1)`, at most `maxBackoffMs`. */
  baseDelayMs: number;
  /** Upper bound of the exponential backoff, in milliseconds. */
  maxBackoffMs: number;
  /** Statuses whose `Retry-After` / `X-RateLimit-Reset` wait replaces the backoff, e.g. `[429]`. */
  serverDelayStatuses: readonly number[];
  /** Which header wins and what `X-RateLimit-Reset` counts. */
  rateLimitHeaders: RateLimitHeaders;
  /** Upper bound of a server-requested wait, in milliseconds. Default: none. */
  maxServerDelayMs?: number;
  /**
   * Deadline of each attempt in milliseconds, used when `init.signal` is not set (a caller's
   * signal covers all attempts and waits instead). Default 30 000.
   */
  timeoutMs?: number;
  /** Waits `ms` milliseconds; inject it in tests to observe waits without sleeping. */
  sleep?: (ms: number) => Promise<void>;
  /** The current time in milliseconds since the epoch (default `Date.now`), for reset instants. */
  now?: () => number;
  /** Called before each wait, e.g. to log a warning. Must not throw. */
  onRetry?: (event: RetryEvent) => void;
}

/** The exponential backoff before the retry that follows failed attempt `attempt` (from 1), in ms. */
export function backoffMs(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxBackoffMs'>,
  attempt: number,
): number {
  return Math.min(policy.maxBackoffMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

function retryReason(status: number, policy: RetryPolicy): RetryReason | undefined {
  if (policy.doNotRetry?.includes(status)) return undefined;
  if (status === 429) return 'rate-limited';
  const s = policy.serverErrors;
  if (s === 'all' ? status >= 500 && status <= 599 : s.includes(status)) return 'server-error';
  return undefined;
}

/**
 * Calls `fetch(input, init)` and retries per `policy`: 429, the listed 5xx and (optionally)
 * network errors. Before a retry the response body is discarded and the wait is the server's
 * (for `serverDelayStatuses`, capped by `maxServerDelayMs`) or the exponential backoff.
 *
 * @returns the first response that is not retried: a success, a status that is not retried, or
 *   the last 429/5xx once its attempts run out (callers report it)
 * @throws whatever `fetch` threw, when network errors are not retried or their attempts run out
 */
export async function fetchWithRetry(
  input: string | URL | Request,
  init: RequestInit | undefined,
  policy: RetryPolicy,
): Promise<Response> {
  const maxAttempts = Math.max(1, policy.maxAttempts);
  const maxServerErrorAttempts = Math.max(1, policy.maxServerErrorAttempts ?? maxAttempts);
  const wait = policy.sleep ?? realSleep;
  const now = policy.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(input, {
        ...init,
        signal: init?.signal ?? AbortSignal.timeout(policy.timeoutMs ?? 30_000),
      });
    } catch (error) {
      if (!policy.retryNetworkErrors || attempt >= maxAttempts) throw error;
      const delayMs = backoffMs(policy, attempt);
      const event: RetryEvent = {
        attempt,
        maxAttempts,
        delayMs,
        reason: 'network-error',
        error,
        serverAsked: false,
      };
      policy.onRetry?.(event);
      await wait(delayMs);
      continue;
    }
    const reason = retryReason(res.status, policy);
    const limit = reason === 'server-error' ? maxServerErrorAttempts : maxAttempts;
    if (!reason || attempt >= limit) return res;
    const asked = policy.serverDelayStatuses.includes(res.status)
      ? serverDelayMs(res.headers, policy.rateLimitHeaders, now())
      : undefined;
    const delayMs =
      asked === undefined
        ? backoffMs(policy, attempt)
        : Math.min(policy.maxServerDelayMs ?? Infinity, asked);
    policy.onRetry?.({
      attempt,
      maxAttempts: limit,
      delayMs,
      reason,
      status: res.status,
      serverAsked: asked !== undefined,
    });
    await res.body?.cancel().catch(() => {});
    await wait(delayMs);
  }
}

/**
 * A `fetch`-compatible function bound to `policy`, for client libraries that accept their own
 * `fetch` (e.g. `@datadog/datadog-api-client`'s `createConfiguration({fetch})`).
 */
export function retryingFetch(policy: RetryPolicy): typeof fetch {
  return (input, init) => fetchWithRetry(input, init, policy);
}

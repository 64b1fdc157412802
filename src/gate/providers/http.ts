/**
 * HTTP with rate-limit backoff for the metrics providers, through the shared
 * `src/http/retry.ts`. A 429 response is retried after the number of seconds in
 * `X-RateLimit-Reset` (Datadog, docs.datadoghq.com/api/latest/rate-limits) or `Retry-After`
 * (seconds or an HTTP date, RFC 9110 §10.2.3), else after an exponential backoff (1 s, 2 s,
 * 4 s ... at most 60 s). A 502/503/504 is retried the same way once or twice before it is
 * reported. Network errors are not retried here: they count as a failed measurement.
 */
import { DATADOG_RATE_LIMIT_HEADERS, retryingFetch } from '../../http/retry.js';
import type { ProviderContext } from './types.js';

/**
 * A `fetch` that answers 429 (and transient 502/503/504) with backoff, waiting through
 * `ctx.sleep`. Returns the last response when retries run out.
 * @param what - names the provider in log lines (never includes credentials)
 */
export function fetchWithBackoff(ctx: ProviderContext, what: string): typeof fetch {
  return retryingFetch({
    // `maxRetries` 429 retries; 502/503/504 while fewer than 2 retries (of any kind) were made.
    maxAttempts: (ctx.maxRetries ?? 5) + 1,
    serverErrors: [502, 503, 504],
    maxServerErrorAttempts: 3,
    retryNetworkErrors: false,
    baseDelayMs: 1000,
    maxBackoffMs: 60_000,
    serverDelayStatuses: [429, 502, 503, 504],
    rateLimitHeaders: DATADOG_RATE_LIMIT_HEADERS,
    timeoutMs: ctx.requestTimeoutMs ?? 30_000,
    sleep: ctx.sleep,
    onRetry: (e) =>
      ctx.logger.warning(
        `${what}: HTTP ${e.status}${e.status === 429 ? ' (rate limited)' : ''}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt})`,
      ),
  });
}

/**
 * HTTP with rate-limit backoff for the metrics providers, through the shared
 * `src/http/retry.ts`. A 429 response is retried after the number of seconds in
 * `X-RateLimit-Reset` (Datadog, docs.datadoghq.com/api/latest/rate-limits) or `Retry-After`
 * (seconds or an HTTP date, RFC 9110 §10.2.3), else after an exponential backoff (1 s, 2 s,
 * 4 s ... at most 60 s). A server's requested wait is capped at {@link MAX_SERVER_DELAY_MS}.
 * A 502/503/504 is retried the same way once or twice before it is reported. Network errors
 * are not retried here: they count as a failed measurement. With `ctx.deadlineMs` (the gate's
 * timeout), neither a request nor a wait runs past it: a wait that would end later fails the
 * request at once with a {@link ProviderError}, and every attempt is aborted at the deadline.
 */
import { DATADOG_RATE_LIMIT_HEADERS, retryingFetch } from '../../http/retry.js';
import { ProviderError, type ProviderContext } from './types.js';

/** Longest wait a server's `Retry-After` / `X-RateLimit-Reset` may ask for, in milliseconds. */
export const MAX_SERVER_DELAY_MS = 60_000;

/**
 * A `fetch` that answers 429 (and transient 502/503/504) with backoff, waiting through
 * `ctx.sleep`. Returns the last response when retries run out.
 * @param what - names the provider in log lines (never includes credentials)
 */
export function fetchWithBackoff(ctx: ProviderContext, what: string): typeof fetch {
  const now = ctx.now ?? Date.now;
  const deadline = ctx.deadlineMs;
  const sleep =
    deadline === undefined
      ? ctx.sleep
      : async (ms: number) => {
          if (now() + ms > deadline) {
            throw new ProviderError(
              `${what}: the gate's timeout ends in ${(Math.max(0, deadline - now()) / 1000).toFixed(1)} s, before a retry in ${(ms / 1000).toFixed(1)} s`,
            );
          }
          await ctx.sleep(ms);
        };
  const inner = retryingFetch({
    // `maxRetries` 429 retries; 502/503/504 while fewer than 2 retries (of any kind) were made.
    maxAttempts: (ctx.maxRetries ?? 5) + 1,
    serverErrors: [502, 503, 504],
    maxServerErrorAttempts: 3,
    retryNetworkErrors: false,
    baseDelayMs: 1000,
    maxBackoffMs: 60_000,
    serverDelayStatuses: [429, 502, 503, 504],
    maxServerDelayMs: MAX_SERVER_DELAY_MS,
    rateLimitHeaders: DATADOG_RATE_LIMIT_HEADERS,
    timeoutMs: ctx.requestTimeoutMs ?? 30_000,
    sleep,
    now,
    onRetry: (e) =>
      ctx.logger.warning(
        `${what}: HTTP ${e.status}${e.status === 429 ? ' (rate limited)' : ''}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt})`,
      ),
  });
  if (deadline === undefined) return inner;
  return async (input, init) => {
    const left = deadline - now();
    if (left <= 0) throw new ProviderError(`${what}: the gate's timeout has run out`);
    const signal = AbortSignal.timeout(left);
    return inner(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
    });
  };
}

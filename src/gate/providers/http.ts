/**
 * HTTP with rate-limit backoff for the metrics providers. A 429 response is retried after the
 * number of seconds in `X-RateLimit-Reset` (Datadog, docs.datadoghq.com/api/latest/rate-limits)
 * or `Retry-After` (RFC 9110 §10.2.3), else after an exponential backoff (1 s, 2 s, 4 s ...).
 * A 502/503/504 is retried the same way once or twice before it is reported.
 */
import type { ProviderContext } from './types.js';

/** Seconds to wait before retrying a rate-limited response, from its headers. */
export function retryDelayMs(headers: Headers, attempt: number): number {
  for (const name of ['x-ratelimit-reset', 'retry-after']) {
    const raw = headers.get(name);
    if (raw !== null && /^\d+(\.\d+)?$/.test(raw.trim())) return Math.max(0, Number(raw)) * 1000;
  }
  return Math.min(60_000, 1000 * 2 ** attempt);
}

/**
 * A `fetch` that answers 429 (and transient 502/503/504) with backoff, waiting through
 * `ctx.sleep`. Returns the last response when retries run out.
 * @param what - names the provider in log lines (never includes credentials)
 */
export function fetchWithBackoff(ctx: ProviderContext, what: string): typeof fetch {
  const maxRetries = ctx.maxRetries ?? 5;
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      // Every request gets a deadline unless the caller set its own signal.
      const resp = await fetch(input, {
        ...init,
        signal: init?.signal ?? AbortSignal.timeout(ctx.requestTimeoutMs ?? 30_000),
      });
      const transient = [502, 503, 504].includes(resp.status) && attempt < 2;
      if ((resp.status === 429 && attempt < maxRetries) || transient) {
        const wait = retryDelayMs(resp.headers, attempt);
        ctx.logger.warning(
          `${what}: HTTP ${resp.status}${resp.status === 429 ? ' (rate limited)' : ''}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1})`,
        );
        await resp.body?.cancel().catch(() => {});
        await ctx.sleep(wait);
        continue;
      }
      return resp;
    }
  };
}

/**
 * How every request of the rollout engine reaches the API server: a per-request timeout bounded
 * by the command's own deadline, field validation `Strict` on every write, and bounded retries of
 * idempotent requests on the answers the API conventions call retriable (429 Too Many Requests
 * with `Retry-After`, 5xx, a lost or refused connection, a request that timed out).
 *
 * Sources: the Kubernetes API conventions ("HTTP Status codes": 429 carries `Retry-After`,
 * 500/503/504 are server-side and may succeed on retry), `client-go`'s `rest.Request` (which
 * retries on `Retry-After` and connection resets, up to 10 times by default) and
 * kubernetes.io/docs/reference/using-api/api-concepts/#field-validation (`fieldValidation=Strict`
 * makes the server refuse unknown and duplicate fields instead of dropping them silently).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { sleep as defaultSleep, type Logger } from '../errors.js';

/** Longest a single request may take when no deadline is closer, in milliseconds (30 s). */
export const REQUEST_TIMEOUT_MS = 30_000;

interface Budget {
  /** Epoch milliseconds after which no request may still run. */
  deadline: number;
}

const budget = new AsyncLocalStorage<Budget>();

/**
 * Runs `fn` with a deadline: every API request started inside (directly or through awaited
 * calls) is aborted when `deadline` (epoch milliseconds) passes, and {@link withRetries} stops
 * retrying then. Nested deadlines keep the earlier one.
 */
export function withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  const outer = budget.getStore();
  const d = outer ? Math.min(outer.deadline, deadline) : deadline;
  return budget.run({ deadline: d }, fn);
}

/** The deadline set by {@link withDeadline} around the caller, in epoch milliseconds, if any. */
export function currentDeadline(): number | undefined {
  return budget.getStore()?.deadline;
}

/**
 * A `KubeConfig` whose requests carry a timeout (`REQUEST_TIMEOUT_MS`, or less when the
 * surrounding {@link withDeadline} ends sooner) and, on POST, PUT and PATCH,
 * `fieldValidation=Strict`. Every typed API client of `@kubernetes/client-node` 2.x calls
 * `applySecurityAuthentication` on the request context before sending it, which is where both
 * are added.
 */
export class RunbookKubeConfig extends KubeConfig {
  /** Upper bound of one request, in milliseconds. */
  requestTimeoutMs = REQUEST_TIMEOUT_MS;

  override async applySecurityAuthentication(context: {
    setSignal(signal: AbortSignal): void;
    getHttpMethod(): unknown;
    setQueryParam(name: string, value: string): void;
  }): Promise<void> {
    await super.applySecurityAuthentication(context as never);
    const deadline = currentDeadline();
    const left = deadline === undefined ? Infinity : deadline - Date.now();
    context.setSignal(AbortSignal.timeout(Math.max(1, Math.min(this.requestTimeoutMs, left))));
    const method = String(context.getHttpMethod());
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      context.setQueryParam('fieldValidation', 'Strict');
    }
  }
}

/** Why a request failed, for the retry decision. */
export type Failure =
  | { kind: 'status'; code: number; retryAfterMs?: number }
  | { kind: 'timeout' }
  | { kind: 'connection'; code?: string }
  | { kind: 'other' };

/** Classifies an error thrown by a client call. */
export function classify(e: unknown): Failure {
  if (e instanceof ApiException) {
    const h = (e.headers ?? {}) as Record<string, string>;
    const ra = Number(h['retry-after'] ?? h['Retry-After']);
    return {
      kind: 'status',
      code: e.code,
      retryAfterMs: Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined,
    };
  }
  const err = e as { name?: string; cause?: { name?: string; code?: string } } | undefined;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return { kind: 'timeout' };
  if (err?.cause?.name === 'TimeoutError' || err?.cause?.name === 'AbortError')
    return { kind: 'timeout' };
  const code = err?.cause?.code;
  if (
    err?.name === 'TypeError' ||
    (code && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_\w+)$/.test(code))
  )
    return { kind: 'connection', code };
  return { kind: 'other' };
}

/** Whether the request failed because it (or the deadline around it) ran out of time. */
export function isTimeout(e: unknown): boolean {
  return classify(e).kind === 'timeout';
}

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /**
   * Whether repeating the request after an unknown outcome is harmless: reads, server-side
   * apply, and patches guarded by a `resourceVersion` precondition are; a create is not (a lost
   * answer may hide a created object), so it is repeated only after 429, which the server sends
   * before doing anything.
   */
  idempotent: boolean;
  /** Attempts in all (default 5). */
  attempts?: number;
  /** First backoff in milliseconds (default 500; doubled per attempt, capped at 8000, jittered). */
  baseMs?: number;
  /** What is being done, for the log line of a retry, e.g. `read deployment 'api'`. */
  what: string;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs one API request, repeating it after a retriable failure with exponential backoff (or the
 * server's `Retry-After`), at most `attempts` times and never past the surrounding
 * {@link withDeadline}. The last error is rethrown unchanged.
 */
export async function withRetries<T>(options: RetryOptions, fn: () => Promise<T>): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseMs ?? 500;
  const pause = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const f = classify(e);
      const retriable =
        f.kind === 'status'
          ? f.code === 429 || (options.idempotent && f.code >= 500)
          : options.idempotent && (f.kind === 'connection' || f.kind === 'timeout');
      const deadline = currentDeadline();
      if (!retriable || attempt >= attempts) throw e;
      let wait = Math.min(8000, base * 2 ** (attempt - 1));
      wait = Math.round(wait / 2 + (Math.random() * wait) / 2);
      if (f.kind === 'status' && f.retryAfterMs !== undefined)
        wait = Math.min(f.retryAfterMs, 30_000);
      if (deadline !== undefined && Date.now() + wait >= deadline) throw e;
      const why =
        f.kind === 'status'
          ? `the API server answered ${f.code}`
          : f.kind === 'timeout'
            ? 'the API server did not answer in time'
            : `the connection failed${f.kind === 'connection' && f.code ? ` (${f.code})` : ''}`;
      options.logger?.warning(
        `${options.what}: ${why}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`,
      );
      await pause(wait);
    }
  }
}

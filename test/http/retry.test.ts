/**
 * The shared retry loop (src/http/retry.ts) against a local node:http server that answers from
 * a script. Waits go through an injected sleep that only records them, so nothing here sleeps.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  backoffMs,
  DATADOG_RATE_LIMIT_HEADERS,
  fetchWithRetry,
  LAUNCHDARKLY_RATE_LIMIT_HEADERS,
  rateLimitResetMs,
  retryAfterMs,
  retryingFetch,
  serverDelayMs,
  type RetryEvent,
  type RetryPolicy,
} from '../../src/http/retry.js';

const NOW = Date.parse('2026-06-03T19:00:00Z');

describe('rate-limit headers', () => {
  it('reads Retry-After as delay-seconds or an HTTP-date (RFC 9110)', () => {
    expect(retryAfterMs('2', NOW)).toBe(2000);
    expect(retryAfterMs(' 1.5 ', NOW)).toBe(1500);
    expect(retryAfterMs('Wed, 03 Jun 2026 19:00:05 GMT', NOW)).toBe(5000);
    expect(retryAfterMs('Wed, 03 Jun 2026 18:59:00 GMT', NOW)).toBe(0);
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
    expect(retryAfterMs('', NOW)).toBeUndefined();
    expect(retryAfterMs(null, NOW)).toBeUndefined();
  });

  it('reads X-RateLimit-Reset as seconds until the reset (Datadog) or epoch milliseconds (LaunchDarkly)', () => {
    expect(rateLimitResetMs('7', 'delta-seconds', NOW)).toBe(7000);
    expect(rateLimitResetMs('0.25', 'delta-seconds', NOW)).toBe(250);
    expect(rateLimitResetMs(String(NOW + 1500), 'epoch-milliseconds', NOW)).toBe(1500);
    expect(rateLimitResetMs(String(NOW - 10), 'epoch-milliseconds', NOW)).toBe(0);
    expect(rateLimitResetMs('1.5', 'epoch-milliseconds', NOW)).toBeUndefined();
    expect(rateLimitResetMs('-3', 'delta-seconds', NOW)).toBeUndefined();
    expect(rateLimitResetMs(null, 'delta-seconds', NOW)).toBeUndefined();
  });

  it('reads the preferred header first and falls back to the other', () => {
    const both = new Headers({ 'Retry-After': '3', 'X-RateLimit-Reset': '9' });
    expect(serverDelayMs(both, DATADOG_RATE_LIMIT_HEADERS, NOW)).toBe(9000);
    expect(
      serverDelayMs(
        new Headers({ 'Retry-After': '3', 'X-Ratelimit-Reset': String(NOW + 9000) }),
        LAUNCHDARKLY_RATE_LIMIT_HEADERS,
        NOW,
      ),
    ).toBe(3000);
    expect(
      serverDelayMs(
        new Headers({ 'Retry-After': 'soon', 'X-Ratelimit-Reset': String(NOW + 400) }),
        LAUNCHDARKLY_RATE_LIMIT_HEADERS,
        NOW,
      ),
    ).toBe(400);
    expect(
      serverDelayMs(
        new Headers({ 'Retry-After': '4', 'X-RateLimit-Reset': 'x' }),
        DATADOG_RATE_LIMIT_HEADERS,
        NOW,
      ),
    ).toBe(4000);
    expect(serverDelayMs(new Headers(), DATADOG_RATE_LIMIT_HEADERS, NOW)).toBeUndefined();
  });

  it('backs off exponentially up to the cap', () => {
    const p = { baseDelayMs: 100, maxBackoffMs: 500 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(p, a))).toEqual([100, 200, 400, 500, 500]);
  });
});

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'drop' | 'hang';

describe('fetchWithRetry', () => {
  let server: Server;
  let url: string;
  const answers: Answer[] = [];
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      const a = answers.shift() ?? { status: 200, body: 'ok' };
      if (a === 'drop') return void req.socket.destroy();
      if (a === 'hang') return;
      res.writeHead(a.status, a.headers);
      res.end(a.body ?? `status ${a.status}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/q`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    answers.length = 0;
    requests = 0;
  });

  function policy(over: Partial<RetryPolicy> = {}) {
    const sleeps: number[] = [];
    const events: RetryEvent[] = [];
    const p: RetryPolicy = {
      maxAttempts: 4,
      serverErrors: 'all',
      retryNetworkErrors: true,
      baseDelayMs: 100,
      maxBackoffMs: 1000,
      serverDelayStatuses: [429],
      rateLimitHeaders: DATADOG_RATE_LIMIT_HEADERS,
      sleep: async (ms) => void sleeps.push(ms),
      now: () => NOW,
      onRetry: (e) => void events.push(e),
      ...over,
    };
    return { p, sleeps, events };
  }

  it('waits as a 429 asks, then returns the success', async () => {
    answers.push(
      { status: 429, headers: { 'X-RateLimit-Reset': '7' } },
      { status: 429, headers: { 'Retry-After': 'Wed, 03 Jun 2026 19:00:02 GMT' } },
      { status: 429 },
    );
    const { p, sleeps, events } = policy();
    const res = await fetchWithRetry(url, undefined, p);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(requests).toBe(4);
    // Server-asked waits, then the backoff for a 429 without headers (third attempt: 400 ms).
    expect(sleeps).toEqual([7000, 2000, 400]);
    expect(events.map((e) => [e.reason, e.status, e.attempt, e.serverAsked])).toEqual([
      ['rate-limited', 429, 1, true],
      ['rate-limited', 429, 2, true],
      ['rate-limited', 429, 3, false],
    ]);
  });

  it('caps a server-requested wait at maxServerDelayMs', async () => {
    answers.push({ status: 429, headers: { 'Retry-After': '3600' } });
    const { p, sleeps } = policy({ maxServerDelayMs: 250 });
    expect((await fetchWithRetry(url, undefined, p)).status).toBe(200);
    expect(sleeps).toEqual([250]);
  });

  it('honours headers only for serverDelayStatuses: a 503 backs off unless listed', async () => {
    answers.push({ status: 503, headers: { 'Retry-After': '9' } });
    const a = policy();
    await fetchWithRetry(url, undefined, a.p);
    expect(a.sleeps).toEqual([100]);
    answers.push({ status: 503, headers: { 'Retry-After': '9' } });
    const b = policy({ serverDelayStatuses: [429, 503] });
    await fetchWithRetry(url, undefined, b.p);
    expect(b.sleeps).toEqual([9000]);
  });

  it('returns the last 429 when its attempts run out', async () => {
    answers.push(...Array.from({ length: 5 }, () => ({ status: 429, body: 'slow down' })));
    const { p, sleeps, events } = policy({ maxAttempts: 3 });
    const res = await fetchWithRetry(url, undefined, p);
    expect(res.status).toBe(429);
    expect(await res.text()).toBe('slow down');
    expect(requests).toBe(3);
    expect(sleeps).toEqual([100, 200]);
    expect(events.map((e) => e.maxAttempts)).toEqual([3, 3]);
  });

  it('retries only the listed 5xx, within maxServerErrorAttempts counting every attempt', async () => {
    answers.push({ status: 500 });
    const listed = policy({ serverErrors: [502, 503, 504], maxServerErrorAttempts: 3 });
    expect((await fetchWithRetry(url, undefined, listed.p)).status).toBe(500);
    expect(requests).toBe(1);

    requests = 0;
    answers.push({ status: 429 }, { status: 429 }, { status: 503 }, { status: 200 });
    const mixed = policy({ serverErrors: [502, 503, 504], maxServerErrorAttempts: 3 });
    expect((await fetchWithRetry(url, undefined, mixed.p)).status).toBe(503);
    expect(requests).toBe(3);
  });

  it('never retries a status in doNotRetry', async () => {
    answers.push({ status: 503 });
    const { p, sleeps } = policy({ doNotRetry: [503] });
    expect((await fetchWithRetry(url, undefined, p)).status).toBe(503);
    expect(sleeps).toEqual([]);
  });

  it('retries network errors with backoff and rethrows the last one when attempts run out', async () => {
    answers.push('drop', 'drop');
    const ok = policy();
    expect((await fetchWithRetry(url, undefined, ok.p)).status).toBe(200);
    expect(ok.events.map((e) => [e.reason, e.attempt])).toEqual([
      ['network-error', 1],
      ['network-error', 2],
    ]);
    expect(ok.sleeps).toEqual([100, 200]);

    answers.push('drop', 'drop', 'drop');
    const failing = policy({ maxAttempts: 3 });
    await expect(fetchWithRetry(url, undefined, failing.p)).rejects.toThrow('fetch failed');
    expect(failing.sleeps).toEqual([100, 200]);
  });

  it('rethrows a network error at once when retryNetworkErrors is off', async () => {
    answers.push('drop');
    const { p, sleeps } = policy({ retryNetworkErrors: false });
    await expect(fetchWithRetry(url, undefined, p)).rejects.toThrow('fetch failed');
    expect(requests).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('aborts an attempt that passes timeoutMs', async () => {
    answers.push('hang');
    const { p } = policy({ retryNetworkErrors: false, timeoutMs: 50 });
    const err = await fetchWithRetry(url, undefined, p).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
  });

  it('serves as a fetch for client libraries: method, headers and body reach every attempt', async () => {
    const seen: string[] = [];
    const { p } = policy();
    const probe = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.headers['x-probe']} ${body}`);
        res.writeHead(seen.length === 1 ? 502 : 200);
        res.end();
      });
    });
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    try {
      const doFetch = retryingFetch(p);
      const res = await doFetch(`http://127.0.0.1:${(probe.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: { 'x-probe': 'yes' },
        body: '{"a":1}',
      });
      expect(res.status).toBe(200);
      expect(seen).toEqual(['POST yes {"a":1}', 'POST yes {"a":1}']);
    } finally {
      await new Promise<void>((r) => probe.close(() => r()));
    }
  });
});

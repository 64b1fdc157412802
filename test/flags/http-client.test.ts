import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordingLogger } from '../../src/errors.js';
import { rateLimitDelayMs, requestJson } from '../../src/flags/http.js';

describe('rate-limit headers', () => {
  const now = Date.parse('2026-06-03T19:00:00Z');
  it('reads Retry-After in seconds or as an HTTP date, and X-Ratelimit-Reset in epoch milliseconds', () => {
    expect(rateLimitDelayMs(new Headers({ 'Retry-After': '2' }), now)).toBe(2000);
    expect(
      rateLimitDelayMs(new Headers({ 'Retry-After': 'Wed, 03 Jun 2026 19:00:05 GMT' }), now),
    ).toBe(5000);
    expect(rateLimitDelayMs(new Headers({ 'X-Ratelimit-Reset': String(now + 1500) }), now)).toBe(
      1500,
    );
    expect(rateLimitDelayMs(new Headers({ 'X-Ratelimit-Reset': String(now - 10) }), now)).toBe(0);
    expect(rateLimitDelayMs(new Headers(), now)).toBeUndefined();
  });
});

describe('requestJson', () => {
  let server: Server;
  let url: string;
  const answers: { status: number; headers?: Record<string, string>; body?: string }[] = [];
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.method ?? '');
      const a = answers.shift() ?? { status: 200, body: '{"ok":true}' };
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
      res.end(a.body ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x?token=abc-secret-123`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('waits for X-Ratelimit-Reset (capped by maxDelayMs) and then succeeds', async () => {
    const log = recordingLogger();
    answers.push({ status: 429, headers: { 'X-Ratelimit-Reset': String(Date.now() + 60_000) } });
    const r = await requestJson(
      { method: 'GET', url },
      { service: 'Svc', logger: log, secrets: ['abc-secret-123'], retry: { maxDelayMs: 20 } },
    );
    expect(r.json).toEqual({ ok: true });
    expect(log.lines[0]).toMatch(
      /^warning: Svc GET \/x\?token=\*\*\*: rate limited \(429\); retrying in 20 ms \(attempt 1 of 5\)/,
    );
  });

  it('gives up on 5xx after maxAttempts and never echoes secrets', async () => {
    const log = recordingLogger();
    answers.push(
      { status: 502, body: '{"message":"bad gateway for abc-secret-123"}' },
      { status: 503, body: '{"message":"unavailable"}' },
    );
    const err = await requestJson(
      { method: 'PUT', url, body: { a: 1 } },
      {
        service: 'Svc',
        logger: log,
        secrets: ['abc-secret-123'],
        retry: { maxAttempts: 2, baseDelayMs: 1 },
      },
    ).catch((e) => e);
    expect(err.status).toBe(503);
    expect(err.message).toBe(
      'Svc PUT /x?token=***: server error (503) after 2 attempts: unavailable',
    );
    expect(log.lines.join('\n')).not.toContain('abc-secret-123');
  });

  it('redacts a token a server echoes past the excerpt limit, percent-encoded or JSON-escaped', async () => {
    const token = 'tok/live+5f3b"9c0e7a1d42e8';
    const page = `<html><body>${'x'.repeat(255)} Authorization: Bearer ${token}</body></html>`;
    answers.push(
      { status: 400, body: page },
      { status: 400, body: JSON.stringify({ message: `bad token ${token}` }) },
      { status: 400, body: `bad query token=${encodeURIComponent(token)}` },
    );
    const errors: string[] = [];
    for (let i = 0; i < 3; i++) {
      const err = await requestJson(
        { method: 'GET', url },
        { service: 'Svc', logger: recordingLogger(), secrets: [token] },
      ).catch((e: Error) => e);
      errors.push((err as Error).message);
    }
    for (const m of errors) {
      expect(m).toMatch(/rejected \(400\)/);
      for (const part of [token.slice(0, 8), 'live+5f3b', encodeURIComponent(token).slice(0, 12)])
        expect(m).not.toContain(part);
    }
    expect(errors[0]).toMatch(/…$/);
    expect(errors[1]).toMatch(/bad token \*\*\*$/);
    expect(errors[2]).toMatch(/bad query token=\*\*\*$/);
  });

  it('does not resend a POST after a 5xx it may have applied; retries it after 503, and an idempotent one after 502', async () => {
    const client = {
      service: 'Svc',
      logger: recordingLogger(),
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    };
    seen.length = 0;
    answers.push({ status: 502, body: '{"message":"upstream reset"}' });
    const err = await requestJson({ method: 'POST', url, body: { a: 1 } }, client).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(
      /server error \(502\) after 1 attempt \(not retried: the POST may have been applied\): upstream reset/,
    );
    expect(seen).toEqual(['POST']);

    seen.length = 0;
    answers.push({ status: 503 });
    expect((await requestJson({ method: 'POST', url, body: {} }, client)).status).toBe(200);
    expect(seen).toEqual(['POST', 'POST']);

    seen.length = 0;
    answers.push({ status: 502 });
    const r = await requestJson({ method: 'PATCH', url, body: {}, idempotent: true }, client);
    expect(r.status).toBe(200);
    expect(seen).toEqual(['PATCH', 'PATCH']);
  });

  it('returns accepted statuses instead of throwing', async () => {
    answers.push({ status: 404, body: '{"message":"nope"}' });
    const r = await requestJson(
      { method: 'GET', url, accept: [404] },
      { service: 'Svc', logger: recordingLogger() },
    );
    expect(r.status).toBe(404);
  });
});

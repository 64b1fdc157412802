/**
 * The gate's timeout holds inside 429 backoff, and a server's requested wait is capped, against a
 * local stub answering like the Prometheus HTTP API behind a rate limiter (HTTP 429 with
 * `Retry-After` in seconds, RFC 9110 §10.2.3, or Datadog's `X-RateLimit-Reset`).
 */
import { createServer, type Server } from 'node:http';
import { recordingLogger, silentLogger } from '../../src/errors.js';
import { parseCriteria, runGate } from '../../src/gate/index.js';
import { fetchWithBackoff, MAX_SERVER_DELAY_MS } from '../../src/gate/providers/http.js';

let server: Server;
let url: string;
let headers: Record<string, string> = {};
let requests = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(429, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify({ status: 'error', errorType: 'too_many_requests', error: 'slow down' }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('a 4 s timeout ends near 4 s although the server asks for 20 s waits', async () => {
  headers = { 'retry-after': '20' };
  requests = 0;
  const criteria = parseCriteria(
    'interval: 1s\nduration: 3s\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n',
  );
  const log = recordingLogger();
  const started = Date.now();
  const r = await runGate({ criteria, mode: 'live', prometheus: { url }, timeoutMs: 4000 }, log);
  const elapsed = Date.now() - started;
  expect(r.verdict).toBe('inconclusive');
  // Without the deadline the first wait alone would take 20 s.
  expect(elapsed).toBeLessThan(8000);
  expect(requests).toBeGreaterThan(0);
  const errors = r.metrics[0].measurements.filter((m) => m.phase === 'error');
  expect(errors.length).toBeGreaterThan(0);
  expect(errors[0].message).toMatch(/timeout ends in .* before a retry in 20\.0 s/);
});

test("a server's requested wait is capped at 60 s", async () => {
  headers = { 'x-ratelimit-reset': '3600' };
  const sleeps: number[] = [];
  const f = fetchWithBackoff(
    { logger: silentLogger, sleep: async (ms) => void sleeps.push(ms), maxRetries: 2 },
    'prometheus',
  );
  const res = await f(`${url}/api/v1/query?query=up`);
  expect(res.status).toBe(429);
  expect(sleeps).toEqual([MAX_SERVER_DELAY_MS, MAX_SERVER_DELAY_MS]);
  expect(MAX_SERVER_DELAY_MS).toBe(60_000);
});

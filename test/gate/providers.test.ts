/**
 * Provider details that need no real backend: authentication headers, Prometheus result
 * shapes (NaN, scalar, errors) from a local stub that answers like the Prometheus HTTP API
 * (prometheus.io/docs/prometheus/latest/querying/api), and the Datadog site selection.
 */
import { createServer, type Server } from 'node:http';
import { ConfigError, silentLogger } from '../../src/errors.js';
import { ProviderError } from '../../src/gate/index.js';
import { datadogProvider } from '../../src/gate/providers/datadog.js';
import { prometheusProvider } from '../../src/gate/providers/prometheus.js';

let server: Server;
let url: string;
const seen: { auth?: string; path: string }[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ auth: req.headers.authorization, path: req.url ?? '' });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => (seen.length = 0));

const ctx = { logger: silentLogger, sleep: async () => {} };
const ref = { metric: 'm', role: 'value' as const, query: 'up' };
const vector = (...values: string[]) => ({
  status: 'success',
  data: {
    resultType: 'vector',
    result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1717441200, v] })),
  },
});

test('bearer and basic authentication headers; times in Unix seconds', async () => {
  answer = { status: 200, body: vector('1') };
  await prometheusProvider({ url, token: 'tok-123' }, ctx).instant(ref, 1717441200_000, 60_000);
  await prometheusProvider({ url: url + '/prefix', username: 'gate', password: 'pw' }, ctx).instant(
    ref,
    1717441200_500,
    60_000,
  );
  expect(seen[0].auth).toBe('Bearer tok-123');
  expect(seen[0].path).toBe('/api/v1/query?query=up&time=1717441200.000');
  expect(seen[1].auth).toBe(`Basic ${Buffer.from('gate:pw').toString('base64')}`);
  expect(seen[1].path).toBe('/prefix/api/v1/query?query=up&time=1717441200.500');
});

test('NaN, empty vectors and NaN range points are no data; scalars are values', async () => {
  const p = prometheusProvider({ url }, ctx);
  answer = { status: 200, body: vector('NaN') };
  expect(await p.instant(ref, 0, 60_000)).toBeNull();
  answer = { status: 200, body: vector() };
  expect(await p.instant(ref, 0, 60_000)).toBeNull();
  answer = {
    status: 200,
    body: { status: 'success', data: { resultType: 'scalar', result: [0, '0.25'] } },
  };
  expect(await p.instant(ref, 0, 60_000)).toBe(0.25);
  answer = {
    status: 200,
    body: {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: {},
            values: [
              [60, '1'],
              [180, 'NaN'],
            ],
          },
        ],
      },
    },
  };
  expect(await p.range(ref, 60_000, 240_000, 60_000)).toEqual([
    { t: 60_000, v: 1 },
    { t: 120_000, v: null },
    { t: 180_000, v: null },
    { t: 240_000, v: null },
  ]);
});

test('errors: a rejected query, a 5xx and several series are provider errors; 401 is a ConfigError without the token', async () => {
  const p = prometheusProvider(
    { url, token: 'tok-secret-456', credentialInput: 'prometheus-token' },
    ctx,
  );
  answer = {
    status: 400,
    body: { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' },
  };
  await expect(p.instant(ref, 0, 60_000)).rejects.toThrow(
    /query rejected \(bad_data\): parse error at char 3/,
  );
  answer = { status: 500, body: 'oops' };
  await expect(p.instant(ref, 0, 60_000)).rejects.toBeInstanceOf(ProviderError);
  answer = { status: 200, body: vector('1', '2') };
  await expect(p.instant(ref, 0, 60_000)).rejects.toThrow(/returned 2 series; aggregate it/);
  answer = { status: 401, body: { status: 'error', error: 'unauthorized' } };
  const err = await p.instant(ref, 0, 60_000).catch((e) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toMatch(/input 'prometheus-token'.*rejected the credentials \(HTTP 401\)/);
  expect(err.message).not.toContain('tok-secret-456');
});

test('credentials inside the Prometheus URL are refused', () => {
  expect(() => prometheusProvider({ url: 'https://user:pw@prom.example.com' }, ctx)).toThrow(
    /input 'prometheus-url': put credentials in the token/,
  );
  expect(() => prometheusProvider({ url: 'not a url' }, ctx)).toThrow(/is not a URL/);
});

test('datadog-site selects the API host (datadoghq.eu → api.datadoghq.eu)', async () => {
  const original = globalThis.fetch;
  const urls: string[] = [];
  globalThis.fetch = (async (input: string | URL | Request) => {
    urls.push(String(input));
    return new Response(
      JSON.stringify({
        data: { type: 'timeseries_response', attributes: { series: [], times: [], values: [] } },
      }),
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
      },
    );
  }) as typeof fetch;
  try {
    const p = datadogProvider({ apiKey: 'k', appKey: 'a', site: 'datadoghq.eu' }, ctx);
    expect(
      await p.instant({ ...ref, query: 'avg:system.load.1{*}' }, 1717441200_000, 60_000),
    ).toBeNull();
  } finally {
    globalThis.fetch = original;
  }
  expect(urls).toEqual(['https://api.datadoghq.eu/api/v2/query/timeseries']);
});

/**
 * The Datadog provider: the real @datadog/datadog-api-client (v1 queryMetrics and v2
 * queryTimeseriesData) driven against a local fake of the Datadog API
 * (test/support/gate-datadog.ts): nulls, empty series, 429 with X-RateLimit-Reset, 5xx, bad keys.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import { loadCriteria, runGate, type Criteria, type GateOptions } from '../../src/gate/index.js';
import { startFakeDatadog, type FakeDatadog, type FakeSeries } from '../support/gate-datadog.js';

const MIN = 60_000;
const API_KEY = 'dd-api-0123456789abcdef0123456789abcdef';
const APP_KEY = 'dd-app-fedcba9876543210fedcba9876543210fedcba98';
const criteriaFile = resolve(import.meta.dirname, '../../examples/paket7/gate/datadog.yml');
const T = Date.UTC(2024, 5, 3, 19, 5); // the seed's deployment window

type Shape = {
  errors: (minute: number) => number | null;
  hits: number;
  p99: FakeSeries;
  denials: FakeSeries;
};
const healthy: Shape = {
  hits: 120,
  // Mostly clean, but 2 errors of 120 (1.7%) in minute 3: noise, not a regression.
  errors: (m) => (m === 3 ? 2 : m % 10 === 0 ? 1 : 0),
  p99: () => 0.31,
  denials: () => 0,
};
let shape: Shape = healthy;
const minuteOf = (t: number) => Math.round((t - T) / MIN);

let dd: FakeDatadog;
beforeAll(async () => {
  dd = await startFakeDatadog({
    apiKey: API_KEY,
    appKey: APP_KEY,
    series: (q) => {
      if (q.includes('trace.http.request.errors')) return (t) => shape.errors(minuteOf(t));
      if (q.includes('trace.http.request.hits')) return () => shape.hits;
      if (q.startsWith('p99:')) return shape.p99;
      if (q.includes('quota_denials')) return shape.denials;
      return 'empty';
    },
  });
});
afterAll(() => dd.stop());
beforeEach(() => {
  shape = healthy;
  dd.requests.length = 0;
});

function criteria(api: 'v1' | 'v2', durationMs = 30 * MIN): Criteria {
  const c = loadCriteria(criteriaFile, {}, { durationMs });
  c.datadogApi = api;
  return c;
}

function options(c: Criteria, extra: Partial<GateOptions> = {}): GateOptions {
  return {
    criteria: c,
    mode: 'backtest',
    datadog: { apiKey: API_KEY, appKey: APP_KEY, baseUrl: dd.url },
    start: T,
    end: T + 30 * MIN,
    ...extra,
  };
}

test('the criteria render the seed tenants and service into Datadog queries', () => {
  const c = criteria('v2');
  expect(c.datadogSite).toBe('datadoghq.eu');
  expect(c.metrics[0].numerator).toBe(
    'sum:trace.http.request.errors{service:videokit-api AND env:prod-eu-west-1 AND tenant IN (tn-4582,tn-9014)} .as_count().rollup(sum, 60).fill(zero)',
  );
});

test.each(['v1', 'v2'] as const)(
  '%s: a healthy canary passes; noise at low traffic does not fail it',
  async (api) => {
    const r = await runGate(options(criteria(api)), silentLogger);
    expect(r.verdict).toBe('pass');
    const rate = r.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    expect(rate.provider).toBe(`datadog-${api}`);
    expect(rate.measurements).toHaveLength(30);
    // Minute 3 alone breaks 1%, which a plain threshold would count as a failure.
    expect(rate.measurements[2].value).toBeCloseTo(2 / 120);
    expect(rate.measurements.every((m) => m.phase === 'successful')).toBe(true);
    expect(dd.requests.every((q) => q.hadKeys)).toBe(true);
    if (api === 'v2') {
      const body = dd.requests.find((q) => q.path === '/api/v2/query/timeseries')!.body;
      expect(body.data.type).toBe('timeseries_request');
      expect(body.data.attributes).toMatchObject({
        from: T,
        to: T + 30 * MIN,
        interval: MIN,
        formulas: [{ formula: 'q' }],
      });
      expect(body.data.attributes.queries[0]).toMatchObject({ data_source: 'metrics', name: 'q' });
    } else {
      const q = dd.requests.find((x) => x.path === '/api/v1/query')!;
      expect(q.method).toBe('GET');
      expect(Number(q.query.from)).toBe(T / 1000);
      expect(Number(q.query.to)).toBe((T + 30 * MIN) / 1000);
    }
  },
);

test.each(['v1', 'v2'] as const)('%s: a 5%% regression fails and names the time', async (api) => {
  shape = { ...healthy, errors: () => 6 };
  const r = await runGate(options(criteria(api)), silentLogger);
  expect(r.verdict).toBe('fail');
  // min-sample 100: judged from minute 1 (120 requests); failure-limit 2 → third failure.
  expect(r.failedAt).toBe(new Date(T + 3 * MIN).toISOString());
});

test.each(['v1', 'v2'] as const)('%s: null points are missing data, never zero', async (api) => {
  // quota denials `== 0` would pass if nulls were read as zero.
  shape = { ...healthy, denials: () => null };
  const r = await runGate(options(criteria(api)), silentLogger);
  expect(r.verdict).toBe('inconclusive');
  const denials = r.metrics.find((m) => m.name === 'quota-denials-outside-canary')!;
  expect(denials.measurements[0]).toMatchObject({ value: null, phase: 'inconclusive' });
  expect(r.reason).toMatch(/quota-denials-outside-canary: 3 consecutive inconclusive/);
});

test('a single null point is one inconclusive measurement within inconclusive-limit', async () => {
  shape = { ...healthy, p99: (t) => (minuteOf(t) === 5 ? null : 0.3) };
  const r = await runGate(options(criteria('v1')), silentLogger);
  expect(r.verdict).toBe('pass');
  const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
  expect(p99.measurements[4]).toMatchObject({ value: null, phase: 'inconclusive' });
  expect(p99.measurements[5]).toMatchObject({ value: 0.3, phase: 'successful' });
});

test.each(['v1', 'v2'] as const)('%s: an empty series is no data: inconclusive', async (api) => {
  shape = { ...healthy, p99: 'empty' };
  const r = await runGate(options(criteria(api)), silentLogger);
  expect(r.verdict).toBe('inconclusive');
  expect(r.reason).toMatch(/p99-latency.*no data: the query returned no value/);
});

test.each(['v1', 'v2'] as const)(
  '%s: a grouped query (one series per tenant) is an error naming the fix, never a value',
  async (api) => {
    // Two tenants: one healthy, one at 50% errors. Picking either series would be wrong.
    shape = { ...healthy, p99: [() => 0.3, () => 2.5] };
    const log = recordingLogger();
    const r = await runGate(options(criteria(api)), log);
    expect(r.verdict).toBe('inconclusive');
    const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
    expect(p99.successful).toBe(0);
    expect(p99.measurements[0]).toMatchObject({ phase: 'error', value: null });
    expect(p99.measurements[0].message).toMatch(
      new RegExp(`datadog ${api}: query for p99-latency returned 2 series; aggregate it`),
    );
  },
);

test('v1: a pointlist in any order is aligned by time, nulls stay gaps', async () => {
  const newest = await startFakeDatadog({
    apiKey: API_KEY,
    appKey: APP_KEY,
    v1Newest: true,
    series: (q) => {
      if (q.includes('trace.http.request.errors')) return () => 0;
      if (q.includes('trace.http.request.hits')) return () => 120;
      if (q.startsWith('p99:')) return (t) => (minuteOf(t) === 7 ? null : 0.3 + minuteOf(t) / 1000);
      if (q.includes('quota_denials')) return () => 0;
      return 'empty';
    },
  });
  try {
    const r = await runGate(
      options(criteria('v1'), {
        datadog: { apiKey: API_KEY, appKey: APP_KEY, baseUrl: newest.url },
      }),
      silentLogger,
    );
    const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
    expect(p99.measurements.slice(0, 8).map((m) => m.value)).toEqual([
      0.301,
      0.302,
      0.303,
      0.304,
      0.305,
      0.306,
      null,
      0.308,
    ]);
    expect(p99.measurements[6].phase).toBe('inconclusive');
  } finally {
    await newest.stop();
  }
});

test('429: waits X-RateLimit-Reset seconds (observed through the injected sleep), then succeeds', async () => {
  dd.failNext(429, 2, {
    'X-RateLimit-Limit': '100',
    'X-RateLimit-Period': '60',
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': '7',
  });
  const sleeps: number[] = [];
  const log = recordingLogger();
  const r = await runGate(
    options(criteria('v2'), { sleep: async (ms) => void sleeps.push(ms) }),
    log,
  );
  expect(r.verdict).toBe('pass');
  expect(sleeps).toEqual([7000, 7000]);
  expect(
    log.lines.filter((l) => /HTTP 429 \(rate limited\); retrying in 7\.0 s/.test(l)),
  ).toHaveLength(2);
  expect(dd.requests.filter((q) => q.path === '/api/v2/query/timeseries').length).toBe(4 + 2);
});

test('429 that never clears: gives up after maxRetries and reports a provider error', async () => {
  dd.failNext(429, 3, { 'X-RateLimit-Reset': '2' });
  const sleeps: number[] = [];
  const c = criteria('v2');
  c.metrics = [c.metrics[1]];
  const r = await runGate(
    options(c, { sleep: async (ms) => void sleeps.push(ms), maxRetries: 2 }),
    silentLogger,
  );
  expect(sleeps).toEqual([2000, 2000]);
  expect(r.verdict).toBe('inconclusive');
  expect(r.reason).toMatch(/consecutive provider errors.*HTTP 429/);
});

test('5xx: a 503 is retried; persistent 500s hit consecutive-error-limit (live mode)', async () => {
  dd.failNext(503, 1);
  const sleeps: number[] = [];
  const c = criteria('v2', 3 * MIN);
  c.metrics = [c.metrics[1]];
  let clock = T;
  const live = {
    mode: 'live' as const,
    now: () => clock,
    sleep: async (ms: number) => void (sleeps.push(ms), (clock += ms)),
  };
  const ok = await runGate(options(c, live), silentLogger);
  expect(ok.verdict).toBe('pass');
  expect(sleeps.filter((s) => s === 1000)).toHaveLength(1); // the 503 backoff

  dd.failNext(500, 50);
  clock = T;
  const r = await runGate(options(c, live), silentLogger);
  expect(r.verdict).toBe('inconclusive');
  expect(r.metrics[0].measurements.map((m) => m.phase)).toEqual([
    'error',
    'error',
    'error',
    'error',
    'error',
  ]);
  expect(r.reason).toMatch(/5 consecutive provider errors \(consecutive-error-limit 4\).*HTTP 500/);
  dd.failNext(0, 0);
});

test('bad keys: a clear error naming the inputs, with the keys absent from the message and log', async () => {
  const log = recordingLogger();
  const wrongApi = 'dd-api-WRONGWRONGWRONGWRONGWRONGWRONG';
  const wrongApp = 'dd-app-WRONGWRONGWRONGWRONGWRONGWRONGWRONGWR';
  const err = await runGate(
    {
      ...options(criteria('v2')),
      datadog: { apiKey: wrongApi, appKey: wrongApp, baseUrl: dd.url },
    },
    log,
  ).catch((e) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toMatch(
    /rejected the API or application key \(HTTP 403\).*datadog-api-key and datadog-app-key/,
  );
  for (const text of [err.message, ...log.lines]) {
    expect(text).not.toContain(wrongApi);
    expect(text).not.toContain(wrongApp);
  }
});

test('missing keys and unknown sites are configuration errors', async () => {
  await expect(
    runGate({ ...options(criteria('v2')), datadog: { apiKey: '', appKey: APP_KEY } }, silentLogger),
  ).rejects.toThrow(/input 'datadog-api-key': is required/);
  await expect(
    runGate(
      {
        ...options(criteria('v2')),
        datadog: { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.moon' },
      },
      silentLogger,
    ),
  ).rejects.toThrow(/input 'datadog-site': unknown Datadog site 'datadoghq.moon'/);
});

test('the Datadog client is loaded only when a Datadog metric is measured', async () => {
  const script = resolve(import.meta.dirname, 'fixtures/lazy-load.mts');
  const tsx = resolve(import.meta.dirname, '../../node_modules/.bin/tsx');
  // Asynchronous: the fake Datadog answers from this process while the child runs.
  const runChild = (args: string[]) =>
    new Promise<string>((done) => {
      const child = spawn(tsx, [script, ...args]);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', () => done(out.trim().split('\n').pop()!));
    });
  const [other, datadog] = await Promise.all([
    runChild(['prometheus']),
    runChild(['datadog', dd.url]),
  ]);
  expect(JSON.parse(other)).toEqual({ datadogLoaded: false });
  expect(JSON.parse(datadog)).toEqual({ datadogLoaded: true });
});

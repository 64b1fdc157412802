/**
 * The gate against a real Prometheus serving generated canary scenarios (see
 * test/support/gate-prometheus.ts), directly and through a Grafana-style proxy fake.
 */
import { resolve } from 'node:path';
import { silentLogger, recordingLogger, ConfigError } from '../../src/errors.js';
import { loadCriteria, runGate } from '../../src/gate/index.js';
import {
  describePrometheus,
  scenarioOpenMetrics,
  scenarioStart,
  startPrometheus,
  CANARY_TENANTS,
  type RunningPrometheus,
} from '../support/gate-prometheus.js';
import { startFakeGrafana, type FakeGrafana } from '../support/gate-grafana.js';

const run = describePrometheus();
const d = run ? describe : describe.skip;
const criteriaFile = resolve(import.meta.dirname, '../../examples/paket7/gate/prometheus.yml');
const MIN = 60_000;

d('canary gate against a real Prometheus', () => {
  let prom: RunningPrometheus;
  let grafana: FakeGrafana;
  const S = scenarioStart();
  const windowStart = S + 2 * MIN;
  const windowEnd = windowStart + 30 * MIN;

  beforeAll(async () => {
    prom = await startPrometheus(scenarioOpenMetrics(S));
    grafana = await startFakeGrafana({
      prometheusUrl: prom.url,
      token: 'glsa_test_token_123',
      uid: 'prom-eu',
    });
  });
  afterAll(async () => {
    await grafana?.stop();
    await prom?.stop();
  });

  const criteria = (service: string, durationMs?: number) =>
    loadCriteria(criteriaFile, { service, tenants: CANARY_TENANTS }, { durationMs });

  test('backtest: a healthy canary passes and every metric is measured', async () => {
    const r = await runGate(
      {
        criteria: criteria('checkout-healthy'),
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('pass');
    expect(r.failedAt).toBeUndefined();
    const rate = r.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    expect(rate.measurements).toHaveLength(30);
    expect(rate.status).toBe('successful');
    const last = rate.measurements[29];
    expect(last.pooled!.denominator).toBeGreaterThan(10_000);
    expect(last.estimate!).toBeLessThan(0.01);
    expect(last.upper!).toBeLessThan(0.01);
    const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
    expect(p99.measurements.every((m) => m.value !== null && m.value < 0.5)).toBe(true);
    expect(p99.measurements[0].threshold).toBe(0.5);
    const denials = r.metrics.find((m) => m.name === 'quota-denials-outside-canary')!;
    expect(denials.measurements.every((m) => m.value === 0)).toBe(true);
  });

  test('backtest: a 5% error regression fails at the first look and names the time', async () => {
    const c = criteria('checkout-regression');
    const r = await runGate(
      {
        criteria: c,
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('fail');
    // 5% over ~600 requests is far beyond noise even at the first look's sliver of the budget:
    // the sequential test fails at once (failure-limit applies to value metrics only).
    expect(r.reason).toMatch(
      /^canary-5xx-rate failed the sequential rate test.*whole canary rate .*breaks < 1%: p = /,
    );
    expect(c.failureLimit).toBe(2);
    expect(Date.parse(r.failedAt!)).toBe(windowStart + MIN);
    const rate = r.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    expect(rate.measurements.map((m) => m.phase)).toEqual(['failed']);
    expect(rate.measurements[0].lower!).toBeGreaterThan(0.01);
  });

  test('backtest: a canary with no traffic is inconclusive, never a pass', async () => {
    const r = await runGate(
      {
        criteria: criteria('checkout-idle'),
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/canary-5xx-rate.*no data: no requests/);
    const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
    // histogram_quantile over zero traffic is NaN: no data, not a fast latency.
    expect(p99.measurements[0].value).toBeNull();
    expect(p99.measurements[0].phase).toBe('inconclusive');
  });

  test('live: measures each interval at the injected clock and passes a healthy canary', async () => {
    let clock = windowStart;
    const sleeps: number[] = [];
    const log = recordingLogger();
    const r = await runGate(
      {
        criteria: criteria('checkout-healthy', 5 * MIN),
        mode: 'live',
        prometheus: { url: prom.url },
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      },
      log,
    );
    expect(r.verdict).toBe('pass');
    expect(sleeps).toEqual([MIN, MIN, MIN, MIN, MIN]);
    expect(r.metrics[0].measurements).toHaveLength(5);
    expect(log.lines.some((l) => l.includes('canary-5xx-rate') && l.includes('ok'))).toBe(true);
  });

  test('live: a regression fails at the first measurement', async () => {
    let clock = windowStart;
    const r = await runGate(
      {
        criteria: criteria('checkout-regression'),
        mode: 'live',
        prometheus: { url: prom.url },
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
      },
      silentLogger,
    );
    expect(r.verdict).toBe('fail');
    expect(Date.parse(r.failedAt!)).toBe(windowStart + MIN);
  });

  test('grafana: the same queries through the data source proxy with a service-account token', async () => {
    const before = grafana.requests.length;
    const r = await runGate(
      {
        criteria: criteria('checkout-regression'),
        mode: 'backtest',
        provider: 'grafana',
        grafana: { url: grafana.url, token: 'glsa_test_token_123', datasourceUid: 'prom-eu' },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('fail');
    expect(r.metrics[0].provider).toBe('grafana');
    const paths = grafana.requests.slice(before);
    expect(paths.length).toBeGreaterThan(0);
    expect(
      paths.every((p) =>
        /^\/api\/datasources\/proxy\/uid\/prom-eu\/api\/v1\/(query_range|series|labels)\?/.test(p),
      ),
    ).toBe(true);
    const healthy = await runGate(
      {
        criteria: criteria('checkout-healthy'),
        mode: 'backtest',
        provider: 'grafana',
        grafana: { url: grafana.url + '/', token: 'glsa_test_token_123', datasourceUid: 'prom-eu' },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(healthy.verdict).toBe('pass');
  });

  test('grafana: a canary with no traffic through the proxy is inconclusive, never a pass', async () => {
    const before = grafana.requests.length;
    const r = await runGate(
      {
        criteria: criteria('checkout-idle'),
        mode: 'backtest',
        provider: 'grafana',
        grafana: { url: grafana.url, token: 'glsa_test_token_123', datasourceUid: 'prom-eu' },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('inconclusive');
    expect(r.failedAt).toBeUndefined();
    expect(r.reason).toMatch(/canary-5xx-rate.*no data: no requests/);
    expect(r.metrics.every((m) => m.provider === 'grafana')).toBe(true);
    expect(grafana.requests.length).toBeGreaterThan(before);
    const rate = r.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    expect(rate.successful).toBe(0);
    expect(rate.status).toBe('inconclusive');
    // Zero requests: the rate has no value, never 0%.
    expect(rate.measurements.every((m) => m.value === null && m.phase === 'inconclusive')).toBe(
      true,
    );
    const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
    expect(p99.measurements[0].value).toBeNull();
    expect(p99.measurements[0].phase).toBe('inconclusive');
  });

  test('grafana live: no traffic through the proxy is inconclusive after inconclusive-limit', async () => {
    let clock = windowStart;
    const before = grafana.requests.length;
    const c = criteria('checkout-idle');
    const r = await runGate(
      {
        criteria: c,
        mode: 'live',
        provider: 'grafana',
        grafana: { url: grafana.url, token: 'glsa_test_token_123', datasourceUid: 'prom-eu' },
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
      },
      silentLogger,
    );
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/consecutive inconclusive measurement\(s\) \(inconclusive-limit 2\)/);
    const rate = r.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    expect(rate.measurements).toHaveLength(c.inconclusiveLimit + 1);
    expect(rate.successful).toBe(0);
    const paths = grafana.requests.slice(before);
    expect(paths.length).toBeGreaterThan(0);
    expect(
      paths.every((p) =>
        /^\/api\/datasources\/proxy\/uid\/prom-eu\/api\/v1\/(query|series|labels)\?/.test(p),
      ),
    ).toBe(true);
  });

  test('grafana: a wrong token is a clear error that does not contain the token', async () => {
    const err = await runGate(
      {
        criteria: criteria('checkout-healthy'),
        mode: 'backtest',
        provider: 'grafana',
        grafana: { url: grafana.url, token: 'glsa_wrong_secret_999', datasourceUid: 'prom-eu' },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/grafana-token.*rejected the credentials \(HTTP 401\)/);
    expect(err.message).not.toContain('glsa_wrong_secret_999');
  });

  test('a regression starting at minute 25 of 30 fails the gate with default settings', async () => {
    const c = criteria('checkout-late');
    const rate = c.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    expect(rate.lookbackIntervals).toBe(5); // the default, not set for this
    const r = await runGate(
      {
        criteria: c,
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('fail');
    const failedMinute = (Date.parse(r.failedAt!) - windowStart) / MIN;
    expect(failedMinute).toBeGreaterThan(25);
    expect(failedMinute).toBeLessThanOrEqual(30);
    expect(r.reason).toMatch(/^canary-5xx-rate .*last 5 interval\(s\) rate/);
    // Pooled since the start, the same counts stay under 1% by the end: the window caught it.
    const last = r.metrics[0].measurements.at(-1)!;
    expect(last.pooled!.numerator / last.pooled!.denominator).toBeLessThan(0.01);
    expect(last.window!.numerator / last.window!.denominator).toBeGreaterThan(0.02);
    const pooledOnly = await runGate(
      {
        criteria: { ...c, metrics: c.metrics.map((m) => ({ ...m, lookbackIntervals: undefined })) },
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(pooledOnly.verdict).toBe('pass');
  });

  test('a selector matching no series is inconclusive, not a pass', async () => {
    // The service labels its status `code`; a criterion written for `status` matches nothing.
    const mislabelled = (absentIsZero: boolean) => {
      const c = criteria('checkout-healthy');
      c.metrics = c.metrics.map((m) =>
        m.name === 'canary-5xx-rate'
          ? {
              ...m,
              numerator: m.numerator!.replace('code=~', 'status=~') + ' or vector(0)',
              absentIsZero,
            }
          : m,
      );
      return c;
    };
    for (const absentIsZero of [false, true]) {
      const r = await runGate(
        {
          criteria: mislabelled(absentIsZero),
          mode: 'backtest',
          prometheus: { url: prom.url },
          start: windowStart,
          end: windowEnd,
        },
        silentLogger,
      );
      expect(r.verdict).toBe('inconclusive');
      expect(r.reason).toMatch(
        /^canary-5xx-rate: query matches no series: http_requests_total\{.*status=~"5\.\."\} uses label status, which no http_requests_total series has \(its labels: .*code/,
      );
      expect(r.metrics[0].status).toBe('inconclusive');
    }
    // A label that exists but no series with the value: inconclusive unless absent-is-zero says
    // no series means zero events.
    const noErrorsYet = (absentIsZero: boolean) => {
      const c = criteria('checkout-healthy');
      c.metrics = c.metrics.map((m) =>
        m.name === 'canary-5xx-rate'
          ? { ...m, numerator: m.numerator!.replace('code=~"5.."', 'code="503"'), absentIsZero }
          : m,
      );
      return c;
    };
    const strict = await runGate(
      {
        criteria: noErrorsYet(false),
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(strict.verdict).toBe('inconclusive');
    expect(strict.reason).toMatch(
      /query matches no series: .*code="503".*set absent-is-zero: true/,
    );
    const lenient = await runGate(
      {
        criteria: noErrorsYet(true),
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(lenient.verdict).toBe('pass');
    expect(lenient.metrics[0].measurements.every((m) => m.numerator === 0)).toBe(true);
  });

  test('a query returning several series is a provider error, counted against consecutive-error-limit', async () => {
    const c = criteria('checkout-healthy', 10 * MIN);
    c.metrics = [
      {
        ...c.metrics[1],
        name: 'by-tenant',
        query: 'sum by (tenant) (rate(http_requests_total{service="checkout-healthy"}[1m]))',
      },
    ];
    const r = await runGate(
      {
        criteria: c,
        mode: 'backtest',
        prometheus: { url: prom.url },
        start: windowStart,
        end: windowEnd,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/5 consecutive provider errors.*returned 3 series; aggregate it/);
  });
});

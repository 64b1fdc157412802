/**
 * Edge cases of the gate engine: non-finite values from a provider, the live timeout measured
 * by the real clock, replaying a recording made with other criteria, and charts of long runs.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  loadCriteria,
  parseCriteria,
  renderSummary,
  runGate,
  type MetricsProvider,
} from '../../src/gate/index.js';
import { measure, newMetricState } from '../../src/gate/evaluation.js';
import { exactBounds, rateBounds, wilsonBounds } from '../../src/gate/statistics.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 5, 3, 19, 0);
const criteriaFile = 'examples/paket7/gate/prometheus.yml';
const healthy = 'examples/paket7/gate/recorded/healthy.json';

describe('non-finite values are no data', () => {
  test('NaN never holds a != condition, and a NaN count does not poison the pooled counts', () => {
    const c = parseCriteria(
      `interval: 1m\nduration: 5m\nmetrics:\n  - name: denials\n    query: q\n    condition: "!= 0"\n  - name: rate\n    numerator: e\n    denominator: r\n    condition: "< 1%"\n    unit: ratio\n    min-sample: 10\n`,
    );
    const [denials, rate] = c.metrics;
    const d = measure(denials, newMetricState(), { value: NaN }, T0);
    expect(d.phase).toBe('inconclusive');
    expect(d.value).toBeNull();
    expect(measure(denials, newMetricState(), { value: Infinity }, T0).phase).toBe('inconclusive');

    const state = newMetricState();
    expect(measure(rate, state, { numerator: 1, denominator: NaN }, T0).phase).toBe('inconclusive');
    expect(measure(rate, state, { numerator: NaN, denominator: 100 }, T0 + MIN).phase).toBe(
      'inconclusive',
    );
    expect(state.pooledDenominator).toBe(0);
    const ok = measure(rate, state, { numerator: 0, denominator: 500 }, T0 + 2 * MIN);
    expect(ok).toMatchObject({ phase: 'successful', pooled: { numerator: 0, denominator: 500 } });
  });
});

describe('live mode', () => {
  test('stops at the timeout by the real clock when slow queries (e.g. 429 backoff) used it up', async () => {
    let clock = T0;
    const queried: number[] = [];
    const slow: MetricsProvider = {
      name: 'slow',
      instant: async (_ref, at) => {
        queried.push(at);
        clock += 4 * MIN; // every query waits out four minutes of rate limiting
        return 0.2;
      },
      range: async () => [],
    };
    const r = await runGate(
      {
        criteria: parseCriteria(
          `interval: 1m\nduration: 5m\nmetrics:\n  - name: latency\n    query: q\n    condition: "< 500ms"\n    unit: seconds\n`,
        ),
        mode: 'live',
        timeoutMs: 10 * MIN,
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
        providerFactory: () => slow,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/^timeout after 600 s/);
    // Queried at 1, 5 and 9 minutes of real time; the fourth would start at 13 minutes.
    expect(queried).toHaveLength(3);
    expect(clock - T0).toBeLessThanOrEqual(13 * MIN);
  });
});

describe('replay of a recording made with other criteria', () => {
  test('a different interval is a ConfigError naming the interval, not a silent misjudgement', async () => {
    const err = await runGate(
      {
        criteria: loadCriteria(criteriaFile, {}, { intervalMs: 2 * MIN }),
        mode: 'replay',
        replayFile: healthy,
      },
      silentLogger,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(
      /input 'interval'.*measured every 60 s but the criteria's interval is 120 s/,
    );
  });

  test('values recorded in seconds are converted when the metric is now in milliseconds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-replay-'));
    const file = join(dir, 'criteria.yml');
    writeFileSync(
      file,
      readFileSync(criteriaFile, 'utf8').replace(
        'condition: "< 500ms"\n    unit: seconds\n    dry-run: true',
        'condition: "< 250ms"\n    unit: milliseconds',
      ),
    );
    const log = recordingLogger();
    const r = await runGate({ criteria: file, mode: 'replay', replayFile: healthy }, log);
    const p99 = r.metrics.find((m) => m.name === 'p99-latency')!;
    expect(p99.unit).toBe('milliseconds');
    // Recorded ~0.3 s is 300 ms: above 250 ms (unconverted, 0.3 < 250 would hold).
    expect(p99.measurements[0].value).toBeGreaterThan(250);
    expect(p99.measurements[0].phase).toBe('failed');
    expect(r.verdict).toBe('fail');
    expect(log.lines.join('\n')).toMatch(
      /'p99-latency' was recorded in seconds; values converted to milliseconds/,
    );
  });

  test('a unit that cannot be converted is a ConfigError at the metric', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-replay-'));
    const file = join(dir, 'criteria.yml');
    writeFileSync(
      file,
      readFileSync(criteriaFile, 'utf8').replace(
        'condition: "< 500ms"\n    unit: seconds',
        'condition: "< 500"\n    unit: count',
      ),
    );
    await expect(
      runGate({ criteria: file, mode: 'replay', replayFile: healthy }, silentLogger),
    ).rejects.toThrow(
      /criteria\.yml:\d+.*'p99-latency' has unit count but was recorded in seconds/,
    );
  });

  test('a query role the recording lacks warns by name and is inconclusive, never a pass', async () => {
    const log = recordingLogger();
    const c = parseCriteria(
      `interval: 1m\nduration: 30m\nmetrics:\n  - name: 5xx-rate-vs-stable\n    numerator: slow_requests\n    denominator: requests\n    condition: "< 1%"\n    unit: ratio\n`,
    );
    const r = await runGate({ criteria: c, mode: 'replay', replayFile: healthy }, log);
    expect(r.verdict).toBe('inconclusive');
    expect(log.lines.join('\n')).toMatch(
      /warning: replay: the recording has no numerator query for '5xx-rate-vs-stable'/,
    );
  });
});

test('replay: a recorded provider error replays as an error, not as missing data', async () => {
  const recording = JSON.parse(readFileSync(healthy, 'utf8'));
  const p99 = recording.metrics.find((m: { name: string }) => m.name === 'p99-latency');
  // One 429 that outlasted its retries, tolerated live by consecutive-error-limit 4.
  p99.measurements[10] = {
    at: p99.measurements[10].at,
    phase: 'error',
    value: null,
    message: 'prometheus: HTTP 429 from /api/v1/query',
  };
  const dir = mkdtempSync(join(tmpdir(), 'gate-replay-'));
  const file = join(dir, 'with-error.json');
  writeFileSync(file, JSON.stringify(recording));
  const r = await runGate(
    { criteria: criteriaFile, mode: 'replay', replayFile: file },
    silentLogger,
  );
  expect(r.verdict).toBe('pass');
  const m = r.metrics.find((x) => x.name === 'p99-latency')!;
  expect(m.errors).toBe(1);
  expect(m.inconclusive).toBe(0);
  expect(m.measurements[10]).toMatchObject({
    phase: 'error',
    message: 'recorded: prometheus: HTTP 429 from /api/v1/query',
  });
});

describe('job summary charts', () => {
  test('a long run is bucketed to at most 36 labelled points and keeps its worst value', async () => {
    const spikeAt = T0 + 137 * MIN;
    const p: MetricsProvider = {
      name: 'memory',
      instant: async () => null,
      range: async (_ref, start, end, step) => {
        const pts = [];
        for (let t = start; t <= end; t += step) pts.push({ t, v: t === spikeAt ? 0.45 : 0.2 });
        return pts;
      },
    };
    const r = await runGate(
      {
        criteria: parseCriteria(
          `interval: 1m\nduration: 4h\nmetrics:\n  - name: latency\n    query: q\n    condition: "< 500ms"\n    unit: seconds\n`,
        ),
        mode: 'backtest',
        start: T0,
        end: T0 + 240 * MIN,
        providerFactory: () => p,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('pass');
    expect(r.metrics[0].measurements).toHaveLength(240);
    const md = renderSummary(r);
    const chart = /```mermaid\n([\s\S]*?)```/.exec(md)![1];
    const labels = /x-axis \[(.*)\]/.exec(chart)![1].split(', ');
    expect(labels).toHaveLength(36);
    expect(labels[0]).toBe('"19:06"');
    expect(labels[35]).toBe('"23:00"');
    const lines = [...chart.matchAll(/line \[(.*)\]/g)].map((m) => m[1].split(', ').map(Number));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toHaveLength(36);
    expect(Math.max(...lines[0])).toBe(0.45);
    expect(md).toContain('240 measurements in 36 points (worst of each).');
  });
});

describe('rate bounds at tiny samples', () => {
  test('exact binomial bounds match their closed forms', () => {
    // x = 1: P(X >= 1) = 1 - (1 - p)^n = alpha; x = 0: P(X = 0) = (1 - p)^n = alpha.
    expect(exactBounds(1, 2, 0.99)!.lower).toBeCloseTo(1 - Math.sqrt(0.99), 8);
    expect(exactBounds(1, 20, 0.99)!.lower).toBeCloseTo(1 - 0.99 ** (1 / 20), 8);
    expect(exactBounds(0, 50, 0.99)!.upper).toBeCloseTo(1 - 0.01 ** (1 / 50), 8);
    expect(exactBounds(3, 3, 0.95)!.lower).toBeCloseTo(0.05 ** (1 / 3), 8);
  });

  test('a few errors in a small sample are judged by the exact bound; many by Wilson', () => {
    expect(wilsonBounds(2, 20, 0.99)!.lower).toBeGreaterThan(0.02);
    expect(rateBounds(2, 20, 0.99)!.lower).toBeLessThan(0.01);
    expect(rateBounds(35, 579, 0.99)).toEqual(wilsonBounds(35, 579, 0.99));
    // Few non-events: the upper bound widens the same way (for "> 99%" conditions).
    expect(rateBounds(19, 20, 0.99)!.upper).toBeGreaterThan(wilsonBounds(19, 20, 0.99)!.upper);
  });

  test('with min-sample 0, one error in the first two requests does not fail a < 1% rate', () => {
    const [rate] = parseCriteria(
      `interval: 1m\nduration: 5m\nmetrics:\n  - name: rate\n    numerator: e\n    denominator: r\n    condition: "< 1%"\n    unit: ratio\n    min-sample: 0\n`,
    ).metrics;
    const state = newMetricState();
    expect(measure(rate, state, { numerator: 1, denominator: 2 }, T0).phase).toBe('successful');
    expect(measure(rate, state, { numerator: 1, denominator: 18 }, T0 + MIN).phase).toBe(
      'successful',
    );
    // A real 5% rate still fails once the sample is large enough.
    expect(measure(rate, state, { numerator: 25, denominator: 480 }, T0 + 2 * MIN).phase).toBe(
      'failed',
    );
  });
});

describe('messages read in the unit of the condition', () => {
  test('a failed rate reports percentages like its "< 1%" condition', async () => {
    const r = await runGate(
      {
        criteria: criteriaFile,
        mode: 'replay',
        replayFile: 'examples/paket7/gate/recorded/regression.json',
      },
      silentLogger,
    );
    expect(r.reason).toBe(
      'canary-5xx-rate failed the sequential rate test; last value 6.045% vs < 1%: last 5 interval(s) rate 2.246% (66/2939) breaks < 1%: p = 3.5e-9 ≤ 0.000015, the share of the 1% false-fail budget spent at look 9',
    );
    const dry = r.metrics.find((m) => m.name === '5xx-rate-vs-stable')!;
    expect(dry.measurements.at(-1)!.threshold).toBeGreaterThan(0);
  });

  test('a pass says which failed or inconclusive measurements the limits let through', async () => {
    const values = [0.2, 0.7, 0.2, null, 0.2, 0.2];
    const p: MetricsProvider = {
      name: 'memory',
      instant: async () => null,
      range: async (_ref, start, _end, step) => values.map((v, i) => ({ t: start + i * step, v })),
    };
    const r = await runGate(
      {
        criteria: parseCriteria(
          `interval: 1m\ncount: 6\nfailure-limit: 1\ninconclusive-limit: 1\nmetrics:\n  - name: latency\n    query: q\n    condition: "< 500ms"\n    unit: seconds\n`,
        ),
        mode: 'backtest',
        start: T0,
        end: T0 + 6 * MIN,
        providerFactory: () => p,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('pass');
    expect(r.reason).toBe(
      'every criterion held for 6 measurement(s) over 6 min (within the limits: latency 1 failed, 1 inconclusive)',
    );
  });
});

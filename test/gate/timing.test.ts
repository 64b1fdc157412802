/**
 * Measurement timing and limit semantics of `runGate`, with an in-memory provider and an
 * injected clock: `query-delay` for late-arriving data, and `failure-limit` counting
 * consecutive (not total) failed measurements.
 */
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  parseCriteria,
  runGate,
  type MetricsProvider,
  type QueryRef,
} from '../../src/gate/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 5, 3, 19, 0);

const text = (extra: string) =>
  `interval: 1m\nduration: 5m\n${extra}metrics:\n  - name: latency\n    query: q\n    condition: "< 500ms"\n    unit: seconds\n`;

/** A provider whose value at time t is `valueAt(t)`; records each instant query's time and the clock then. */
function provider(valueAt: (t: number) => number | null, clock: () => number) {
  const instants: { at: number; queriedAt: number }[] = [];
  const ranges: { start: number; end: number }[] = [];
  const p: MetricsProvider = {
    name: 'memory',
    instant: async (_ref: QueryRef, at: number) => {
      instants.push({ at, queriedAt: clock() });
      return valueAt(at);
    },
    range: async (_ref: QueryRef, start: number, end: number, step: number) => {
      ranges.push({ start, end });
      const pts = [];
      for (let t = start; t <= end; t += step) pts.push({ t, v: valueAt(t) });
      return pts;
    },
  };
  return { p, instants, ranges };
}

describe('query-delay', () => {
  test('is parsed to milliseconds and defaults to 0', () => {
    expect(parseCriteria(text('')).queryDelayMs).toBe(0);
    expect(parseCriteria(text('query-delay: 90s\n')).queryDelayMs).toBe(90_000);
    expect(() => parseCriteria(text('query-delay: later\n'), 'c.yml')).toThrow(
      /c\.yml:3: query-delay: 'later' is not a duration/,
    );
  });

  test('live: each window is queried query-delay after it ended, and still stands for its end', async () => {
    let clock = T0;
    const { p, instants } = provider(
      () => 0.2,
      () => clock,
    );
    const r = await runGate(
      {
        criteria: parseCriteria(text('query-delay: 2m\n')),
        mode: 'live',
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
        providerFactory: () => p,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('pass');
    expect(instants.map((q) => q.at)).toEqual([1, 2, 3, 4, 5].map((k) => T0 + k * MIN));
    expect(instants.every((q) => q.queriedAt === q.at + 2 * MIN)).toBe(true);
    expect(r.window).toEqual({
      start: new Date(T0 + MIN).toISOString(),
      end: new Date(T0 + 5 * MIN).toISOString(),
    });
  });

  test('live: the default timeout leaves room for the delay', async () => {
    let clock = T0;
    const { p, instants } = provider(
      () => null,
      () => clock,
    );
    const c = parseCriteria(text('query-delay: 10m\ninconclusive-limit: 100\n'));
    const r = await runGate(
      {
        criteria: c,
        mode: 'live',
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
        providerFactory: () => p,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/^timeout after 1200 s/);
    // delay 10 min + (5 + 5) intervals: ten measurements, the last queried at T0 + 20 min.
    expect(instants).toHaveLength(10);
    expect(instants[9].queriedAt).toBe(T0 + 20 * MIN);
  });

  test('backtest without an end: the window ends query-delay before now', async () => {
    const now = T0 + 60 * MIN;
    const { p, ranges } = provider(
      () => 0.2,
      () => now,
    );
    const r = await runGate(
      {
        criteria: parseCriteria(text('query-delay: 3m\n')),
        mode: 'backtest',
        now: () => now,
        providerFactory: () => p,
      },
      silentLogger,
    );
    expect(r.verdict).toBe('pass');
    expect(ranges[0]).toEqual({ start: now - 3 * MIN - 4 * MIN, end: now - 3 * MIN });
    expect(r.window.end).toBe(new Date(now - 3 * MIN).toISOString());
  });

  test('backtest with an explicit end ignores the delay', async () => {
    const now = T0 + 60 * MIN;
    const { p, ranges } = provider(
      () => 0.2,
      () => now,
    );
    await runGate(
      {
        criteria: parseCriteria(text('query-delay: 3m\n')),
        mode: 'backtest',
        end: 'now',
        now: () => now,
        providerFactory: () => p,
      },
      silentLogger,
    );
    expect(ranges[0].end).toBe(now);
  });
});

describe('failure-limit counts consecutive failed measurements (not Argo total failures)', () => {
  // Fails at minutes 1, 3, 5, 7: four failures in total, never two in a row.
  const alternating = (t: number) => (((t - T0) / MIN) % 2 === 1 ? 0.9 : 0.2);
  const judge = (failureLimit: number, valueAt: (t: number) => number) =>
    runGate(
      {
        criteria: parseCriteria(
          `interval: 1m\nduration: 8m\nfailure-limit: ${failureLimit}\nmetrics:\n  - name: latency\n    query: q\n    condition: "< 500ms"\n    unit: seconds\n`,
        ),
        mode: 'backtest',
        start: T0,
        end: T0 + 8 * MIN,
        providerFactory: () => provider(valueAt, () => T0).p,
      },
      silentLogger,
    );

  test('isolated failures never exceed failure-limit 1, however many there are', async () => {
    const r = await judge(1, alternating);
    // Argo's failureLimit: 1 would fail at the 2nd failure (minute 3); here the run of failures never exceeds 1.
    expect(r.metrics[0].failed).toBe(4);
    expect(r.verdict).toBe('pass');
  });

  test('failure-limit 0 fails on the first failed measurement', async () => {
    const r = await judge(0, alternating);
    expect(r.verdict).toBe('fail');
    expect(r.failedAt).toBe(new Date(T0 + MIN).toISOString());
  });

  test('two failures in a row exceed failure-limit 1', async () => {
    const r = await judge(1, (t) => (t - T0 >= 4 * MIN ? 0.9 : 0.2));
    expect(r.verdict).toBe('fail');
    expect(r.failedAt).toBe(new Date(T0 + 5 * MIN).toISOString());
    expect(r.reason).toMatch(/failed 2 consecutive measurement\(s\) \(failure-limit 1\)/);
  });
});

test('a count-based rate must be a ratio', () => {
  const bad = `duration: 5m\nmetrics:\n  - name: rate\n    numerator: e\n    denominator: n\n    condition: "< 1%"\n    unit: percent\n`;
  let err: unknown;
  try {
    parseCriteria(bad, 'rate.yml');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).message).toMatch(/rate\.yml:7: .*write unit: ratio/);
});

test('a criteria file using the deprecated pool key runs, with a warning at its line', async () => {
  const c = parseCriteria(
    `duration: 2m\nmetrics:\n  - name: rate\n    numerator: e\n    denominator: n\n    condition: "< 1%"\n    unit: ratio\n    min-sample: 0\n    pool: 2m\n`,
    'old.yml',
  );
  const log = recordingLogger();
  const r = await runGate(
    {
      criteria: c,
      mode: 'backtest',
      start: T0,
      end: T0 + 2 * MIN,
      providerFactory: () => ({
        name: 'memory',
        instant: async () => null,
        range: async (ref, start, end, step) => {
          const pts = [];
          for (let t = start; t <= end; t += step)
            pts.push({ t, v: ref.role === 'numerator' ? 0 : 500 });
          return pts;
        },
      }),
    },
    log,
  );
  expect(r.verdict).toBe('pass');
  expect(log.lines).toContain(
    "warning: metric 'rate': 'pool' is deprecated; write 'lookback' (same meaning) (old.yml:9)",
  );
});

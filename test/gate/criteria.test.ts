/** Criteria schema, conditions, templates and the statistics behind count-based rates. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  loadCriteria,
  measure,
  newMetricState,
  normalQuantile,
  outcome,
  parseCondition,
  parseCriteria,
  renderTemplate,
  wilsonBounds,
} from '../../src/gate/index.js';

describe('conditions', () => {
  test.each([
    ['< 0.01', 'none', { op: '<', threshold: 0.01 }],
    ['< 1%', 'ratio', { op: '<', threshold: 0.01 }],
    ['<= 1.5%', 'percent', { op: '<=', threshold: 1.5 }],
    ['< 500ms', 'seconds', { op: '<', threshold: 0.5 }],
    ['<= 0.5s', 'milliseconds', { op: '<=', threshold: 500 }],
    ['== 0', 'count', { op: '==', threshold: 0 }],
    ['>= 99.5%', 'ratio', { op: '>=', threshold: 0.995 }],
  ] as const)('%s (unit %s)', (text, unit, expected) => {
    const c = parseCondition(text, unit);
    expect(c.op).toBe(expected.op);
    expect(c.threshold).toBeCloseTo(expected.threshold, 12);
  });

  test('baseline-relative', () => {
    expect(parseCondition('<= baseline * 1.5 + 0.001')).toMatchObject({
      op: '<=',
      relative: { factor: 1.5, offset: 0.001 },
    });
    expect(parseCondition('<= baseline * 1.5 + 0.1%', 'ratio').relative!.offset).toBeCloseTo(
      0.001,
      12,
    );
    expect(parseCondition('< baseline').relative).toEqual({ factor: 1, offset: 0 });
  });

  test('units must be stated before a suffix is used', () => {
    expect(() => parseCondition('< 1%')).toThrow(/uses % but the metric's unit is 'none'/);
    expect(() => parseCondition('< 500ms', 'ratio')).toThrow(/uses ms/);
    expect(() => parseCondition('about 1%', 'ratio')).toThrow(/not understood/);
  });
});

describe('templates', () => {
  const vars = { tenants: ['tn-4582', 'tn-9014'], service: 'videokit-api', env: 'prod-eu-west-1' };
  test('tenants in three formats, service, env and the interval', () => {
    expect(renderTemplate('{tenant=~"{{tenants}}"}', vars, 60_000)).toBe(
      '{tenant=~"tn-4582|tn-9014"}',
    );
    expect(renderTemplate('tenant IN ({{tenants:csv}})', vars, 60_000)).toBe(
      'tenant IN (tn-4582,tn-9014)',
    );
    expect(renderTemplate('{{ tenants:or }}', vars, 60_000)).toBe('tn-4582 OR tn-9014');
    expect(
      renderTemplate('{{service}}/{{env}}[{{interval}}] {{interval_seconds}}', vars, 120_000),
    ).toBe('videokit-api/prod-eu-west-1[120s] 120');
  });
  test('unknown and unset variables are errors', () => {
    expect(() => renderTemplate('{{tenant}}', vars, 60_000)).toThrow(
      /unknown template variable \{\{tenant\}\}/,
    );
    expect(() => renderTemplate('{{tenants}}', {}, 60_000)).toThrow(
      /no tenants were given \(input 'tenants'\)/,
    );
  });
});

describe('criteria files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gate-criteria-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  test('the Paket 7 examples load with the seed tenants; inputs override the file', () => {
    const c = loadCriteria('examples/paket7/gate/prometheus.yml');
    expect(c).toMatchObject({
      intervalMs: 60_000,
      count: 30,
      failureLimit: 2,
      consecutiveErrorLimit: 4,
      inconclusiveLimit: 2,
    });
    expect(c.metrics.map((m) => m.name)).toEqual([
      'canary-5xx-rate',
      'slow-requests',
      'p99-latency',
      'quota-denials-outside-canary',
      '5xx-rate-vs-stable',
    ]);
    expect(c.metrics[0].numerator).toContain('tenant=~"tn-4582|tn-9014"');
    expect(c.metrics[0].numerator).not.toContain('vector(0)');
    expect(c.metrics[0]).toMatchObject({ lookbackIntervals: 5, absentIsZero: true });
    expect(c.metrics[2].condition.threshold).toBe(0.5);
    expect(c.metrics[4].dryRun).toBe(true);
    const o = loadCriteria(
      'examples/paket7/gate/prometheus.yml',
      { tenants: ['tn-1'], service: 'svc' },
      { intervalMs: 30_000, durationMs: 10 * 60_000 },
    );
    expect(o.metrics[0].numerator).toContain('service="svc",tenant=~"tn-1"');
    expect(o.metrics[0].numerator).toContain('[30s]');
    expect(o.count).toBe(20);
    expect(loadCriteria('examples/paket7/gate/datadog.yml').provider).toBe('datadog');
  });

  test('defaults: no-data inconclusive, consecutive-error-limit 4, min-sample 100', () => {
    const c = parseCriteria(
      'duration: 5m\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n',
    );
    expect(c).toMatchObject({
      provider: 'prometheus',
      intervalMs: 60_000,
      count: 5,
      consecutiveErrorLimit: 4,
      failureLimit: 0,
    });
    expect(c.metrics[0]).toMatchObject({
      noData: 'inconclusive',
      minSample: 100,
      confidence: 0.99,
      dryRun: false,
    });
  });

  test.each([
    [
      'a schema violation',
      'duration: 5m\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n    no-data: pass\n',
      6,
      /no-data/,
    ],
    [
      'an unknown key',
      'duration: 5m\nfailure_limit: 3\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n',
      2,
      /failure_limit: is not a known key/,
    ],
    [
      'an unknown metric key',
      'duration: 5m\nmetrics:\n  - name: up\n    query: up\n    threshold: 1\n    condition: "== 1"\n',
      5,
      /metrics.0.threshold: is not a known key \(known: name, provider, query/,
    ],
    [
      'a bad condition',
      'duration: 5m\nmetrics:\n  - name: up\n    query: up\n    condition: "about 1"\n',
      5,
      /not understood/,
    ],
    [
      'an unknown template variable',
      'duration: 5m\nmetrics:\n  - name: up\n    query: up{x="{{region}}"}\n    condition: "== 1"\n',
      4,
      /\{\{region\}\}/,
    ],
    [
      'half a rate',
      'duration: 5m\nmetrics:\n  - name: r\n    numerator: errors\n    condition: "< 1%"\n    unit: ratio\n',
      4,
      /both numerator and denominator/,
    ],
    [
      'a baseline condition without a baseline',
      'duration: 5m\nmetrics:\n  - name: r\n    query: x\n    condition: "<= baseline * 2"\n',
      5,
      /no baseline query/,
    ],
    [
      'no duration',
      'metrics:\n  - name: up\n    query: up\n    condition: "== 1"\n',
      1,
      /duration.*count/,
    ],
    [
      'a bad duration',
      'duration: soon\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n',
      1,
      /not a duration/,
    ],
    [
      'a duplicate metric',
      'duration: 5m\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n  - name: up\n    query: up\n    condition: "== 1"\n',
      6,
      /used twice/,
    ],
  ])('%s is a ConfigError at its file and line', (_what, text, line, message) => {
    const file = write('c.yml', text);
    let err: unknown;
    try {
      loadCriteria(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.location).toEqual({ file, line });
    expect(ce.input).toBe('criteria');
    expect(ce.message).toMatch(message);
  });
});

describe('statistics', () => {
  test('normal quantiles', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.6449, 3);
    expect(normalQuantile(0.99)).toBeCloseTo(2.3263, 3);
  });
  test('Wilson bounds (Brown, Cai & DasGupta 2001, Table values)', () => {
    // 95% two-sided Wilson interval for 1/20 is about [0.0089, 0.2361]: one-sided 97.5% each.
    const b = wilsonBounds(1, 20, 0.975)!;
    expect(b.lower).toBeCloseTo(0.0089, 3);
    expect(b.upper).toBeCloseTo(0.2361, 3);
    expect(wilsonBounds(0, 0, 0.99)).toBeUndefined();
  });
});

describe('judging rates from counts', () => {
  const c = parseCriteria(
    'duration: 30m\nfailure-limit: 2\nmetrics:\n  - name: rate\n    numerator: e\n    denominator: n\n    condition: "< 1%"\n    unit: ratio\n    min-sample: 20\n',
  );
  const metric = c.metrics[0];
  test('1 error in 20 requests does not fail the canary', () => {
    const s = newMetricState();
    const m = measure(metric, s, { numerator: 1, denominator: 20 }, 0);
    expect(m.value).toBe(0.05);
    expect(m.phase).toBe('successful');
    expect(m.lower!).toBeLessThan(0.01);
  });
  test('a real 5% error rate fails at the first look whose test rejects, whatever failure-limit says', () => {
    const s = newMetricState(30);
    // Look 1 may spend only a sliver of the 1% budget: 10 errors in 200 is not yet enough.
    expect(measure(metric, s, { numerator: 10, denominator: 200 }, 60_000).phase).toBe(
      'successful',
    );
    expect(outcome(metric, s, c)).toEqual({ status: 'running' });
    const m = measure(metric, s, { numerator: 10, denominator: 200 }, 120_000);
    expect(m.phase).toBe('failed');
    expect(m.pValue!).toBeLessThanOrEqual(m.alpha!);
    expect(m.message).toMatch(/whole canary rate 5% \(20\/400\) breaks < 1%: p = .* ≤ .*look 2/);
    expect(outcome(metric, s, c)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^rate failed the sequential rate test/),
    });
  });
  test('below min-sample the measurement is pending; zero requests is no data', () => {
    const big = { ...metric, minSample: 100 };
    const s = newMetricState();
    expect(measure(big, s, { numerator: 5, denominator: 50 }, 0).phase).toBe('pending');
    expect(measure(big, s, { numerator: 0, denominator: 0 }, 60_000)).toMatchObject({
      phase: 'inconclusive',
      value: null,
    });
    expect(measure(big, s, { numerator: null, denominator: 80 }, 120_000).message).toMatch(
      /set absent-is-zero: true/,
    );
    const absent = { ...big, absentIsZero: true };
    expect(
      measure(absent, newMetricState(), { numerator: null, denominator: 80 }, 0),
    ).toMatchObject({ numerator: 0, value: 0, phase: 'pending' });
  });
  test('no-data policies: fail, inconclusive, ignore', () => {
    for (const [policy, phase] of [
      ['fail', 'failed'],
      ['inconclusive', 'inconclusive'],
      ['ignore', 'skipped'],
    ] as const) {
      const m = measure(
        {
          ...c.metrics[0],
          numerator: undefined,
          denominator: undefined,
          query: 'q',
          noData: policy,
        },
        newMetricState(),
        { value: null },
        0,
      );
      expect(m.phase).toBe(phase);
    }
  });
});

describe('pooling over a trailing lookback window', () => {
  const text = (lookback: string) =>
    `duration: 60m\nfailure-limit: 0\nmetrics:\n  - name: rate\n    numerator: e\n    denominator: n\n    condition: "< 1%"\n    unit: ratio\n${lookback}`;
  // 40 healthy minutes (0.2%), then a 5% regression.
  const minute = (k: number) =>
    k < 40
      ? { numerator: k % 5 === 0 ? 1 : 0, denominator: 100 }
      : { numerator: 5, denominator: 100 };
  const firstFailure = (lookback: string) => {
    const metric = parseCriteria(text(lookback)).metrics[0];
    const s = newMetricState(60);
    for (let k = 0; k < 60; k++)
      if (measure(metric, s, minute(k), k * 60_000).phase === 'failed') return k;
    return undefined;
  };
  test('a late regression is caught sooner with lookback: 5m than when pooled since the start', () => {
    const all = firstFailure('    lookback: all\n');
    const trailing = firstFailure('    lookback: 5m\n');
    expect(parseCriteria(text('    lookback: 5m\n')).metrics[0].lookbackIntervals).toBe(5);
    expect(parseCriteria(text('')).metrics[0].lookbackIntervals).toBe(5);
    expect(parseCriteria(text('    lookback: all\n')).metrics[0].lookbackIntervals).toBeUndefined();
    expect(trailing).toBe(firstFailure(''));
    expect(trailing).toBeDefined();
    expect(all).toBeDefined();
    expect(trailing!).toBeLessThan(all!);
    expect(trailing! - 40).toBeLessThanOrEqual(4);
  });

  test('the deprecated alias pool still parses, judges the same, and is reported with its line', () => {
    const old = parseCriteria(text('    pool: 5m\n'), 'old.yml');
    expect(old.metrics[0].lookbackIntervals).toBe(5);
    expect(firstFailure('    pool: 5m\n')).toBe(firstFailure('    lookback: 5m\n'));
    expect(old.deprecations).toEqual([
      {
        message: "metric 'rate': 'pool' is deprecated; write 'lookback' (same meaning)",
        location: { file: 'old.yml', line: 9 },
      },
    ]);
    expect(parseCriteria(text('    lookback: 5m\n')).deprecations).toBeUndefined();
  });

  test('lookback and pool together, or a bad lookback, are errors at their line', () => {
    const both = (() => {
      try {
        parseCriteria(text('    lookback: 5m\n    pool: 5m\n'), 'both.yml');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(both).toBeInstanceOf(ConfigError);
    expect(both!.message).toMatch(/lookback only/);
    expect(both!.location).toEqual({ file: 'both.yml', line: 10 });
    const bad = (() => {
      try {
        parseCriteria(text('    lookback: soon\n'), 'bad.yml');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad!.message).toMatch(/lookback.*'soon' is not a duration/);
    expect(bad!.location).toEqual({ file: 'bad.yml', line: 9 });
  });
});

describe('template values are escaped for where they land', () => {
  const vars = { tenants: ['tn.1', 'a"b|c'], service: 'svc"} or vector(1) #', env: 'prod' };
  test('PromQL: regex matchers escape RE2 metacharacters and the string quote', () => {
    expect(renderTemplate('x{tenant=~"{{tenants}}"}', vars, 60_000)).toBe(
      'x{tenant=~"tn\\\\.1|a\\"b\\\\|c"}',
    );
    // An equality matcher escapes only the string literal: the quote cannot end the string.
    expect(renderTemplate('x{service="{{service}}"}', vars, 60_000)).toBe(
      'x{service="svc\\"} or vector(1) #"}',
    );
    expect(renderTemplate("x{service!~'{{env}}'}", vars, 60_000)).toBe("x{service!~'prod'}");
    expect(() => renderTemplate('{{service}}_total', vars, 60_000)).toThrow(
      /outside a quoted label matcher/,
    );
    expect(() => renderTemplate('x{s="{{service}}"}', { service: 'a\nb' }, 60_000)).toThrow(
      /control character/,
    );
  });
  test('Datadog: only tag characters pass; anything else is refused, naming the variable', () => {
    expect(
      renderTemplate(
        'sum:x{tenant IN ({{tenants:csv}})}',
        { tenants: ['tn-1', 'tn/2'] },
        60_000,
        'datadog',
      ),
    ).toBe('sum:x{tenant IN (tn-1,tn/2)}');
    expect(() =>
      renderTemplate('sum:x{service:{{service}}}', { service: 'a} by {host' }, 60_000, 'datadog'),
    ).toThrow(/\{\{service\}\} value "a\} by \{host" is not a Datadog tag value/);
  });
  test('a criteria file names the query line when an input cannot be escaped', () => {
    expect(() =>
      parseCriteria(
        'provider: datadog\nduration: 5m\nmetrics:\n  - name: up\n    query: sum:x{service:{{service}}}\n    condition: "== 1"\n',
        'dd.yml',
        { service: 'x y' },
      ),
    ).toThrow(/dd\.yml:5: .*not a Datadog tag value/);
  });
});

describe('interval: 0s', () => {
  test('is blamed on its own line', () => {
    let err: ConfigError | undefined;
    try {
      parseCriteria(
        'duration: 5m\nfailure-limit: 1\ninterval: 0s\nmetrics:\n  - name: up\n    query: up\n    condition: "== 1"\n',
        'zero.yml',
      );
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.location).toEqual({ file: 'zero.yml', line: 3 });
    expect(err!.message).toMatch(/interval/);
  });
});

/**
 * `npm run bench:gate`: false fails and detection at low traffic, our gate against a plain
 * threshold rule, on seeded simulated canaries.
 *
 * 1,000 healthy canaries (true 5xx rate 0.3%) and 1,000 regressions (true 5xx rate 3%) against
 * the Paket 7 criterion `canary-5xx-rate < 1%` (examples/paket7/gate/prometheus.yml: interval
 * 1m, duration 30m, failure-limit 2, min-sample 100, confidence 0.99). Each canary draws its
 * traffic level uniformly from 20..200 requests per interval; each interval's requests are
 * Poisson, its errors binomial. Both judges see the same counts:
 *
 * - our gate: `runGate` in backtest mode (pooled counts, one-sided Wilson bound, min-sample);
 *   its `failure-limit` counts CONSECUTIVE failed measurements (a success resets the count);
 * - plain rule: each interval's rate errors/requests must be < 1%, and the analysis fails when
 *   the TOTAL number of failed measurements exceeds failureLimit (Argo Rollouts' `failureLimit`
 *   semantics: a success does not reset the count). Both use the same limit (2).
 *
 * Usage: npm run bench:gate [-- --canaries 1000 --seed 42]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/errors.js';
import { loadCriteria, runGate, type MetricsProvider, type Point } from '../src/gate/index.js';
import { seededRandom } from '../test/support/gate-prometheus.js';

const { values } = parseArgs({
  options: {
    canaries: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
  },
});
const N = Number(values.canaries);
const root = resolve(import.meta.dirname, '..');
const base = loadCriteria(resolve(root, 'examples/paket7/gate/prometheus.yml'));
const criteria = { ...base, metrics: base.metrics.filter((m) => m.name === 'canary-5xx-rate') };
const metric = criteria.metrics[0];
const threshold = metric.condition.threshold!;
const MIN = criteria.intervalMs;
const T0 = Date.UTC(2024, 5, 3, 19, 0);

const rnd = seededRandom(Number(values.seed));
function poisson(lambda: number): number {
  // Knuth's multiplication method; lambda <= 200 keeps exp(-lambda) well inside double range.
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rnd();
  } while (p > l);
  return k - 1;
}
function binomial(n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (rnd() < p) x++;
  return x;
}

interface Canary {
  requests: number[];
  errors: number[];
}
function simulate(rate: number): Canary {
  const lambda = 20 + 180 * rnd();
  const requests: number[] = [];
  const errors: number[] = [];
  for (let k = 0; k < criteria.count; k++) {
    const n = poisson(lambda);
    requests.push(n);
    errors.push(binomial(n, rate));
  }
  return { requests, errors };
}

/**
 * Plain rule: interval rate vs threshold; fail when the TOTAL of failed measurements exceeds
 * failureLimit (Argo Rollouts' semantics, not our consecutive `failure-limit`).
 * @returns interval (1-based) of failure
 */
function plainRule(c: Canary): number | undefined {
  let failures = 0;
  for (let k = 0; k < c.requests.length; k++) {
    if (c.requests[k] === 0) continue;
    if (!(c.errors[k] / c.requests[k] < threshold)) failures++;
    if (failures > criteria.failureLimit) return k + 1;
  }
  return undefined;
}

async function ourGate(c: Canary): Promise<{ verdict: string; failedInterval?: number }> {
  const series = (values: number[]): Point[] =>
    values.map((v, k) => ({ t: T0 + (k + 1) * MIN, v }));
  const provider: MetricsProvider = {
    name: 'simulation',
    instant: async () => null,
    range: async (ref) => series(ref.role === 'numerator' ? c.errors : c.requests),
  };
  const r = await runGate(
    {
      criteria,
      mode: 'backtest',
      start: T0,
      end: T0 + criteria.count * MIN,
      providerFactory: () => provider,
    },
    silentLogger,
  );
  return {
    verdict: r.verdict,
    failedInterval: r.failedAt ? Math.round((Date.parse(r.failedAt) - T0) / MIN) : undefined,
  };
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (k: number, n: number) => `${((100 * k) / n).toFixed(1)}%`;

const started = performance.now();
const results = {
  healthy: {
    ours: [] as (number | undefined)[],
    plain: [] as (number | undefined)[],
    oursInconclusive: 0,
  },
  regression: {
    ours: [] as (number | undefined)[],
    plain: [] as (number | undefined)[],
    oursInconclusive: 0,
  },
};
for (const [kind, rate] of [
  ['healthy', 0.003],
  ['regression', 0.03],
] as const) {
  for (let i = 0; i < N; i++) {
    const c = simulate(rate);
    const ours = await ourGate(c);
    results[kind].ours.push(ours.verdict === 'fail' ? ours.failedInterval : undefined);
    if (ours.verdict === 'inconclusive') results[kind].oursInconclusive++;
    results[kind].plain.push(plainRule(c));
  }
}
const failed = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);
const h = results.healthy;
const g = results.regression;
const oursFalse = failed(h.ours).length / N;
const plainFalse = failed(h.plain).length / N;
const oursDetect = failed(g.ours).length / N;
const plainDetect = failed(g.plain).length / N;
const oursMedian = median(failed(g.ours));
const plainMedian = median(failed(g.plain));

console.log(
  `canary-gate bench: ${N} healthy (5xx 0.3%) + ${N} regressions (5xx 3%), criterion ${metric.condition.text}`,
);
console.log(
  `traffic 20..200 requests/interval (Poisson), interval ${MIN / 1000} s, ${criteria.count} measurements, failure-limit ${criteria.failureLimit}, min-sample ${metric.minSample}, confidence ${metric.confidence}, seed ${values.seed}`,
);
console.log(
  `our gate: fails when one metric has more than failure-limit ${criteria.failureLimit} CONSECUTIVE failed measurements`,
);
console.log(
  `plain rule: fails when more than failureLimit ${criteria.failureLimit} measurements failed IN TOTAL (Argo Rollouts semantics)`,
);
console.log('');
console.log(
  '                          our gate     plain rule (per-interval threshold, Argo total failureLimit)',
);
console.log(
  `false-fail rate (healthy) ${pct(failed(h.ours).length, N).padEnd(12)} ${pct(failed(h.plain).length, N)}`,
);
console.log(
  `regressions failed        ${pct(failed(g.ours).length, N).padEnd(12)} ${pct(failed(g.plain).length, N)}`,
);
console.log(
  `median time to fail       ${`${oursMedian} intervals`.padEnd(12)} ${plainMedian} intervals`,
);
console.log(`healthy inconclusive      ${pct(h.oursInconclusive, N).padEnd(12)} -`);
console.log('');
const checks: [string, boolean][] = [
  [
    `our false-fail rate < 1% (${(oursFalse * 100).toFixed(1)}%, plain ${(plainFalse * 100).toFixed(1)}%)`,
    oursFalse < 0.01,
  ],
  [
    `at least 99% of regressions failed (${(oursDetect * 100).toFixed(1)}%, plain ${(plainDetect * 100).toFixed(1)}%)`,
    oursDetect >= 0.99,
  ],
  [
    `median time to fail at most one interval later than the plain rule (${oursMedian} vs ${plainMedian})`,
    oursMedian <= plainMedian + 1,
  ],
];
for (const [text, ok] of checks) console.log(`${ok ? 'MET ' : 'MISS'} ${text}`);
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;

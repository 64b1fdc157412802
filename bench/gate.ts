/**
 * `npm run bench:gate`: the power table of four canary judges on the same simulated canaries.
 *
 * Every canary is judged by all four rules from the same per-interval counts (interval 1 min):
 *
 * - **Argo**: each interval's value against the threshold, failing when the TOTAL number of
 *   failed measurements exceeds `failureLimit` 2 (Argo Rollouts' `failureLimit`), no minimum
 *   sample; an interval without requests is skipped.
 * - **plain**: the same per-interval threshold with our consecutive counting (fails on the 3rd
 *   failed measurement in a row; a success resets the count).
 * - **Kayenta**: at every look, NetflixACAJudge's Mann-Whitney classification of the canary's
 *   per-interval values against the baseline's (same traffic, healthy), 95% confidence; the
 *   canary fails at the first look where the metric (critical) is classified High.
 * - **ours**: the gate's own judge (`measure` from src/gate/evaluation.ts, the code `runGate`
 *   runs) with the Paket 7 criterion `< 1%` as examples/paket7/gate/prometheus.yml writes it:
 *   confidence 0.99, min-sample 100, default lookback (5 intervals), the sequential test.
 *
 * Metrics: the 5xx rate (threshold 1%), and latency judged as "p99 < 500 ms". For latency each
 * request is slow (> 500 ms) with some probability; Argo, plain and Kayenta judge each
 * interval's nearest-rank p99 (slow when more than 1% of that interval's requests were slow),
 * ours judges the fraction of slow requests from the histogram counts against 1%.
 *
 * Canaries: healthy at 0.8× the threshold (0.8% errors or slow requests), at the threshold
 * (1.0×, the worst case a false-fail guarantee must cover), and regressions of 1.25×, 1.5×, 2×
 * and 4×, each for 10, 30 and 60 minutes at 1, 5 and 20 requests per second (Poisson per
 * interval). A regression counts as caught when the rule fails within the canary's duration.
 *
 * 200 canaries per cell by default (108 cells × 4 rules, about two minutes on one core); more
 * with `--canaries`.
 *
 * Usage: npm run bench:gate [-- --canaries 200 --seed 42]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadCriteria } from '../src/gate/criteria.js';
import { measure, newMetricState, outcome } from '../src/gate/evaluation.js';
import { kayentaClassify } from '../src/gate/statistics.js';
import { seededRandom } from '../test/support/gate-prometheus.js';

const { values } = parseArgs({
  options: {
    canaries: { type: 'string', default: '200' },
    seed: { type: 'string', default: '42' },
  },
});
const N = Number(values.canaries);
const root = resolve(import.meta.dirname, '..');
const paket7 = loadCriteria(resolve(root, 'examples/paket7/gate/prometheus.yml'));
const metric = paket7.metrics.find((m) => m.name === 'canary-5xx-rate')!;
const THRESHOLD = metric.condition.threshold!;
const FAILURE_LIMIT = paket7.failureLimit;
const MIN = 60_000;

const rnd = seededRandom(Number(values.seed));
function poisson(lambda: number): number {
  // Normal approximation above 30 (the bench's traffic is 60..1200 per interval).
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss()));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rnd();
  } while (p > l);
  return k - 1;
}
function gauss(): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}
function binomial(n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (rnd() < p) x++;
  return x;
}

interface Series {
  requests: number[];
  bad: number[];
}
function simulate(minutes: number, rps: number, rate: number): Series {
  const requests: number[] = [];
  const bad: number[] = [];
  for (let k = 0; k < minutes; k++) {
    const n = poisson(rps * 60);
    requests.push(n);
    bad.push(binomial(n, rate));
  }
  return { requests, bad };
}

type Kind = 'errors' | 'latency';
/** The per-interval value the threshold rules and Kayenta see, and whether it breaks the threshold. */
function intervalValue(kind: Kind, n: number, x: number): { value: number; breaks: boolean } {
  if (kind === 'errors') return { value: x / n, breaks: !(x / n < THRESHOLD) };
  // Nearest-rank p99 is slow when more than n - ceil(0.99 n) requests were slow.
  const allowed = n - Math.ceil((1 - THRESHOLD) * n);
  return { value: x > allowed ? 1 : 0, breaks: x > allowed };
}

/** @returns the look (1-based) at which the rule failed, or undefined */
function argo(kind: Kind, c: Series): number | undefined {
  let failures = 0;
  for (let k = 0; k < c.requests.length; k++) {
    if (c.requests[k] === 0) continue;
    if (intervalValue(kind, c.requests[k], c.bad[k]).breaks) failures++;
    if (failures > FAILURE_LIMIT) return k + 1;
  }
  return undefined;
}
function plain(kind: Kind, c: Series): number | undefined {
  let run = 0;
  for (let k = 0; k < c.requests.length; k++) {
    if (c.requests[k] === 0) continue;
    run = intervalValue(kind, c.requests[k], c.bad[k]).breaks ? run + 1 : 0;
    if (run > FAILURE_LIMIT) return k + 1;
  }
  return undefined;
}
function kayenta(kind: Kind, c: Series, baseline: Series): number | undefined {
  const cv: number[] = [];
  const bv: number[] = [];
  for (let k = 0; k < c.requests.length; k++) {
    if (c.requests[k] > 0) cv.push(intervalValue(kind, c.requests[k], c.bad[k]).value);
    if (baseline.requests[k] > 0)
      bv.push(intervalValue(kind, baseline.requests[k], baseline.bad[k]).value);
    if (cv.length < 3 || bv.length < 3) continue;
    if (kayentaClassify(cv, bv).classification === 'High') return k + 1;
  }
  return undefined;
}
function ours(c: Series): number | undefined {
  const state = newMetricState(c.requests.length);
  const m = { ...metric, dryRun: false };
  for (let k = 0; k < c.requests.length; k++) {
    measure(m, state, { numerator: c.bad[k], denominator: c.requests[k] }, (k + 1) * MIN);
    if (outcome(m, state, paket7).status === 'failed') return k + 1;
  }
  return undefined;
}

const RULES = ['Argo', 'plain', 'Kayenta', 'ours'] as const;
type Rule = (typeof RULES)[number];
const FACTORS = [0.8, 1, 1.25, 1.5, 2, 4];
const DURATIONS = [10, 30, 60];
const RPS = [1, 5, 20];
const HEALTHY_BASELINE = 0.8 * THRESHOLD;

interface Cell {
  failed: number;
  times: number[];
}
const results = new Map<string, Cell>();
const key = (kind: Kind, rule: Rule, minutes: number, rps: number, factor: number) =>
  `${kind}/${rule}/${minutes}/${rps}/${factor}`;

const started = performance.now();
for (const kind of ['errors', 'latency'] as Kind[]) {
  for (const minutes of DURATIONS) {
    for (const rps of RPS) {
      for (const factor of FACTORS) {
        const cells = Object.fromEntries(
          RULES.map((r) => [r, { failed: 0, times: [] as number[] }]),
        ) as Record<Rule, Cell>;
        for (let i = 0; i < N; i++) {
          const c = simulate(minutes, rps, factor * THRESHOLD);
          const b = simulate(minutes, rps, HEALTHY_BASELINE);
          const at: Record<Rule, number | undefined> = {
            Argo: argo(kind, c),
            plain: plain(kind, c),
            Kayenta: kayenta(kind, c, b),
            ours: ours(c),
          };
          for (const r of RULES) {
            if (at[r] === undefined) continue;
            cells[r].failed++;
            cells[r].times.push(at[r]);
          }
        }
        for (const r of RULES) results.set(key(kind, r, minutes, rps, factor), cells[r]);
      }
    }
  }
}
const seconds = (performance.now() - started) / 1000;

const pct = (k: number) => `${((100 * k) / N).toFixed(1)}%`;
const median = (xs: number[]): number => {
  if (xs.length * 2 < N) return Infinity;
  const s = [...xs].sort((a, b) => a - b);
  // The median over all canaries, counting the ones never failed as failing last.
  return s[Math.ceil(N / 2) - 1];
};

console.log(
  `canary-gate bench: ${N} canaries per cell, seed ${values.seed}; threshold ${THRESHOLD * 100}% (5xx rate, or requests slower than 500 ms for p99 < 500 ms); interval 1 min`,
);
console.log(
  `healthy = 0.8× the threshold, 1.0× = at the threshold; cells: % of canaries failed within the duration (median minute of failure)`,
);
console.log(
  `ours: confidence ${metric.confidence}, min-sample ${metric.minSample}, lookback ${metric.lookbackIntervals} intervals (default); Argo/plain: failure limit ${FAILURE_LIMIT}; Kayenta: Mann-Whitney at 95% vs a healthy baseline (${HEALTHY_BASELINE * 100}%)`,
);
for (const kind of ['errors', 'latency'] as Kind[]) {
  console.log('');
  console.log(
    `${kind === 'errors' ? '5xx rate < 1%' : 'latency p99 < 500 ms'}`.padEnd(26) +
      FACTORS.map((f) => `${f}×`.padStart(14)).join(''),
  );
  for (const minutes of DURATIONS) {
    for (const rps of RPS) {
      for (const rule of RULES) {
        const row = FACTORS.map((f) => {
          const c = results.get(key(kind, rule, minutes, rps, f))!;
          const m = median(c.times);
          return `${pct(c.failed)}${Number.isFinite(m) ? ` (${m})` : ''}`.padStart(14);
        });
        console.log(`${`${minutes} min, ${rps} rps, ${rule}`.padEnd(26)}${row.join('')}`);
      }
    }
  }
}

// Goals (issue: Performance).
const checks: [string, boolean][] = [];
const worstHealthy = { rate: -1, where: '' };
for (const kind of ['errors', 'latency'] as Kind[])
  for (const minutes of DURATIONS)
    for (const rps of RPS)
      for (const f of [0.8]) {
        const c = results.get(key(kind, 'ours', minutes, rps, f))!;
        if (c.failed / N > worstHealthy.rate) {
          worstHealthy.rate = c.failed / N;
          worstHealthy.where = `${kind}, ${f}×, ${minutes} min, ${rps} rps`;
        }
      }
checks.push([
  `false fails of healthy canaries (0.8×) at most 1% at every traffic level and look count (worst ${(worstHealthy.rate * 100).toFixed(1)}%: ${worstHealthy.where})`,
  worstHealthy.rate <= 0.01,
]);
for (const kind of ['errors', 'latency'] as Kind[]) {
  const c = results.get(key(kind, 'ours', 30, 5, 1.5))!;
  checks.push([
    `${kind}: 1.5× regressions caught within 30 minutes at 5 rps at least 95% (${pct(c.failed)})`,
    c.failed / N >= 0.95,
  ]);
}
let slower = 0;
let compared = 0;
const slowest: string[] = [];
for (const kind of ['errors', 'latency'] as Kind[])
  for (const minutes of DURATIONS)
    for (const rps of RPS)
      for (const f of FACTORS.filter((x) => x > 1)) {
        const p = median(results.get(key(kind, 'plain', minutes, rps, f))!.times);
        if (!Number.isFinite(p)) continue;
        compared++;
        const o = median(results.get(key(kind, 'ours', minutes, rps, f))!.times);
        if (o > p + 1) {
          slower++;
          slowest.push(`${kind} ${f}× ${minutes} min ${rps} rps: ${o} vs ${p}`);
        }
      }
checks.push([
  `median time to fail never more than one interval later than the plain rule (${compared - slower} of ${compared} regression cells${slowest.length ? `; slower e.g. ${slowest.slice(0, 4).join('; ')}` : ''})`,
  slower === 0,
]);
console.log('');
for (const [text, ok] of checks) console.log(`${ok ? 'MET ' : 'MISS'} ${text}`);
console.log(`(${seconds.toFixed(1)} s)`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;

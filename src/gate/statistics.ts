/**
 * Statistics for judging rates from counts: the Wilson score interval for a binomial
 * proportion (E. B. Wilson, 1927; see also Brown, Cai & DasGupta, "Interval Estimation for a
 * Binomial Proportion", Statistical Science 16(2), 2001).
 *
 * The gate uses one-sided bounds: an error rate is judged to break `< 1%` only when even its
 * lower confidence bound is at or above 1%. So 1 error in 20 requests (5% observed, lower
 * bound at 99% confidence ≈ 0.7%) does not abort a canary, while a real 5% rate over a few
 * hundred requests does.
 */

/** Standard normal cumulative distribution function (Abramowitz & Stegun 7.1.26 erf, |ε| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/**
 * The z value with `P(Z <= z) = confidence` for a standard normal Z (one-sided quantile),
 * found by bisection on {@link normalCdf}. `quantile(0.99)` ≈ 2.326.
 * @param confidence - in (0, 1)
 */
export function normalQuantile(confidence: number): number {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence ${confidence} not in (0, 1)`);
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < confidence) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A Wilson score interval: `lower <= estimate <= upper`, all proportions in [0, 1]. */
export interface Bounds {
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * One-sided Wilson score bounds for `events` out of `trials` at `confidence` (each bound holds
 * alone at that level). Counts may be fractional (Prometheus `increase()` extrapolates).
 * @returns `undefined` when `trials <= 0`
 */
export function wilsonBounds(
  events: number,
  trials: number,
  confidence: number,
): Bounds | undefined {
  if (!(trials > 0)) return undefined;
  const p = Math.min(1, Math.max(0, events / trials));
  const z = normalQuantile(confidence);
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const margin = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return {
    estimate: p,
    lower: Math.max(0, centre - margin),
    upper: Math.min(1, centre + margin),
  };
}

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 coefficients; relative error < 1e-13). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), for a, b > 0 and x in [0, 1]. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** The p with I_p(a, b) = q (the Beta(a, b) quantile), by bisection. */
function betaQuantile(q: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (regularizedBeta(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * One-sided exact binomial (Clopper-Pearson) bounds for `events` out of `trials` at
 * `confidence`: the lower bound is the p at which `events` or more would happen with
 * probability 1 − confidence, the upper bound likewise for `events` or fewer (through the
 * Beta quantiles, so fractional counts work). Never narrower than its nominal level.
 * @returns `undefined` when `trials <= 0`
 */
export function exactBounds(
  events: number,
  trials: number,
  confidence: number,
): Bounds | undefined {
  if (!(trials > 0)) return undefined;
  const x = Math.min(trials, Math.max(0, events));
  const alpha = 1 - confidence;
  return {
    estimate: x / trials,
    lower: x <= 0 ? 0 : betaQuantile(alpha, x, trials - x + 1),
    upper: x >= trials ? 1 : betaQuantile(1 - alpha, x + 1, trials - x),
  };
}

/** Events (or non-events) up to which {@link rateBounds} uses the exact bound. */
export const FEW_EVENTS = 3;

/**
 * The bounds the gate judges a pooled rate by: the one-sided Wilson bounds, except where the
 * Wilson bound is known to be too narrow — a lower bound over at most {@link FEW_EVENTS}
 * events (an upper bound over at most that many non-events), where its coverage drops far
 * below nominal (Brown, Cai & DasGupta 2001, §4.1.1, who replace it there) — which take the
 * exact binomial bound instead when that is wider. At 99%, Wilson puts 1 error in 2 requests
 * above 7% and 2 in 20 above 2%, so a gate with a low `min-sample` would abort on its first
 * errors; the exact bounds are 0.5% and 0.76%.
 * @returns `undefined` when `trials <= 0`
 */
export function rateBounds(events: number, trials: number, confidence: number): Bounds | undefined {
  const w = wilsonBounds(events, trials, confidence);
  if (!w) return undefined;
  const fewEvents = events <= FEW_EVENTS;
  const fewNonEvents = trials - events <= FEW_EVENTS;
  if (!fewEvents && !fewNonEvents) return w;
  const e = exactBounds(events, trials, confidence)!;
  return {
    estimate: w.estimate,
    lower: fewEvents ? Math.min(w.lower, e.lower) : w.lower,
    upper: fewNonEvents ? Math.max(w.upper, e.upper) : w.upper,
  };
}

/**
 * One-sided exact binomial p-values for `events` out of `trials` against the rate `p0`
 * (through the regularized incomplete beta function, so fractional counts from Prometheus'
 * `increase()` work): `above` = P(X ≥ events | p0), the evidence that the true rate is above
 * `p0`; `below` = P(X ≤ events | p0). Exact tests never exceed their nominal level (Clopper &
 * Pearson 1934).
 * @returns probabilities in [0, 1]; both 1 when `trials <= 0`
 */
export function binomialPValues(
  events: number,
  trials: number,
  p0: number,
): { above: number; below: number } {
  if (!(trials > 0)) return { above: 1, below: 1 };
  const x = Math.min(trials, Math.max(0, events));
  if (p0 <= 0) return { above: x > 0 ? 0 : 1, below: 1 };
  if (p0 >= 1) return { above: 1, below: x < trials ? 0 : 1 };
  return {
    above: x <= 0 ? 1 : regularizedBeta(p0, x, trials - x + 1),
    below: x >= trials ? 1 : 1 - regularizedBeta(p0, x + 1, trials - x),
  };
}

/** Share of the error budget kept for looks after the planned last one (see {@link lookAlpha}). */
export const TAIL_SHARE = 0.05;

/**
 * The error probability spent at look `k` (1-based) of a gate that plans `planned` looks, so
 * that the probability of ever failing a healthy canary stays at most `alpha` however many
 * times the gate looks (an always-valid, alpha-spending design).
 *
 * Spending function: the Lan-DeMets power family `α·t^ρ` with ρ = 3 on the look fraction
 * `t = k / planned` (Lan & DeMets, "Discrete sequential boundaries for clinical trials",
 * Biometrika 70(3), 1983; Kim & DeMets 1987 for the power family), for `(1 − TAIL_SHARE)·α`;
 * looks after `planned` (live mode while a metric is pending, or past failures are being
 * confirmed) spend the remaining `TAIL_SHARE·α` geometrically, half of what is left at each look,
 * so the total over infinitely many looks is `α`. ρ = 3 keeps most of the budget for late looks
 * (power for small regressions at the planned end) while the first looks still catch gross
 * ones. Each look's tests are judged at the level spent on it and combined by the union bound
 * (Bonferroni), which holds whatever the dependence between looks, including the overlapping
 * trailing windows of `lookback`: conservative, never anti-conservative.
 * @param alpha - total false-fail probability, e.g. 0.01 for `confidence: 0.99`
 * @returns a probability in (0, alpha]
 */
export function lookAlpha(k: number, planned: number, alpha: number, rho = 3): number {
  const K = Math.max(1, planned);
  const spent = (j: number): number => {
    if (j <= 0) return 0;
    const main = (1 - TAIL_SHARE) * alpha * Math.min(1, j / K) ** rho;
    return j <= K ? main : main + TAIL_SHARE * alpha * (1 - 0.5 ** (j - K));
  };
  return spent(k) - spent(k - 1);
}

/** Result of {@link mannWhitney}. */
export interface MannWhitneyResult {
  /** U statistic of the first sample (number of pairs where x beats y, ties counting one half). */
  u: number;
  /** Standardised U, positive when x tends to be larger (normal approximation, tie-corrected, continuity-corrected). */
  z: number;
  /** Two-sided p-value from the normal approximation. */
  pTwoSided: number;
  /** One-sided p-value for "x is stochastically larger than y". */
  pGreater: number;
  /** One-sided p-value for "x is stochastically smaller than y". */
  pLess: number;
  /** Hodges-Lehmann estimate of the shift x − y: the median of all pairwise differences. */
  shift: number;
}

/**
 * Mann-Whitney U test (Wilcoxon rank-sum) of two independent samples, with the normal
 * approximation, tie correction of the variance and a continuity correction of ½ (Hollander,
 * Wolfe & Chicken, "Nonparametric Statistical Methods", 3rd ed., §4.1; the test Kayenta's
 * NetflixACAJudge runs per metric through Apache Commons Math's `MannWhitneyUTest`).
 * @returns `undefined` when either sample is empty
 */
export function mannWhitney(x: number[], y: number[]): MannWhitneyResult | undefined {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return undefined;
  const all = [...x.map((v) => ({ v, g: 0 })), ...y.map((v) => ({ v, g: 1 }))].sort(
    (a, b) => a.v - b.v,
  );
  let r1 = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    for (let k = i; k <= j; k++) if (all[k].g === 0) r1 += rank;
    i = j + 1;
  }
  const n = n1 + n2;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1) || 1));
  const sd = Math.sqrt(Math.max(0, variance));
  const diff = u - mean;
  const z = sd > 0 ? (diff - Math.sign(diff) * Math.min(0.5, Math.abs(diff))) / sd : 0;
  const diffs: number[] = [];
  for (const a of x) for (const b of y) diffs.push(a - b);
  diffs.sort((a, b) => a - b);
  const m = diffs.length;
  const shift = m % 2 ? diffs[(m - 1) / 2] : (diffs[m / 2 - 1] + diffs[m / 2]) / 2;
  return {
    u,
    z,
    pTwoSided: Math.min(1, 2 * (1 - normalCdf(Math.abs(z)))),
    pGreater: 1 - normalCdf(z),
    pLess: normalCdf(z),
    shift,
  };
}

/** Kayenta's per-metric classification: `Pass`, `High` (canary worse upwards), `Low`, or `NoData`. */
export type KayentaClass = 'Pass' | 'High' | 'Low' | 'NoData';

/**
 * Classifies one metric as Kayenta's NetflixACAJudge does (spinnaker/kayenta,
 * `kayenta-judge/.../MannWhitneyClassifier.scala`): a two-sided Mann-Whitney test of canary
 * against baseline at `confidence` (default 0.95, as NetflixACAJudge); when significant, the
 * effect size `mean(canary) / mean(baseline)` must also pass the allowed ratio (default
 * `allowedIncrease` 1 and `allowedDecrease` 1, i.e. any significant change counts) for `High`
 * or `Low`; else `Pass`.
 */
export function kayentaClassify(
  canary: number[],
  baseline: number[],
  options: { confidence?: number; allowedIncrease?: number; allowedDecrease?: number } = {},
): { classification: KayentaClass; test?: MannWhitneyResult; ratio?: number } {
  const test = mannWhitney(canary, baseline);
  if (!test) return { classification: 'NoData' };
  const confidence = options.confidence ?? 0.95;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const mb = mean(baseline);
  const ratio = mb === 0 ? (mean(canary) === 0 ? 1 : Infinity) : mean(canary) / mb;
  if (test.pTwoSided >= 1 - confidence) return { classification: 'Pass', test, ratio };
  if (test.z > 0 && ratio > (options.allowedIncrease ?? 1))
    return { classification: 'High', test, ratio };
  if (test.z < 0 && ratio < 1 / (options.allowedDecrease ?? 1))
    return { classification: 'Low', test, ratio };
  return { classification: 'Pass', test, ratio };
}

/**
 * Kayenta's canary score: the weighted share of metrics classified `Pass`, 0–100, where a
 * `critical` metric that is not `Pass` makes the score 0; `pass` when the score is at least
 * `thresholds.pass`, `marginal` when at least `thresholds.marginal`, else `fail` (Kayenta's
 * `scoreThresholds`; the defaults 75 / 95 are the values Spinnaker's canary documentation uses).
 */
export function kayentaScore(
  metrics: { classification: KayentaClass; weight?: number; critical?: boolean }[],
  thresholds: { marginal: number; pass: number } = { marginal: 75, pass: 95 },
): { score: number; result: 'pass' | 'marginal' | 'fail' } {
  const judged = metrics.filter((m) => m.classification !== 'NoData');
  if (judged.some((m) => m.critical && m.classification !== 'Pass'))
    return { score: 0, result: 'fail' };
  const total = judged.reduce((a, m) => a + (m.weight ?? 1), 0);
  const passed = judged
    .filter((m) => m.classification === 'Pass')
    .reduce((a, m) => a + (m.weight ?? 1), 0);
  const score = total > 0 ? (100 * passed) / total : 0;
  return {
    score,
    result: score >= thresholds.pass ? 'pass' : score >= thresholds.marginal ? 'marginal' : 'fail',
  };
}

/**
 * Two-proportion z-test of `x1/n1` (canary) against `x2/n2` (baseline) with the pooled
 * variance (Agresti, "Categorical Data Analysis", 3rd ed., §3.1.3 / Fleiss, Levin & Paik
 * §2.6): the one-sided p-value that the canary's rate is higher, and the difference of rates.
 * @returns `undefined` when either count of trials is not positive
 */
export function twoProportion(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
): { difference: number; z: number; pHigher: number } | undefined {
  if (!(n1 > 0) || !(n2 > 0)) return undefined;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  const z = se > 0 ? (p1 - p2) / se : 0;
  return { difference: p1 - p2, z, pHigher: 1 - normalCdf(z) };
}

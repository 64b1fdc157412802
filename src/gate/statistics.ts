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

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

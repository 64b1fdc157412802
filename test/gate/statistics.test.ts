/**
 * The statistics behind the judge: alpha spending over looks, the exact group-sequential
 * binomial test, Mann-Whitney U with ties, Kayenta's classification and score, and the
 * two-proportion test.
 */
import {
  binomialPValues,
  kayentaClassify,
  kayentaScore,
  lookAlpha,
  mannWhitney,
  SequentialBinomialTest,
  TAIL_SHARE,
  twoProportion,
} from '../../src/gate/statistics.js';

test('alpha spending: the looks of a run, and any number after it, never spend more than alpha', () => {
  const spent = (looks: number) =>
    Array.from({ length: looks }, (_, i) => lookAlpha(i + 1, 30, 0.01)).reduce((a, b) => a + b, 0);
  expect(spent(30)).toBeCloseTo(0.01 * (1 - TAIL_SHARE), 12);
  expect(spent(1000)).toBeLessThanOrEqual(0.01 + 1e-15);
  expect(spent(1000)).toBeGreaterThan(0.0099999);
  // Most of the budget is kept for the end: the first look spends (1/30)^4 of it.
  expect(lookAlpha(1, 30, 0.01)).toBeLessThan(1e-7);
  expect(lookAlpha(30, 30, 0.01)).toBeGreaterThan(lookAlpha(29, 30, 0.01));
});

test('exact binomial p-values match hand-computed tails', () => {
  // P(X >= 2 | n = 10, p = 0.1) = 1 - 0.9^10 - 10 * 0.1 * 0.9^9 = 0.263901...
  expect(binomialPValues(2, 10, 0.1).above).toBeCloseTo(0.2639010709, 8);
  // P(X <= 0 | n = 10, p = 0.1) = 0.9^10
  expect(binomialPValues(0, 10, 0.1).below).toBeCloseTo(0.3486784401, 8);
  expect(binomialPValues(0, 10, 0.1).above).toBe(1);
});

test('the group-sequential test rejects a rate at its threshold with probability at most alpha over all looks', () => {
  const alpha = 0.01;
  const t = new SequentialBinomialTest(0.01);
  const inner = t as unknown as { density: Float64Array };
  let crossing = 0;
  for (let k = 1; k <= 30; k++) {
    const before = inner.density.reduce((a, b) => a + b, 0);
    const r = t.look(300, 0, lookAlpha(k, 30, alpha));
    expect(r.reject).toBe(false);
    // Mass removed at this look = probability of first rejecting here, at most its share.
    const removed = before - inner.density.reduce((a, b) => a + b, 0);
    expect(removed).toBeLessThanOrEqual(lookAlpha(k, 30, alpha) + 1e-12);
    crossing += removed;
  }
  expect(crossing).toBeLessThanOrEqual(alpha * (1 - TAIL_SHARE) + 1e-12);
  // Much less conservative than judging every look alone at its share: most of it is used.
  expect(crossing).toBeGreaterThan(0.5 * alpha);
});

test('the group-sequential test rejects a clear regression and reports a p-value below its level', () => {
  const t = new SequentialBinomialTest(0.01);
  let events = 0;
  let result = { critical: 0, pValue: 1, reject: false };
  let look = 0;
  while (!result.reject && look < 30) {
    look++;
    events += 9; // 3% of 300
    result = t.look(300, events, lookAlpha(look, 30, 0.01));
  }
  expect(result.reject).toBe(true);
  expect(look).toBeLessThanOrEqual(5);
  expect(result.pValue).toBeLessThanOrEqual(lookAlpha(look, 30, 0.01));
  expect(events).toBeGreaterThanOrEqual(result.critical);
});

test('Mann-Whitney U with ties, tie-corrected normal approximation and Hodges-Lehmann shift', () => {
  // R's wilcox.test example (Hollander & Wolfe, depression scale): W = 58; with the normal
  // approximation, tie correction (1.06 and 1.29 appear twice) and continuity correction
  // z = (58 - 40.5 - 0.5) / 11.313 = 1.503, two-sided p = 0.1329 as R reports.
  const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
  const r = mannWhitney(x, y)!;
  expect(r.u).toBe(58);
  expect(r.z).toBeCloseTo(1.5027, 3);
  expect(r.pTwoSided).toBeCloseTo(0.1329, 3);
  expect(r.pGreater).toBeLessThan(r.pTwoSided);
  expect(r.shift).toBeGreaterThan(0);
  // All values tied: no evidence at all.
  const tied = mannWhitney([1, 1, 1], [1, 1, 1])!;
  expect(tied.z).toBe(0);
  expect(tied.pTwoSided).toBeCloseTo(1, 6);
  // Ties shrink the variance: with ties the same U is more significant than without.
  const withTies = mannWhitney([2, 2, 3, 3], [1, 1, 2, 2])!;
  expect(withTies.u).toBe(14); // 2 vs 1: 4 pairs; 2 vs 2: 4 halves; 3 vs all: 8
  expect(withTies.pTwoSided).toBeLessThan(0.2);
  expect(mannWhitney([], [1])).toBeUndefined();
});

test("Kayenta's classification and score: a critical High fails the run", () => {
  const base = [0.01, 0.011, 0.009, 0.01, 0.012, 0.01, 0.011, 0.009];
  const worse = base.map((v) => v * 3);
  expect(kayentaClassify(worse, base).classification).toBe('High');
  expect(
    kayentaClassify(
      base.map((v) => v / 3),
      base,
    ).classification,
  ).toBe('Low');
  expect(kayentaClassify(base, base).classification).toBe('Pass');
  expect(kayentaClassify([], base).classification).toBe('NoData');
  expect(
    kayentaScore([
      { classification: 'Pass', weight: 3 },
      { classification: 'High', weight: 1 },
    ]),
  ).toEqual({ score: 75, result: 'marginal' });
  expect(
    kayentaScore([
      { classification: 'Pass', weight: 3 },
      { classification: 'High', weight: 1, critical: true },
    ]),
  ).toEqual({ score: 0, result: 'fail' });
});

test('two-proportion test: a canary at 3% against a baseline at 1% over 2,000 requests each', () => {
  const r = twoProportion(60, 2000, 20, 2000)!;
  expect(r.difference).toBeCloseTo(0.02, 10);
  expect(r.z).toBeCloseTo(4.5, 0);
  expect(r.pHigher).toBeLessThan(1e-4);
  expect(twoProportion(1, 0, 1, 10)).toBeUndefined();
});

/**
 * The spike rule of 早预警 (README "研判"): a department's or category's count x in the current
 * quarter is a spike when, against λ = the mean of its previous quarters (up to four, those since
 * the first insight was recorded),
 *   x ≥ MIN_SPIKE_COUNT, x ≥ SPIKE_RATIO · λ, and P(X ≥ x | X ~ Poisson(max(λ, 1))) ≤ SPIKE_P.
 * The Poisson tail is the exact test for counts this small; the floor of λ at 1 keeps a department
 * that was silent from alarming at its first few reports; the ratio keeps large counts, whose
 * quarter-to-quarter spread is wider than Poisson, from alarming at a modest rise.
 */
export const MIN_SPIKE_COUNT = 5;
export const SPIKE_RATIO = 2;
export const SPIKE_P = 0.001;
export const HISTORY_QUARTERS = 4;

/** ln Γ(z) (Lanczos, g = 7): enough digits for a tail probability. */
function logGamma(z: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≥ x) for X ~ Poisson(lambda), summed upward from x in log space (no underflow for large λ). */
export function poissonUpperTail(x: number, lambda: number): number {
  if (x <= 0) return 1;
  let term = Math.exp(-lambda + x * Math.log(lambda) - logGamma(x + 1));
  let sum = 0;
  for (let k = x; k < x + 10_000; k++) {
    sum += term;
    term *= lambda / (k + 1);
    if (term < sum * 1e-15) break;
  }
  return Math.min(1, sum);
}

export interface SpikeVerdict {
  spike: boolean;
  /** Mean of the history quarters. */
  expected: number;
  p: number;
}

export function judgeSpike(observed: number, history: number[]): SpikeVerdict {
  if (history.length === 0) return { spike: false, expected: 0, p: 1 };
  const expected = history.reduce((a, b) => a + b, 0) / history.length;
  const p = poissonUpperTail(observed, Math.max(expected, 1));
  return { spike: observed >= MIN_SPIKE_COUNT && observed >= SPIKE_RATIO * expected && p <= SPIKE_P, expected, p };
}

import { judgeSpike, poissonUpperTail } from '../../src/modules/analysis/spike-rule';

describe('the spike rule', () => {
  it('computes Poisson upper tails, for small and large means', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(3, 1)).toBeCloseTo(0.0803, 4);
    expect(poissonUpperTail(5, 1)).toBeCloseTo(0.00366, 5);
    expect(poissonUpperTail(1000, 1000)).toBeCloseTo(0.50421, 4); // scipy.stats.poisson.sf(999, 1000)
    expect(poissonUpperTail(2000, 1000)).toBeLessThan(1e-100);
  });

  it('needs five insights, twice the mean and p ≤ 0.001 against the mean (floored at 1)', () => {
    expect(judgeSpike(5, [0, 0, 0, 0]).spike).toBe(false); // p = 0.0037 against λ = 1
    expect(judgeSpike(6, [0, 0, 0, 0]).spike).toBe(true); // p = 0.0006
    expect(judgeSpike(4, [0, 0, 0, 0]).spike).toBe(false); // fewer than five
    expect(judgeSpike(21, [7, 6, 6, 6]).spike).toBe(true);
    expect(judgeSpike(12, [7, 6, 6, 6]).spike).toBe(false);
    // A large count rising 35 %: significant for Poisson, but not twice the mean.
    expect(judgeSpike(135, [100, 100, 100, 100]).spike).toBe(false);
    expect(judgeSpike(50, []).spike).toBe(false); // no history, no judgement
  });
});

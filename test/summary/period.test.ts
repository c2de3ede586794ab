import { parsePeriod, periodBounds } from '../../src/modules/summary/period';

const TZ = 'Asia/Shanghai';
// 2026-01-01 02:00 in Shanghai is still 2025-12-31 in UTC: the unit's calendar decides.
const NEW_YEAR_NIGHT = Date.UTC(2025, 11, 31, 18);

describe('汇总 periods', () => {
  it('reads 本季度, 上季度, 本月, 上月 in the unit’s time zone', () => {
    expect(parsePeriod('', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'quarter', year: 2026, index: 1 });
    expect(parsePeriod('本季度', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'quarter', year: 2026, index: 1 });
    expect(parsePeriod('上季度', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'quarter', year: 2025, index: 4 });
    expect(parsePeriod('本月', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'month', year: 2026, index: 1 });
    expect(parsePeriod('上月', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'month', year: 2025, index: 12 });
  });

  it('reads explicit quarters and months, and nothing else', () => {
    for (const word of ['2026Q3', '2026q3', '2026-Q3', '2026年第三季度', '2026年第3季度']) {
      expect(parsePeriod(word, TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'quarter', year: 2026, index: 3 });
    }
    expect(parsePeriod('2026-11', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'month', year: 2026, index: 11 });
    expect(parsePeriod('2026年11月', TZ, NEW_YEAR_NIGHT)).toEqual({ kind: 'month', year: 2026, index: 11 });
    for (const word of ['2026Q5', '2026-13', '明年', '2026']) expect(parsePeriod(word, TZ, NEW_YEAR_NIGHT)).toBeNull();
  });

  it('bounds a period by local midnights and names the previous one', () => {
    const q1 = periodBounds({ kind: 'quarter', year: 2026, index: 1 }, TZ);
    expect(new Date(q1.start).toISOString()).toBe('2025-12-31T16:00:00.000Z');
    expect(new Date(q1.end).toISOString()).toBe('2026-03-31T16:00:00.000Z');
    expect(q1.previous.label).toBe('2025年第4季度');
    expect(new Date(q1.previous.start).toISOString()).toBe('2025-09-30T16:00:00.000Z');
    const december = periodBounds({ kind: 'month', year: 2025, index: 12 }, TZ);
    expect(new Date(december.end).toISOString()).toBe('2025-12-31T16:00:00.000Z');
    expect(december.previous.label).toBe('2025年11月');
  });
});

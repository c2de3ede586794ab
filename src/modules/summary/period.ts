import { startOfZonedDay, zonedDate } from '../../lib/zoned-time';

export interface Period {
  kind: 'quarter' | 'month';
  year: number;
  /** Quarter 1–4 or month 1–12. */
  index: number;
}

export interface PeriodBounds {
  period: Period;
  label: string;
  /** [start, end) in epoch ms, local midnights in the unit's time zone. */
  start: number;
  end: number;
  previous: { label: string; start: number };
}

const CHINESE_DIGITS: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4 };

/**
 * Reads the period of `汇总`: 本季度 (the default), 上季度, 本月, 上月, 2026Q3 (2026-Q3,
 * 2026年第三季度), 2026-11 (2026年11月). Null when the words name no period.
 */
export function parsePeriod(text: string, timeZone: string, now: number): Period | null {
  const word = text.trim().replace(/\s+/g, '');
  const today = zonedDate(timeZone, now);
  const thisQuarter: Period = { kind: 'quarter', year: today.year, index: Math.ceil(today.month / 3) };
  const thisMonth: Period = { kind: 'month', year: today.year, index: today.month };
  if (word === '' || word === '本季度' || word === '本季') return thisQuarter;
  if (word === '上季度' || word === '上季') return previousPeriod(thisQuarter);
  if (word === '本月') return thisMonth;
  if (word === '上月' || word === '上个月') return previousPeriod(thisMonth);
  const quarter = /^(\d{4})(?:-?[Qq]([1-4])|年第?([1-4一二三四])季度?)$/.exec(word);
  if (quarter) return { kind: 'quarter', year: Number(quarter[1]), index: Number(quarter[2] ?? CHINESE_DIGITS[quarter[3]] ?? quarter[3]) };
  const month = /^(\d{4})(?:-(\d{1,2})|年(\d{1,2})月)$/.exec(word);
  if (month) {
    const index = Number(month[2] ?? month[3]);
    return index >= 1 && index <= 12 ? { kind: 'month', year: Number(month[1]), index } : null;
  }
  return null;
}

export function previousPeriod(period: Period): Period {
  const last = period.kind === 'quarter' ? 4 : 12;
  return period.index > 1 ? { ...period, index: period.index - 1 } : { ...period, year: period.year - 1, index: last };
}

export function periodLabel(period: Period): string {
  return period.kind === 'quarter' ? `${period.year}年第${period.index}季度` : `${period.year}年${period.index}月`;
}

function firstMonth(period: Period): number {
  return period.kind === 'quarter' ? (period.index - 1) * 3 + 1 : period.index;
}

function startOf(period: Period, timeZone: string): number {
  return startOfZonedDay(timeZone, period.year, firstMonth(period), 1);
}

export function periodBounds(period: Period, timeZone: string): PeriodBounds {
  const months = period.kind === 'quarter' ? 3 : 1;
  const previous = previousPeriod(period);
  return {
    period,
    label: periodLabel(period),
    start: startOf(period, timeZone),
    end: startOfZonedDay(timeZone, period.year, firstMonth(period) + months, 1),
    previous: { label: periodLabel(previous), start: startOf(previous, timeZone) },
  };
}

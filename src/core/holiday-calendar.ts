import fs from 'node:fs';
import { getHolidaysInRange, isWorkday as packageIsWorkday } from 'chinese-days';
import { z } from 'zod';

/**
 * Which days are rest days: weekends and the State Council's public holidays, with their make-up
 * workdays (调休). The maintained `chinese-days` package knows the years it has data for; the
 * override file (HOLIDAYS_FILE) fills the years it does not cover yet (2027 as of December 2026)
 * and wins for any year it names.
 */
export interface HolidayCalendar {
  /** `YYYY-MM-DD` (a local date): true on weekends and holidays, false on workdays (调休 included). */
  isRestDay(date: string): boolean;
  /** Whether the year's holidays are known (the package has it, or the override file names it). */
  covers(year: number): boolean;
}

const YMD = /^\d{4}-\d{2}-\d{2}$/;
const YearOverride = z.object({
  holidays: z.array(z.string().regex(YMD, 'expected YYYY-MM-DD')).default([]),
  workdays: z.array(z.string().regex(YMD, 'expected YYYY-MM-DD')).default([]),
});
export const HolidayOverrideFile = z.record(z.string().regex(/^\d{4}$/, 'keys are years such as "2027"'), YearOverride);

export interface HolidayOverrides {
  [year: string]: { holidays: string[]; workdays: string[] };
}

/** Reads and checks HOLIDAYS_FILE; throws with the file's path and the first problem. */
export function readHolidayOverrides(file: string): HolidayOverrides {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`HOLIDAYS_FILE：无法读取 ${file}（${(error as Error).message}）`);
  }
  const parsed = HolidayOverrideFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`HOLIDAYS_FILE：${file} 中 ${issue.path.join('.')} ${issue.message}。格式：{"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-02-07"]}}`);
  }
  for (const [year, days] of Object.entries(parsed.data)) {
    const stray = [...days.holidays, ...days.workdays].find((d) => !d.startsWith(`${year}-`));
    if (stray) throw new Error(`HOLIDAYS_FILE：${file} 中 ${year} 年下的日期 ${stray} 不属于该年`);
  }
  return parsed.data;
}

export function createHolidayCalendar(overrides: HolidayOverrides = {}): HolidayCalendar {
  const packageYears = new Map<number, boolean>();
  const sets = new Map(Object.entries(overrides).map(([year, d]) => [year, { holidays: new Set(d.holidays), workdays: new Set(d.workdays) }]));

  function packageCovers(year: number): boolean {
    let known = packageYears.get(year);
    if (known === undefined) {
      // Without data for a year the package still answers (weekends only); it lists no holiday then.
      known = getHolidaysInRange(`${year}-01-01`, `${year}-12-31`, false).length > 0;
      packageYears.set(year, known);
    }
    return known;
  }

  return {
    isRestDay(date) {
      const override = sets.get(date.slice(0, 4));
      if (override) {
        if (override.holidays.has(date)) return true;
        if (override.workdays.has(date)) return false;
        const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
        return weekday === 0 || weekday === 6;
      }
      return !packageIsWorkday(date);
    },
    covers(year) {
      return sets.has(String(year)) || packageCovers(year);
    },
  };
}

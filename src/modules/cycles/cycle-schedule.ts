import { startOfZonedDay, wallClock, zonedDate } from '../../lib/zoned-time';
import type { DayTime, QuarterlyCycleSchedule } from '../../domain/quarterly-schedule';

/*
 * When quarterly cycles open and are due (QUARTERLY_CYCLE_OPENS / QUARTERLY_CYCLE_DUE: a day of
 * the quarter's last month and a local time, `15 09:00`), and the reminder ladder's ideal moments.
 * Pure arithmetic in the unit's time zone; the reminder policy moves each moment out of quiet hours
 * and rest days.
 */

export type { DayTime, QuarterlyCycleSchedule };

export interface Quarter {
  year: number;
  quarter: number;
}

export const DEFAULT_QUARTERLY_CYCLE: QuarterlyCycleSchedule = { opens: { day: 15, hour: 9, minute: 0 }, due: { day: 25, hour: 17, minute: 0 } };

/** Reads `15 09:00` (also `15日 09:00`, `15`); null when malformed. */
export function parseDayTime(text: string): DayTime | null {
  const match = /^(\d{1,2})日?(?:\s+(\d{1,2}):(\d{2}))?$/.exec(text.trim());
  if (!match) return null;
  const day = Number(match[1]);
  const hour = match[2] === undefined ? 9 : Number(match[2]);
  const minute = match[3] === undefined ? 0 : Number(match[3]);
  if (day < 1 || day > 28 || hour > 23 || minute > 59) return null;
  return { day, hour, minute };
}

export function quarterKey(q: Quarter): string {
  return `${q.year}Q${q.quarter}`;
}

/** Reads 2026Q4 (2026-Q4, 2026q4). */
export function parseQuarterKey(text: string): Quarter | null {
  const match = /^(\d{4})-?[Qq]([1-4])$/.exec(text.trim());
  return match ? { year: Number(match[1]), quarter: Number(match[2]) } : null;
}

export function quarterOf(timeZone: string, at: number): Quarter {
  const d = zonedDate(timeZone, at);
  return { year: d.year, quarter: Math.ceil(d.month / 3) };
}

export function nextQuarter(q: Quarter): Quarter {
  return q.quarter === 4 ? { year: q.year + 1, quarter: 1 } : { year: q.year, quarter: q.quarter + 1 };
}

function atDayTime(timeZone: string, q: Quarter, dt: DayTime): number {
  return startOfZonedDay(timeZone, q.year, q.quarter * 3, dt.day) + (dt.hour * 60 + dt.minute) * 60_000;
}

/** The quarter's data period [start, end), local midnights. */
export function quarterBounds(timeZone: string, q: Quarter): { start: number; end: number } {
  return { start: startOfZonedDay(timeZone, q.year, q.quarter * 3 - 2, 1), end: startOfZonedDay(timeZone, q.year, q.quarter * 3 + 1, 1) };
}

export function quarterlyTimes(timeZone: string, schedule: QuarterlyCycleSchedule, q: Quarter): { opensAt: number; dueAt: number } {
  return { opensAt: atDayTime(timeZone, q, schedule.opens), dueAt: atDayTime(timeZone, q, schedule.due) };
}

/**
 * The quarter whose opening the timer should wait for at `now`: this quarter's, unless its deadline
 * has already passed (a server installed late in a quarter does not open a cycle already overdue).
 */
export function upcomingQuarter(timeZone: string, schedule: QuarterlyCycleSchedule, now: number): Quarter {
  const current = quarterOf(timeZone, now);
  return quarterlyTimes(timeZone, schedule, current).dueAt > now ? current : nextQuarter(current);
}

export type LadderStep = 'progress' | 'dueday';

/**
 * The ideal moments of the ladder's reminders before the deadline (the task card itself is the
 * reminder at opening): 80 % through the window, and 09:00 on the due day.
 */
export function ladderMoments(timeZone: string, openedAt: number, dueAt: number): { step: LadderStep; at: number }[] {
  const due = wallClock(timeZone, dueAt);
  const dueMorning = startOfZonedDay(timeZone, due.year, due.month, due.day) + 9 * 3600_000;
  const progress = openedAt + Math.round((dueAt - openedAt) * 0.8);
  const moments: { step: LadderStep; at: number }[] = [];
  if (progress < dueAt) moments.push({ step: 'progress', at: progress });
  if (dueMorning > openedAt && dueMorning < dueAt) moments.push({ step: 'dueday', at: dueMorning });
  return moments;
}

/** Whole local days from the deadline's day to `at`'s day (1 for the day after); 0 when on time. */
export function daysLate(timeZone: string, dueAt: number, at: number): number {
  if (at <= dueAt) return 0;
  const a = zonedDate(timeZone, dueAt);
  const b = zonedDate(timeZone, at);
  const days = Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
  return Math.max(1, days);
}

/** 9:00 local on the day after `at`. */
export function nextMorning(timeZone: string, at: number): number {
  const d = zonedDate(timeZone, at);
  return startOfZonedDay(timeZone, d.year, d.month, d.day + 1) + 9 * 3600_000;
}

/** Reads a deadline: `2026-12-25` (17:00 that day), `2026-12-25 12:00`, or `N天` (17:00, N days from today). */
export function parseDeadline(text: string, timeZone: string, now: number): number | null {
  const relative = /^(\d{1,3})\s*天$/.exec(text.trim());
  if (relative) {
    const today = zonedDate(timeZone, now);
    return startOfZonedDay(timeZone, today.year, today.month, today.day + Number(relative[1])) + 17 * 3600_000;
  }
  const match = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$/.exec(text.trim());
  if (!match) return null;
  const [year, month, day] = match.slice(1, 4).map(Number);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  const hour = match[4] === undefined ? 17 : Number(match[4]);
  const minute = match[5] === undefined ? 0 : Number(match[5]);
  if (hour > 23 || minute > 59) return null;
  return startOfZonedDay(timeZone, year, month, day) + (hour * 60 + minute) * 60_000;
}

/** Reads R-2026Q4, r-2026-q4, R-2026-2 (→ R-2026-0002); null when the word is no cycle number. */
export function normalizeCycleNumber(word: string | undefined): string | null {
  if (!word) return null;
  const quarter = /^R-?(\d{4})-?Q([1-4])$/i.exec(word);
  if (quarter) return `R-${quarter[1]}Q${quarter[2]}`;
  const special = /^R-(\d{4})-(\d{1,4})$/i.exec(word);
  return special ? `R-${special[1]}-${special[2].padStart(4, '0')}` : null;
}

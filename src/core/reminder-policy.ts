import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { ReminderSlotEntity } from '../db/entities/kernel.entity';
import { formatZonedDate, startOfZonedDay, wallClock } from '../lib/zoned-time';
import type { HolidayCalendar } from './holiday-calendar';

/*
 * The one reminder policy every reminder uses (questionnaires, reporting cycles, review meetings):
 * never in quiet hours (moved to the next allowed morning), never on a rest day (weekends and
 * public holidays; 调休 make-up days are workdays), and at most one reminder per person and subject
 * a day. Alerts of immediate reports are not reminders and ignore it.
 */

/** Minutes after local midnight; a window may cross midnight (22:00–08:00). */
export interface QuietHours {
  startMinute: number;
  endMinute: number;
}

export interface ReminderPolicy {
  readonly calendar: HolidayCalendar;
  readonly quietHours: QuietHours;
  /** Whether a reminder may go out at `at`. */
  isAllowed(at: number): boolean;
  /** `at` itself when allowed, else the first allowed moment after it (the next workday's morning). */
  nextAllowed(at: number): number;
  /** Whether the local day of `at` is a workday. */
  isWorkday(at: number): boolean;
  /** The local date (YYYY-MM-DD) of `at`. */
  localDate(at: number): string;
  /**
   * Takes the day's one reminder slot of each person for `subject` (e.g. `survey:Q-2026-0003`), in
   * the caller's transaction; returns the people whose slot was still free (now taken). Send only
   * to them.
   */
  takeDailySlots(em: EntityManager, personIds: string[], subject: string, at: number): Promise<string[]>;
}

/** Reads `22:00-08:00` (also `22:00–08:00`); null when malformed. `off` gives no quiet hours. */
export function parseQuietHours(text: string): QuietHours | null {
  if (/^(off|none|无)$/i.test(text.trim())) return { startMinute: 0, endMinute: 0 };
  const match = /^(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return null;
  const [sh, sm, eh, em] = match.slice(1).map(Number);
  if (sh > 23 || eh > 24 || sm > 59 || em > 59) return null;
  return { startMinute: sh * 60 + sm, endMinute: eh * 60 + em };
}

export function createReminderPolicy(options: { timeZone: string; quietHours: QuietHours; calendar: HolidayCalendar }): ReminderPolicy {
  const { timeZone, quietHours, calendar } = options;
  const { startMinute, endMinute } = quietHours;
  const hasQuiet = startMinute !== endMinute;

  function minuteOfDay(at: number): number {
    const w = wallClock(timeZone, at);
    return w.hour * 60 + w.minute;
  }

  function inQuietHours(at: number): boolean {
    if (!hasQuiet) return false;
    const m = minuteOfDay(at);
    return startMinute < endMinute ? m >= startMinute && m < endMinute : m >= startMinute || m < endMinute;
  }

  const localDate = (at: number) => formatZonedDate(timeZone, at);
  const isWorkday = (at: number) => !calendar.isRestDay(localDate(at));

  /** The morning (end of quiet hours) of the local day `offset` days after `at`'s. */
  function morningOf(at: number, offset: number): number {
    const w = wallClock(timeZone, at);
    return startOfZonedDay(timeZone, w.year, w.month, w.day + offset) + (hasQuiet ? endMinute : 0) * 60_000;
  }

  function nextAllowed(at: number): number {
    let candidate = at;
    // A year of rest days in a row cannot happen; the bound only guards against a broken calendar.
    for (let i = 0; i < 400; i++) {
      if (!isWorkday(candidate)) {
        candidate = morningOf(candidate, 1);
        continue;
      }
      if (inQuietHours(candidate)) {
        const m = minuteOfDay(candidate);
        // Before the morning's end of quiet hours: that morning; in the evening part: the next one.
        candidate = startMinute > endMinute && m >= startMinute ? morningOf(candidate, 1) : morningOf(candidate, 0);
        continue;
      }
      return candidate;
    }
    return candidate;
  }

  return {
    calendar,
    quietHours,
    isAllowed: (at) => isWorkday(at) && !inQuietHours(at),
    nextAllowed,
    isWorkday,
    localDate,
    async takeDailySlots(em, personIds, subject, at) {
      const unique = [...new Set(personIds)];
      if (unique.length === 0) return [];
      const day = localDate(at);
      const free: string[] = [];
      for (let i = 0; i < unique.length; i += 500) {
        const chunk = unique.slice(i, i + 500);
        const taken = new Set((await em.findBy(ReminderSlotEntity, { subject, day, personId: In(chunk) })).map((r) => r.personId));
        const fresh = chunk.filter((id) => !taken.has(id));
        if (fresh.length) await em.insert(ReminderSlotEntity, fresh.map((personId) => ({ personId, subject, day })));
        free.push(...fresh);
      }
      return free;
    },
  };
}

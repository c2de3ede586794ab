/**
 * Calendar arithmetic in the unit's time zone (TZ, Asia/Shanghai by default), without a date
 * library: Intl tells the wall-clock parts of an instant, and from those the zone's offset.
 */
export interface ZonedDate {
  year: number;
  month: number;
  day: number;
}

/** The wall-clock date and time of an instant in the zone. */
export function wallClock(timeZone: string, at: number): ZonedDate & { hour: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

function offsetMs(timeZone: string, at: number): number {
  const w = wallClock(timeZone, at);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(at / 1000) * 1000;
}

/** The date an instant falls on in the zone. */
export function zonedDate(timeZone: string, at: number): ZonedDate {
  const { year, month, day } = wallClock(timeZone, at);
  return { year, month, day };
}

/** The instant of local midnight starting the given date (month and day may overflow, as Date.UTC allows). */
export function startOfZonedDay(timeZone: string, year: number, month: number, day: number): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - offsetMs(timeZone, guess);
  // A zone whose offset changes between the guess and the answer (DST) needs a second look.
  const second = guess - offsetMs(timeZone, first);
  return second;
}

/** `YYYY-MM-DD HH:mm:ss` in the zone, for exports. */
export function formatZoned(timeZone: string, at: number): string {
  const w = wallClock(timeZone, at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)} ${p(w.hour)}:${p(w.minute)}:${p(w.second)}`;
}

export function formatZonedDate(timeZone: string, at: number): string {
  return formatZoned(timeZone, at).slice(0, 10);
}

/** Parses `YYYY-MM-DD` (or `YYYY/M/D`); null when it is not a real calendar date. */
export function parseDate(text: string): ZonedDate | null {
  const match = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/.exec(text.trim());
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  return { year, month, day };
}

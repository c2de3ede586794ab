import { startOfZonedDay, zonedDate } from '../../lib/zoned-time';

/** The month an instant falls in, in the unit's time zone, as year × 100 + month (202611). */
export function monthKey(timeZone: string, at: number): number {
  const { year, month } = zonedDate(timeZone, at);
  return year * 100 + month;
}

/**
 * The months [start, end) covers exactly, when both are local month starts (every quarter and
 * month of 研判 and the report); null otherwise, and the caller counts raw keyword rows instead.
 */
export function wholeMonths(timeZone: string, start: number, end: number): { from: number; to: number } | null {
  if (end <= start) return null;
  const first = zonedDate(timeZone, start);
  const last = zonedDate(timeZone, end);
  if (startOfZonedDay(timeZone, first.year, first.month, 1) !== start || startOfZonedDay(timeZone, last.year, last.month, 1) !== end) return null;
  return { from: first.year * 100 + first.month, to: monthKey(timeZone, end - 1) };
}

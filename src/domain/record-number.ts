/**
 * Record numbers as people type them: S-2026-0001 (an insight) or Y-2026-0001 (a suggestion), in
 * any case, the dashes optional, the serial with or without its leading zeros; and, when
 * `thisYear` is given, a bare serial (`1`, `0001`) for a number of this year. Stored numbers are
 * always `P-YYYY-NNNN`, so every command that takes a number must read it through here.
 */
export function normalizeRecordNumber(prefix: 'S' | 'Y', word: string | undefined, thisYear?: number): string | null {
  const text = (word ?? '').trim();
  const full = FULL_NUMBER[prefix].exec(text);
  if (full) return format(prefix, full[1], full[2]);
  if (thisYear !== undefined && /^\d{1,6}$/.test(text)) return format(prefix, String(thisYear), text);
  return null;
}

const FULL_NUMBER = { S: /^s-?(\d{4})-?(\d{1,6})$/i, Y: /^y-?(\d{4})-?(\d{1,6})$/i };

function format(prefix: string, year: string, serial: string): string {
  return `${prefix}-${year}-${serial.padStart(4, '0')}`;
}

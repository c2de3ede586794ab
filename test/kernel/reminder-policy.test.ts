import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHolidayCalendar, readHolidayOverrides } from '../../src/core/holiday-calendar';
import { createReminderPolicy, parseQuietHours } from '../../src/core/reminder-policy';
import { startTestApp, testDatabases } from '../helpers/test-app';

const TZ = 'Asia/Shanghai';
/** An instant given as Beijing wall-clock time. */
const bj = (date: string, time: string) => Date.parse(`${date}T${time}:00+08:00`);
const policy = (overrides = {}) => createReminderPolicy({ timeZone: TZ, quietHours: parseQuietHours('22:00-08:00')!, calendar: createHolidayCalendar(overrides) });

describe('reminder policy', () => {
  it('lets a reminder out on a workday outside quiet hours', () => {
    const at = bj('2026-12-01', '10:30'); // a Tuesday
    expect(policy().isAllowed(at)).toBe(true);
    expect(policy().nextAllowed(at)).toBe(at);
  });

  it('moves a reminder in the night to 08:00, before and after midnight', () => {
    expect(policy().nextAllowed(bj('2026-12-01', '23:15'))).toBe(bj('2026-12-02', '08:00'));
    expect(policy().nextAllowed(bj('2026-12-02', '06:59'))).toBe(bj('2026-12-02', '08:00'));
    expect(policy().nextAllowed(bj('2026-12-02', '22:00'))).toBe(bj('2026-12-03', '08:00'));
  });

  it('moves a Friday-night reminder past the weekend to Monday morning', () => {
    expect(policy().nextAllowed(bj('2026-12-04', '22:30'))).toBe(bj('2026-12-07', '08:00'));
    expect(policy().isAllowed(bj('2026-12-05', '10:00'))).toBe(false);
  });

  it('skips the National Day holiday and keeps the make-up Saturday (调休) a workday', () => {
    // 2026-10-01..07 are holidays; Saturday 2026-10-10 is a make-up workday.
    expect(policy().nextAllowed(bj('2026-10-01', '09:00'))).toBe(bj('2026-10-08', '08:00'));
    expect(policy().isAllowed(bj('2026-10-10', '09:00'))).toBe(true);
    expect(policy().isWorkday(bj('2026-10-11', '09:00'))).toBe(false);
  });

  it('takes the holidays of a year the package lacks from HOLIDAYS_FILE', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'holidays-'));
    const file = path.join(dir, 'holidays.json');
    fs.writeFileSync(file, JSON.stringify({ 2027: { holidays: ['2027-01-01'], workdays: ['2027-01-09'] } }));
    const overrides = readHolidayOverrides(file);
    expect(createHolidayCalendar().covers(2027)).toBe(false);
    expect(createHolidayCalendar(overrides).covers(2027)).toBe(true);
    expect(policy(overrides).isWorkday(bj('2027-01-01', '10:00'))).toBe(false);
    expect(policy(overrides).isWorkday(bj('2027-01-09', '10:00'))).toBe(true); // a Saturday made a workday
    expect(policy(overrides).isWorkday(bj('2027-01-10', '10:00'))).toBe(false);
    fs.writeFileSync(file, JSON.stringify({ 2027: { holidays: ['2028-01-01'] } }));
    expect(() => readHolidayOverrides(file)).toThrow(/HOLIDAYS_FILE.*2028-01-01/);
    fs.writeFileSync(file, '{"2027": {"holidays": ["1/1"]}}');
    expect(() => readHolidayOverrides(file)).toThrow(/HOLIDAYS_FILE.*YYYY-MM-DD/);
  });

  it('refuses a malformed QUIET_HOURS and accepts off', () => {
    expect(parseQuietHours('22-8')).toBeNull();
    expect(parseQuietHours('off')).toEqual({ startMinute: 0, endMinute: 0 });
  });
});

describe.each(testDatabases())('one reminder a day per person and subject (%s)', (database) => {
  it('hands out each person’s slot once per local day', async () => {
    const t = await startTestApp({ database });
    try {
      const p = policy();
      const morning = bj('2026-12-01', '09:00');
      const take = (ids: string[], at: number, subject = 'survey:Q-2026-0001') => t.app.transact((em) => p.takeDailySlots(em, ids, subject, at));
      expect(await take(['a', 'b'], morning)).toEqual(['a', 'b']);
      expect(await take(['a', 'b', 'c'], bj('2026-12-01', '17:00'))).toEqual(['c']);
      expect(await take(['a'], morning, 'cycle:R-2026Q4')).toEqual(['a']);
      expect(await take(['a', 'b'], bj('2026-12-02', '09:00'))).toEqual(['a', 'b']);
    } finally {
      await t.stop();
    }
  });
});

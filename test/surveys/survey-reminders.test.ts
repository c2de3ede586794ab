import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { TimerEntity } from '../../src/db/entities/kernel.entity';
import { importSurveyOrg, pageCards } from './survey-support';
import { Like } from 'typeorm';

/** Epoch ms of a wall-clock time in Shanghai (UTC+8, no DST). */
const local = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h - 8, min);
const fmt = (at: number) => new Date(at + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

describe('questionnaire reminders (SURVEY_REMINDERS 24h,2h) through the reminder policy', () => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let clock = 0;

  beforeEach(async () => {
    t = await startTestApp({ appOptions: { now: () => clock } });
    chat = consoleClient(t);
    await importSurveyOrg(t);
  });
  afterEach(() => t.stop());

  async function publishAt(at: number, deadline: string): Promise<string> {
    clock = at;
    const preview = onlyCard(await chat.say('liu', `问卷 发布 special-topic 范围 技术处 截止 ${deadline}`));
    const confirmed = texts(await chat.act('liu', preview.cardId, 'confirm'));
    return /Q-\d{4}-\d{4}/.exec(confirmed)![0];
  }

  async function reminderTimes(number: string): Promise<string[]> {
    const rows = await t.app.dataSource.getRepository(TimerEntity).findBy({ key: Like(`survey:${number}:remind:%`) });
    return rows.map((r) => fmt(r.dueAt)).sort();
  }

  async function reminded(user: string): Promise<number> {
    return (await chat.inbox(user)).filter((m) => 'text' in m && m.text.startsWith('提醒：问卷')).length;
  }

  it('moves a reminder out of quiet hours to the morning, and drops one that would come after the deadline', async () => {
    // Deadline Thu 06:00: 24 h before is Wed 06:00 (quiet) → Wed 08:00; 2 h before is Thu 04:00 → 08:00, after the deadline.
    const number = await publishAt(local(2026, 12, 1, 10), '2026-12-03 06:00');
    expect(await reminderTimes(number)).toEqual(['2026-12-02 08:00']);
  });

  it('moves a reminder off a weekend, and sends at most one a day per person (催办 included)', async () => {
    // Deadline Mon 12-07 10:00: 24 h before is Sunday → Monday 08:00; 2 h before is Monday 08:00 too.
    const number = await publishAt(local(2026, 12, 4, 10), '2026-12-07 10:00');
    expect(await reminderTimes(number)).toEqual(['2026-12-07 08:00', '2026-12-07 08:00']);
    // tech1 answers everything; tech0 does nothing.
    let card = pageCards(await chat.inbox('tech1'))[0];
    card = pageCards(await chat.act('tech1', card.cardId, 'submit', { aware: 'full', support: '4', impact: 'neutral' }))[0];
    await chat.act('tech1', card.cardId, 'submit', { worries: ['none'] });
    await chat.say('tech1', '跳过');

    // 催办 on Friday evening (quiet hours): held until the next allowed moment, Monday 08:00.
    clock = local(2026, 12, 4, 23);
    expect(await chat.sayText('liu', `问卷 催办 ${number}`)).toContain('2026-12-07 08:00');
    clock = local(2026, 12, 7, 8, 1);
    await t.app.timers.runDue(['survey.remind']);
    expect(await reminded('tech0')).toBe(1);
    expect(await reminded('tech1')).toBe(0);
    // Another 催办 the same day reaches nobody new.
    expect(await chat.sayText('liu', `问卷 催办 ${number}`)).toContain('今天已经提醒过');
    expect(await reminded('tech0')).toBe(1);
  });

  it('moves a reminder off the National Day holiday (2026-10-01…07) to the first workday', async () => {
    const number = await publishAt(local(2026, 9, 29, 10), '2026-10-08 12:00');
    expect(await reminderTimes(number)).toEqual(['2026-10-08 08:00', '2026-10-08 10:00']);
  });

  it('reminds on a make-up workday (调休, Saturday 2026-10-10) as on any workday, but not on an ordinary Saturday', async () => {
    const makeUp = await publishAt(local(2026, 10, 9, 9), '2026-10-10 18:00');
    expect(await reminderTimes(makeUp)).toEqual(['2026-10-09 18:00', '2026-10-10 16:00']);
    const ordinary = await publishAt(local(2026, 10, 16, 9), '2026-10-17 18:00');
    expect(await reminderTimes(ordinary)).toEqual(['2026-10-16 18:00']);
  });

  it('tells the office in December when next year’s holiday calendar is missing, once a year, never at start-up itself', async () => {
    const notices = async () => (await chat.inbox('liu')).filter((m) => 'text' in m && m.text.includes('2027 年的节假日安排'));
    clock = local(2026, 12, 4, 10); // Friday
    await t.app.transact((em) => t.app.bot.onStart(em, clock));
    await t.app.timers.runDue(['survey.calendar']);
    expect(await notices()).toHaveLength(0);
    // The next 09:00 is Saturday's: moved to Monday's morning.
    clock = local(2026, 12, 5, 9, 1);
    await t.app.timers.runDue(['survey.calendar']);
    expect(await notices()).toHaveLength(0);
    clock = local(2026, 12, 7, 8, 1);
    await t.app.transact((em) => t.app.bot.onStart(em, clock));
    await t.app.timers.runDue(['survey.calendar']);
    expect(await notices()).toHaveLength(1);
    await t.app.transact((em) => t.app.bot.onStart(em, clock));
    clock = local(2026, 12, 8, 9, 1);
    await t.app.timers.runDue(['survey.calendar']);
    expect(await notices()).toHaveLength(1);
    const next = await t.app.dataSource.getRepository(TimerEntity).findOneByOrFail({ key: 'survey:calendar:2027' });
    expect(fmt(next.dueAt)).toBe('2027-12-01 09:00');
  });
});

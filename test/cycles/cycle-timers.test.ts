import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { CycleEntity, CycleTaskEntity } from '../../src/db/entities/cycle.entity';
import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';
import { flush, inboxTexts, runStart, settableClock, shanghai, timersLike } from './support';

const ORG = {
  departments: [...SAMPLE_ORG.departments, { id: 'd3', name: '人事处', parentId: 'root' }],
  people: [...SAMPLE_ORG.people, { id: 'zhou', name: '周六', departmentIds: ['d3'], roles: ['liaison'] }],
};

describe.each(testDatabases())('the quarterly cycle timer (%s)', (database) => {
  const clock = settableClock(shanghai(2026, 11, 1, 10));
  const apps: TestApp[] = [];
  afterEach(async () => {
    // The first app owns the database: stop it last.
    for (const app of apps.reverse()) await app.stop();
    apps.length = 0;
  });

  async function instance(env: Record<string, string> = {}): Promise<TestApp> {
    const t = await startTestApp({ database, env, appOptions: { now: clock.now }, shareDatabaseOf: apps[0] });
    apps.push(t);
    return t;
  }

  it('opens the quarter once, at start-up after a server that was down at the opening time, and schedules the next quarter', async () => {
    clock.set(shanghai(2026, 11, 1, 10));
    const first = await instance();
    await importSampleOrg(first, ORG);
    await runStart(first, clock.now());
    const [pending] = await timersLike(first, 'cycle:open:');
    expect(pending).toMatchObject({ key: 'cycle:open:2026Q4', state: 'pending', dueAt: shanghai(2026, 12, 15, 9, 0) });
    expect(await first.app.timers.runDue(['cycles.open'])).toBe(0);

    // A restart before the opening changes nothing.
    const second = await instance();
    await runStart(second, clock.now());
    expect(await second.app.timers.runDue(['cycles.open'])).toBe(0);
    expect(await second.app.dataSource.getRepository(CycleEntity).count()).toBe(0);

    // No instance ran on 12-15 09:00; one starts the next day and opens the cycle at once.
    clock.set(shanghai(2026, 12, 16, 10));
    const third = await instance();
    await runStart(third, clock.now());
    expect(await third.app.timers.runDue(['cycles.open'])).toBe(1);
    const [cycle] = await third.app.dataSource.getRepository(CycleEntity).find();
    expect(cycle).toMatchObject({ number: 'R-2026Q4', kind: 'quarterly', dueAt: shanghai(2026, 12, 25, 17, 0), openedAt: clock.now() });
    expect(await third.app.dataSource.getRepository(CycleTaskEntity).count()).toBe(3);

    // Another restart: the opening that ran is not repeated; the next quarter's waits.
    const fourth = await instance();
    await runStart(fourth, clock.now());
    expect(await fourth.app.timers.runDue(['cycles.open'])).toBe(0);
    expect(await fourth.app.dataSource.getRepository(CycleEntity).count()).toBe(1);
    expect((await timersLike(fourth, 'cycle:open:')).map((r) => [r.key, r.state, r.dueAt])).toEqual([
      ['cycle:open:2026Q4', 'done', shanghai(2026, 12, 15, 9, 0)],
      ['cycle:open:2027Q1', 'pending', shanghai(2027, 3, 15, 9, 0)],
    ]);
    await flush(fourth);
    expect(inboxTexts(await consoleClient(fourth).inbox('zhangsan')).join('\n')).toContain('定期报告 R-2026Q4');
  });

  it('follows QUARTERLY_CYCLE_OPENS and QUARTERLY_CYCLE_DUE, and a server installed after the deadline waits for the next quarter', async () => {
    clock.set(shanghai(2026, 12, 26, 10));
    const t = await instance({ QUARTERLY_CYCLE_OPENS: '10 08:30', QUARTERLY_CYCLE_DUE: '20 12:00' });
    await runStart(t, clock.now());
    expect((await timersLike(t, 'cycle:open:')).map((r) => [r.key, r.dueAt])).toEqual([['cycle:open:2027Q1', shanghai(2027, 3, 10, 8, 30)]]);
    clock.set(shanghai(2027, 3, 10, 8, 30));
    await importSampleOrg(t, ORG);
    expect(await t.app.timers.runDue(['cycles.open'])).toBe(1);
    const [cycle] = await t.app.dataSource.getRepository(CycleEntity).find();
    expect(cycle).toMatchObject({ number: 'R-2027Q1', dueAt: shanghai(2027, 3, 20, 12, 0) });
  });
});

describe('quarterly cycle configuration', () => {
  const base = { NODE_ENV: 'test', DATA_KEY: Buffer.alloc(32).toString('base64'), CONSOLE: 'on' };
  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ ...base, QUARTERLY_CYCLE_OPENS: '31 09:00' })).toThrow(/QUARTERLY_CYCLE_OPENS/);
    expect(() => loadConfig({ ...base, QUARTERLY_CYCLE_DUE: 'soon' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, QUARTERLY_CYCLE_OPENS: '25 09:00', QUARTERLY_CYCLE_DUE: '15 17:00' })).toThrow(/QUARTERLY_CYCLE_DUE/);
    expect(loadConfig(base).quarterlyCycle).toEqual({ opens: { day: 15, hour: 9, minute: 0 }, due: { day: 25, hour: 17, minute: 0 } });
  });
});

describe.each(testDatabases())('the reminder ladder (%s)', (database) => {
  const clock = settableClock(shanghai(2026, 9, 22, 10));
  let t: TestApp;
  beforeEach(async () => {
    clock.set(shanghai(2026, 9, 22, 10));
    t = await startTestApp({ database, appOptions: { now: clock.now } });
    await importSampleOrg(t, ORG);
  });
  afterEach(() => t.stop());

  async function runAt(at: number, kind: string): Promise<number> {
    clock.set(at);
    const ran = await t.app.timers.runDue([kind]);
    await flush(t);
    return ran;
  }

  const reminders = async (user: string) => inboxTexts(await consoleClient(t).inbox(user)).filter((m) => m.startsWith('【专题报告') && (m.includes('提醒') || m.includes('逾期')));

  it('moves reminders out of quiet hours, the National Day holiday and a weekend, keeps a make-up workday, and tells the deputy and office who is late', async () => {
    const chat = consoleClient(t);
    // Tue 09-22 10:00 to Fri 10-09 17:00: 80 % of the window is Tue 10-06 06:00 (holiday, quiet hours).
    expect(await chat.sayText('liu', '专题 发起 国庆安排 截止 2026-10-09 范围 办公室 人事处')).toContain('R-2026-0001');
    expect((await timersLike(t, 'cycle:R-2026-0001:')).map((r) => [r.key, r.dueAt])).toEqual([
      ['cycle:R-2026-0001:remind:progress', shanghai(2026, 10, 8, 8, 0)], // next workday's end of quiet hours
      ['cycle:R-2026-0001:remind:dueday', shanghai(2026, 10, 9, 9, 0)],
      ['cycle:R-2026-0001:late:1', shanghai(2026, 10, 10, 9, 0)], // Sat 10-10 is a make-up workday (调休)
    ]);
    expect(await chat.sayText('zhou', '零报告 本期无情况')).toContain('零报告');
    expect(await runAt(shanghai(2026, 10, 7, 23), 'cycles.remind')).toBe(0);
    expect(await runAt(shanghai(2026, 10, 8, 8, 0), 'cycles.remind')).toBe(1);
    expect(await reminders('zhangsan')).toEqual([expect.stringContaining('提醒：本部门报告2026-10-09 17:00 截止，尚未提交')]);
    expect(await reminders('zhou')).toEqual([]); // submitted: no reminder
    expect(await runAt(shanghai(2026, 10, 9, 9, 0), 'cycles.remind')).toBe(1);
    expect((await reminders('zhangsan'))[1]).toContain('今天2026-10-09 17:00 截止');

    expect(await runAt(shanghai(2026, 10, 9, 17, 1), 'cycles.late')).toBe(0);
    expect(await runAt(shanghai(2026, 10, 10, 9, 0), 'cycles.late')).toBe(1);
    expect((await reminders('zhangsan'))[2]).toContain('逾期 1 天');
    for (const overseer of ['zhao', 'liu']) expect(inboxTexts(await chat.inbox(overseer)).join('\n')).toContain('逾期未报 1 个部门：办公室');
    expect(inboxTexts(await chat.inbox('zhou')).join('\n')).not.toContain('逾期');
    // Sun 10-11 is a rest day: Monday morning, at the end of quiet hours.
    expect((await timersLike(t, 'cycle:R-2026-0001:late:2')).map((r) => r.dueAt)).toEqual([shanghai(2026, 10, 12, 8, 0)]);
    // An instance that was down runs it late at night: it moves to the next morning instead of sending.
    expect(await runAt(shanghai(2026, 10, 12, 23, 30), 'cycles.late')).toBe(1);
    expect(await reminders('zhangsan')).toHaveLength(3);
    const moved = (await timersLike(t, 'cycle:R-2026-0001:late:2@')).map((r) => [r.state, r.dueAt]);
    expect(moved).toEqual([['pending', shanghai(2026, 10, 13, 8, 0)]]);
    // The late report is accepted; the moved notice finds nobody late and sends nothing.
    clock.set(shanghai(2026, 10, 12, 23, 40));
    for (const k of ['总体情况', '主要表现', '原因分析', '对策建议']) await chat.say('zhangsan', `报告 ${k} 无`);
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('已超过截止时间 3 天');
    expect(await runAt(shanghai(2026, 10, 13, 8, 0), 'cycles.late')).toBe(1);
    expect(await reminders('zhangsan')).toHaveLength(3);
    expect(await timersLike(t, 'cycle:R-2026-0001:late:3')).toEqual([]);
  });

  it('one reminder a day: two steps of the ladder on the same day reach the liaison once', async () => {
    expect(await consoleClient(t).sayText('liu', '专题 发起 甲 截止 2026-09-24')).toContain('R-2026-0001');
    // 80 % of the window is 09-24 06:00 (quiet hours: 08:00), the due-day morning 09:00 the same day: one reminder.
    const keys = (await timersLike(t, 'cycle:R-2026-0001:remind')).map((r) => [r.key, r.dueAt]);
    expect(keys).toEqual([
      ['cycle:R-2026-0001:remind:progress', shanghai(2026, 9, 24, 8, 0)],
      ['cycle:R-2026-0001:remind:dueday', shanghai(2026, 9, 24, 9, 0)],
    ]);
    expect(await runAt(shanghai(2026, 9, 24, 12), 'cycles.remind')).toBe(2);
    expect(await reminders('zhangsan')).toHaveLength(1);
  });
});

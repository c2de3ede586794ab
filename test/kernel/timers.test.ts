import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { cancelTimersByPrefix, createTimerWorker, scheduleTimer, timerState, type TimerHandlerEntry } from '../../src/core/timers';
import { TimerEntity } from '../../src/db/entities/kernel.entity';
import { CounterEntity } from '../../src/db/entities/insight.entity';
import { createLogger } from '../../src/lib/logger';
import { nextCounterValue } from '../../src/core/counters';

describe.each(testDatabases())('durable timers (%s)', (database) => {
  let t: TestApp;
  let clock: number;
  const ran: string[] = [];
  let failNext = false;

  const handlers = new Map<string, TimerHandlerEntry>([
    [
      'test.count',
      {
        run: async (em, job) => {
          // Work that must commit together with the job's "done" mark.
          await nextCounterValue(em, 'timer-test');
          if (failNext) {
            failNext = false;
            throw new Error('boom');
          }
          ran.push(job.key);
        },
      },
    ],
  ]);
  const worker = (now = () => clock) => createTimerWorker({ transact: t.app.transact, log: createLogger('silent'), handlers: () => handlers, now });
  const schedule = (key: string, dueAt: number) => t.app.transact((em) => scheduleTimer(em, { key, kind: 'test.count', dueAt, payload: { n: 1 } }, clock));
  const counter = async () => (await t.app.dataSource.getRepository(CounterEntity).findOneBy({ name: 'timer-test' }))?.value ?? 0;

  beforeEach(async () => {
    clock = Date.UTC(2026, 11, 1, 2, 0);
    ran.length = 0;
    t = await startTestApp({ database });
  });
  afterEach(() => t.stop());

  it('runs a job once when it is due, not before, and never again', async () => {
    await schedule('job:a', clock + 60_000);
    const w = worker();
    expect(await w.runDue()).toBe(0);
    clock += 60_000;
    expect(await w.runDue()).toBe(1);
    expect(await w.runDue()).toBe(0);
    expect(ran).toEqual(['job:a']);
    expect(await t.app.transact((em) => timerState(em, 'job:a'))).toBe('done');
  });

  it('scheduling a key again moves a pending job but never repeats one that ran', async () => {
    await schedule('job:b', clock + 10_000);
    await schedule('job:b', clock + 20_000);
    const w = worker();
    clock += 10_000;
    expect(await w.runDue()).toBe(0);
    clock += 10_000;
    expect(await w.runDue()).toBe(1);
    expect(await t.app.transact((em) => scheduleTimer(em, { key: 'job:b', kind: 'test.count', dueAt: clock }, clock))).toBe(false);
    expect(await w.runDue()).toBe(0);
    expect(ran).toEqual(['job:b']);
  });

  it('a job that throws is rolled back with its work and retried later', async () => {
    await schedule('job:c', clock);
    failNext = true;
    const w = worker();
    expect(await w.runDue()).toBe(0);
    expect(await counter()).toBe(0);
    const row = await t.app.dataSource.getRepository(TimerEntity).findOneByOrFail({ key: 'job:c' });
    expect(row).toMatchObject({ state: 'pending', attempts: 1, lastError: 'boom' });
    expect(row.dueAt).toBeGreaterThan(clock);
    clock = row.dueAt;
    expect(await w.runDue()).toBe(1);
    expect(await counter()).toBe(1);
  });

  it('of two workers on one database each due job runs exactly once', async () => {
    for (let i = 0; i < 40; i++) await schedule(`job:many:${i}`, clock);
    const [a, b] = [worker(), worker()];
    await Promise.all([a.runDue(), b.runDue(), a.runDue(['test.count']), b.runDue(['test.count'])]);
    expect(new Set(ran).size).toBe(40);
    expect(ran).toHaveLength(40);
    expect(await counter()).toBe(40);
  });

  it('a job that fell due while no instance ran runs when one starts; cancelled jobs never run', async () => {
    await schedule('job:missed', clock - 3_600_000);
    await schedule('job:cancel:1', clock);
    await t.app.transact((em) => cancelTimersByPrefix(em, 'job:cancel:'));
    expect(await worker().runDue()).toBe(1);
    expect(ran).toEqual(['job:missed']);
  });
});

import { createConnectionLease } from '../../src/core/connection-lease';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';

/** The lease on a connection only one instance may hold, on SQLite and MySQL, with a clock the test moves. */
describe.each(testDatabases())('connection lease (%s)', (database) => {
  let t: TestApp;
  let clock: number;

  beforeEach(async () => {
    t = await startTestApp({ database });
    clock = 1_764_500_000_000;
  });
  afterEach(async () => {
    await t.stop();
  });

  const lease = (instanceId: string) => createConnectionLease({ transact: t.app.transact, name: 'wecom-robot:bot', instanceId, now: () => clock, leaseMs: 30_000 });

  it('one holder at a time; the other takes over only once the lease has passed, and the old holder then knows it lost it', async () => {
    const a = lease('node-a');
    const b = lease('node-b');
    const [first, second] = await Promise.all([a.tryAcquire(), b.tryAcquire()]);
    expect([first, second].sort()).toEqual([false, true]);
    const [holder, other] = first ? [a, b] : [b, a];
    expect((await holder.holder())?.owner).toBe(holder.owner);

    clock += 20_000;
    expect(await holder.renew()).toBe(true);
    clock += 29_000;
    expect(await other.tryAcquire()).toBe(false);
    clock += 2_000;
    expect(await other.tryAcquire()).toBe(true);
    expect(await holder.renew()).toBe(false);
    expect(await holder.tryAcquire()).toBe(false);
    expect((await other.holder())?.owner).toBe(other.owner);
  });

  it('a released lease is taken at once', async () => {
    const a = lease('node-a');
    const b = lease('node-b');
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    await a.release();
    expect(await b.tryAcquire()).toBe(true);
    expect(await a.tryAcquire()).toBe(false);
  });
});

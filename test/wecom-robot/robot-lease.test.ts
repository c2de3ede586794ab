import path from 'node:path';
import { enqueueOutbound } from '../../src/core/outbox';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { waitFor } from '../escalation/support';
import { startInstance, type ChildInstance } from '../outbox/child-instance';
import { BOT_ID, BOT_SECRET, FakeRobotGateway, type SentFrame } from './fake-robot-gateway';
import { FakeSink, robotAdapter, type TestRobot } from './helpers';

jest.setTimeout(90_000);

/**
 * Frequent renewals so the tests see several quickly (production: 30 s / 10 s). The lease itself stays
 * long enough that a busy machine stalling the holder for a second or two does not let it run out: a
 * stopped holder releases it and a killed one is recognised as a dead process on this host, so no
 * test here waits for it to run out (test/kernel/connection-lease.test.ts covers that).
 */
const LEASE = { leaseMs: 10_000, renewMs: 200 };

/**
 * Two app instances in WECOM_MODE=robot on one database (one SQLite file in this process, or one
 * MariaDB database) against the fake robot gateway: the lease decides which one holds the robot's
 * connection; the other stands by and takes over when the holder stops or dies.
 */
describe.each(testDatabases())('WeCom robot: one instance holds the connection (%s)', (database) => {
  let gateway: FakeRobotGateway;
  const apps: TestApp[] = [];
  const children: ChildInstance[] = [];

  beforeEach(async () => {
    gateway = await new FakeRobotGateway().start();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    // The first app owns the database (dropped or deleted by its stop): stopped last.
    for (const t of apps.splice(0).reverse()) await t.stop();
    await gateway.stop();
  });

  const robotEnv = () => ({ WECOM_MODE: 'robot', WECOM_BOT_ID: BOT_ID, WECOM_BOT_SECRET: BOT_SECRET, WECOM_BOT_WS_URL: gateway.wsUrl, CONSOLE: 'off' });

  /** An instance with its own robot adapter (short lease, limits as given) on the shared database. */
  async function instance(id: string, limits = { perMinute: 30, perHour: 1000 }): Promise<{ t: TestApp; robot: TestRobot }> {
    const robot = robotAdapter(gateway, { lease: LEASE, limits, connectWaitMs: 200 });
    const t = await startTestApp({
      database,
      serve: true,
      shareDatabaseOf: apps[0],
      env: { ...robotEnv(), INSTANCE_ID: id },
      appOptions: { adapters: [robot.adapter] },
    });
    apps.push(t);
    return { t, robot };
  }

  const leaseRow = async (t: TestApp): Promise<{ owner: string; lease_until: string | number } | undefined> =>
    ((await t.app.dataSource.query('SELECT owner, lease_until FROM connection_leases')) as { owner: string; lease_until: string | number }[])[0];

  /** Resolves after the holder has renewed its lease `times` more times (time passing, seen in the database). */
  async function renewals(t: TestApp, times: number): Promise<void> {
    let last = Number((await leaseRow(t))?.lease_until);
    for (let seen = 0; seen < times; ) {
      await waitFor('a lease renewal', async () => Number((await leaseRow(t))?.lease_until) !== last);
      last = Number((await leaseRow(t))?.lease_until);
      seen += 1;
    }
  }

  async function send(t: TestApp, userId: string, text: string): Promise<void> {
    await t.app.transact((em) => enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId }], content: { kind: 'text', text } }, Date.now()));
    t.app.outbox.kick();
  }

  const framesWith = (text: string): SentFrame[] =>
    gateway.framesOf('aibot_send_msg').filter((f) => ((f.body.markdown as { content?: string } | undefined)?.content ?? '').includes(text));
  const rowsTo = (t: TestApp, userId: string) => t.app.dataSource.getRepository(OutboundMessageEntity).find({ where: { platform: 'wecom', recipient: `user:${userId}` } });

  it('only one instance connects; the other stands by (shown in /readyz) and claims none of its messages', async () => {
    const a = await instance('robot-a');
    await gateway.waitFor('the first instance to connect', () => gateway.activeConnection === 1);
    const b = await instance('robot-b');
    await waitFor('the second instance to see the holder', () => b.robot.adapter.connectionStatus().holder !== undefined);

    // Several renewal periods later nobody else has opened a connection: no takeover, no fight.
    await renewals(a.t, 5);
    expect(gateway.connectionCount).toBe(1);
    expect(gateway.upgradeAttempts).toHaveLength(1);

    const readyA = await a.t.request.get('/readyz');
    const readyB = await b.t.request.get('/readyz');
    expect(readyA.body.checks.wecom).toEqual({ connection: { state: 'connected', lease: 'holder' } });
    expect(readyB.status).toBe(200);
    expect(readyB.body.checks.wecom).toEqual({ connection: { state: 'standby', lease: 'standby', holder: expect.stringMatching(/^robot-a@/) } });

    // A message written by the standby (say, a reply to a callback it processed) goes out through the holder,
    // once, without the standby touching it (no attempt counted, no hand-back).
    const standbyDeliveries = jest.spyOn(b.robot.adapter, 'deliver');
    await send(b.t, 'wang', '来自备机的消息');
    await gateway.waitFor('the message', () => framesWith('来自备机的消息').length > 0);
    const [row] = await rowsTo(a.t, 'wang');
    await waitFor('the row marked sent', async () => (await rowsTo(a.t, 'wang'))[0].status === 'sent');
    expect(framesWith('来自备机的消息')).toEqual([expect.objectContaining({ connection: 1 })]);
    expect((await rowsTo(a.t, 'wang'))[0]).toMatchObject({ id: row.id, attempts: 1, lastError: null });
    expect(standbyDeliveries).not.toHaveBeenCalled();
  });

  it('when the holder stops, the other connects within the lease; a message sent meanwhile is delivered once', async () => {
    const a = await instance('robot-a');
    await gateway.waitFor('the first instance to connect', () => gateway.activeConnection === 1);
    const b = await instance('robot-b');
    await waitFor('the second instance to see the holder', () => b.robot.adapter.connectionStatus().holder !== undefined);

    await send(b.t, 'liu', '交接时的消息');
    await a.t.app.stop();
    await gateway.waitFor('the second instance to connect', () => gateway.activeConnection === 2);
    await gateway.waitFor('the message', () => framesWith('交接时的消息').length > 0);
    await waitFor('the row marked sent', async () => (await rowsTo(b.t, 'liu'))[0].status === 'sent');

    await renewals(b.t, 5);
    expect(framesWith('交接时的消息')).toHaveLength(1);
    expect(gateway.connectionCount).toBe(2);
    expect(b.robot.adapter.connectionStatus()).toEqual({ state: 'connected', lease: 'holder' });
    expect((await leaseRow(b.t))?.owner).toMatch(/^robot-b@/);
  });

  it('a connection from outside (same robot, no lease) takes the robot over: no reconnect fight, the lease stays put', async () => {
    const a = await instance('robot-a');
    await gateway.waitFor('the first instance to connect', () => gateway.activeConnection === 1);
    const b = await instance('robot-b');
    await waitFor('the second instance to see the holder', () => b.robot.adapter.connectionStatus().holder !== undefined);

    const outsider = robotAdapter(gateway);
    const outsiderUp = outsider.connected();
    try {
      await outsider.adapter.start(new FakeSink());
      await outsiderUp;
      await waitFor('the holder to stand by after the takeover', () => a.robot.adapter.connectionStatus().state === 'standby');

      await renewals(a.t, 5);
      expect(gateway.connectionCount).toBe(2);
      expect(gateway.activeConnection).toBe(2);
      expect(a.robot.adapter.connectionStatus()).toMatchObject({ state: 'standby', lease: 'holder' });
      expect(b.robot.adapter.connectionStatus()).toMatchObject({ lease: 'standby', holder: expect.stringMatching(/^robot-a@/) });
      expect(a.robot.statuses).toContainEqual(expect.objectContaining({ type: 'reconnect_scheduled', standby: true }));
    } finally {
      await outsider.adapter.stop();
    }
  });

  it('a holder killed with SIGKILL is replaced: the standby connects and sends what waits', async () => {
    const first = await instance('robot-observer');
    // The observer stands aside (its own lease name would be the same): stop its robot, keep its database.
    await first.robot.adapter.stop();
    await first.t.app.dataSource.query('DELETE FROM connection_leases');
    const connectionsBefore = gateway.connectionCount;
    const child = await startInstance({ ...apps[0].env, ...robotEnv(), INSTANCE_ID: 'robot-child' }, path.join('test', 'wecom-robot', 'robot-instance-harness.ts'));
    children.push(child);
    await gateway.waitFor('the child to connect', () => gateway.connectionCount === connectionsBefore + 1 && gateway.activeConnection === connectionsBefore + 1);
    const b = await instance('robot-b');
    await waitFor('the standby to see the child as holder', () => /^robot-child@/.test(b.robot.adapter.connectionStatus().holder ?? ''));

    await child.kill();
    await send(b.t, 'zhangsan', '接管后的消息');
    await gateway.waitFor('the standby to connect', () => gateway.activeConnection === connectionsBefore + 2, 20_000);
    await gateway.waitFor('the message', () => framesWith('接管后的消息').length > 0);
    expect(framesWith('接管后的消息')).toEqual([expect.objectContaining({ connection: connectionsBefore + 2 })]);
    expect((await leaseRow(b.t))?.owner).toMatch(/^robot-b@/);
  });

  it('a holder on another host that dies is replaced once its lease has run out, not before', async () => {
    const first = await instance('robot-observer');
    await first.robot.adapter.stop();
    await first.t.app.dataSource.query('DELETE FROM connection_leases');
    const connectionsBefore = gateway.connectionCount;
    const child = await startInstance(
      { ...apps[0].env, ...robotEnv(), INSTANCE_ID: 'robot-far', FAKE_HOSTNAME: 'another-host', ROBOT_LEASE_MS: '3000', ROBOT_LEASE_RENEW_MS: '200' },
      path.join('test', 'wecom-robot', 'robot-instance-harness.ts'),
    );
    children.push(child);
    await gateway.waitFor('the far instance to connect', () => gateway.activeConnection === connectionsBefore + 1);
    const b = await instance('robot-b');
    await waitFor('the standby to see it as holder', () => /^robot-far@another-host:/.test(b.robot.adapter.connectionStatus().holder ?? ''));

    await child.kill();
    const [{ lease_until: leaseUntil }] = (await first.t.app.dataSource.query('SELECT lease_until FROM connection_leases')) as { lease_until: string | number }[];
    await gateway.waitFor('the standby to connect', () => gateway.activeConnection === connectionsBefore + 2, 20_000);
    // Taken over only after the dead holder's last lease had ended (the far host's death is not visible here).
    const [{ acquired_at: acquiredAt, owner }] = (await first.t.app.dataSource.query('SELECT acquired_at, owner FROM connection_leases')) as { acquired_at: string | number; owner: string }[];
    expect(owner).toMatch(/^robot-b@/);
    expect(Number(acquiredAt)).toBeGreaterThan(Number(leaseUntil));
  });

  it('a new holder counts what the previous one sent against the per-conversation limits', async () => {
    const limits = { perMinute: 2, perHour: 100 };
    const a = await instance('robot-a', limits);
    await gateway.waitFor('the first instance to connect', () => gateway.activeConnection === 1);
    const b = await instance('robot-b', limits);
    await send(a.t, 'wang', '第一条');
    await send(a.t, 'wang', '第二条');
    await waitFor('both sent', async () => (await rowsTo(a.t, 'wang')).every((r) => r.status === 'sent'));

    await a.t.app.stop();
    await gateway.waitFor('the second instance to connect', () => gateway.activeConnection === 2);
    await send(b.t, 'wang', '第三条');
    await send(b.t, 'liu', '给别人的');
    await gateway.waitFor('the other conversation', () => framesWith('给别人的').length > 0);
    const third = await waitFor('the third message handed back', async () => (await rowsTo(b.t, 'wang')).find((r) => r.lastError === 'throttled for this recipient') ?? null);
    if (!third) throw new Error('unreachable: waitFor returns a row');
    expect(third.status).toBe('pending');
    // Tried again when the minute that began with the first message is over, not before.
    expect(Number(third.nextAttemptAt)).toBeGreaterThan(Date.now() + 10_000);
    expect(framesWith('第三条')).toHaveLength(0);
    expect(gateway.framesOf('aibot_send_msg').filter((f) => f.body.chatid === 'wang')).toHaveLength(2);
  });
});

/** The holder's side of the lease when the database cannot be reached (a fake lease; no app). */
describe('WeCom robot: a holder that cannot renew its lease', () => {
  it('closes its connection once its lease has ended, so a new holder never shares the robot with it', async () => {
    const gateway = await new FakeRobotGateway().start();
    let databaseUp = true;
    const fail = async (): Promise<never> => {
      throw new Error('database unreachable');
    };
    const lease = {
      owner: 'robot-a@host:1:abc',
      leaseMs: 600,
      renewMs: 50,
      tryAcquire: async () => (databaseUp ? true : fail()),
      renew: async () => (databaseUp ? true : fail()),
      release: async () => undefined,
      holder: async () => null,
    };
    const robot = robotAdapter(gateway);
    const services = { connectionLease: () => lease, sentSince: async () => [] };
    try {
      const up = robot.connected();
      await robot.adapter.start(new FakeSink(), services);
      await up;
      expect(robot.adapter.connectionStatus()).toEqual({ state: 'connected', lease: 'holder' });

      databaseUp = false;
      await waitFor('the holder to step back', () => robot.adapter.connectionStatus().lease === 'standby');
      // Its connection is stopped (which leaves no socket: robot-connection.test.ts asserts that at the gateway).
      expect(robot.statuses.at(-1)).toEqual({ type: 'stopped' });
      expect(robot.adapter.canDeliver()).toBe(false);

      // The database is back and nobody else took the lease: it holds it again and reconnects.
      const again = robot.connected();
      databaseUp = true;
      await again;
      expect(robot.adapter.connectionStatus()).toEqual({ state: 'connected', lease: 'holder' });
    } finally {
      await robot.adapter.stop();
      await gateway.stop();
    }
  });
});

import { FakeRobotGateway } from './fake-robot-gateway';
import { FakeSink, robotAdapter, sleep } from './helpers';

/** The connection's lifecycle, owned by the bot: backoff, silence, takeover, stop. */
describe('WeCom robot connection lifecycle (real SDK, fake gateway)', () => {
  let gateway: FakeRobotGateway;

  beforeEach(async () => {
    gateway = await new FakeRobotGateway().start();
  });
  afterEach(async () => {
    await gateway.stop();
  });

  it('when the gateway drops the socket and refuses reconnects, attempts back off, then it connects again', async () => {
    const robot = robotAdapter(gateway, { connection: { initialDelayMs: 40, maxDelayMs: 320 } });
    const first = robot.connected();
    await robot.adapter.start(new FakeSink());
    await first;
    const attemptsBefore = gateway.upgradeAttempts.length;

    gateway.refusing = true;
    gateway.dropAll();
    await gateway.waitFor('five refused attempts', () => gateway.upgradeAttempts.length >= attemptsBefore + 5);
    const times = gateway.upgradeAttempts.slice(attemptsBefore);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // random = 1: delays 40, 80, 160, 320 ms (doubling, capped at 320); timers fire late, never early.
    expect(gaps[0]).toBeGreaterThanOrEqual(75);
    expect(gaps[1]).toBeGreaterThanOrEqual(155);
    expect(gaps[2]).toBeGreaterThanOrEqual(315);
    expect(gaps[3]).toBeGreaterThanOrEqual(315);
    expect(gaps[3]).toBeLessThan(1000);
    expect(robot.adapter.connectionStatus()).toMatchObject({ state: 'reconnecting', lastError: expect.stringContaining('503') });

    const again = robot.connected();
    gateway.refusing = false;
    await again;
    expect(robot.adapter.connectionStatus()).toEqual({ state: 'connected' });
    expect(gateway.openSockets).toBe(1);
    await robot.adapter.stop();
  });

  it('notices a silent connection (no heartbeat receipts) and opens a new one', async () => {
    const robot = robotAdapter(gateway, { connection: { heartbeatMs: 100, silenceMs: 200 } });
    const first = robot.connected();
    await robot.adapter.start(new FakeSink());
    await first;

    gateway.answeringPings = false;
    const second = robot.connected();
    await gateway.waitFor('a second connection', () => gateway.connectionCount >= 2);
    gateway.answeringPings = true;
    await second;
    expect(robot.statuses).toContainEqual({ type: 'disconnected', reason: 'silent' });
    await robot.adapter.stop();
  });

  it('a second instance takes over: the first stands by instead of reconnecting, and frames reach the second', async () => {
    const sinkA = new FakeSink();
    const sinkB = new FakeSink();
    const a = robotAdapter(gateway, { connection: { takeoverHoldMs: 60_000 } });
    const b = robotAdapter(gateway, { connection: { takeoverHoldMs: 60_000 } });
    const aUp = a.connected();
    await a.adapter.start(sinkA);
    await aUp;

    const bUp = b.connected();
    await b.adapter.start(sinkB);
    await bUp;
    await gateway.waitFor('the first socket to close', () => gateway.openSockets === 1).catch((error: Error) => {
      throw new Error(`${error.message}; A: ${JSON.stringify(a.statuses)}; B: ${JSON.stringify(b.statuses)}`);
    });
    expect(a.statuses).toContainEqual({ type: 'disconnected', reason: 'taken_over' });
    expect(a.statuses).toContainEqual(expect.objectContaining({ type: 'reconnect_scheduled', standby: true, delayMs: 60_000 }));
    expect(a.adapter.connectionStatus().state).toBe('standby');

    // No reconnect fight: for a while, nobody opens another connection and B keeps the robot.
    await sleep(300);
    expect(gateway.connectionCount).toBe(2);
    expect(gateway.activeConnection).toBe(2);
    gateway.pushText({ msgid: 'after-takeover', content: '帮助' });
    await sinkB.waitForEvents(1);
    expect(sinkA.events).toHaveLength(0);

    await a.adapter.stop();
    await b.adapter.stop();
  });

  it('a standing-by instance takes the robot back once the hold is over (the holder may have died)', async () => {
    const a = robotAdapter(gateway, { connection: { takeoverHoldMs: 200 } });
    const b = robotAdapter(gateway, { connection: { takeoverHoldMs: 60_000 } });
    const aUp = a.connected();
    await a.adapter.start(new FakeSink());
    await aUp;
    const bUp = b.connected();
    await b.adapter.start(new FakeSink());
    await bUp;
    await b.adapter.stop();

    const aBack = a.connected();
    await aBack;
    expect(gateway.activeConnection).toBe(3);
    await a.adapter.stop();
  });

  it('stop() leaves no socket and no timer behind, also while reconnecting', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const robot = robotAdapter(gateway);
    const up = robot.connected();
    await robot.adapter.start(new FakeSink());
    await up;
    gateway.refusing = true;
    gateway.dropAll();
    await gateway.waitFor('a refused attempt', () => gateway.upgradeAttempts.length >= 2);

    await robot.adapter.stop();
    const attempts = gateway.upgradeAttempts.length;
    await sleep(500);
    expect(gateway.upgradeAttempts.length).toBe(attempts);
    expect(gateway.openSockets).toBe(0);
    // Sockets being torn down may hold a timer for a moment; a timer of ours (a 60 s reconnect) would stay.
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 40 && timers() > timersBefore; i++) await sleep(50);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    expect(robot.adapter.connectionStatus().state).toBe('stopped');
  });
});

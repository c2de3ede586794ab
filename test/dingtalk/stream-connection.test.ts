import { createLogger } from '../../src/lib/logger';
import {
  StreamConnection,
  TOPIC_ROBOT,
  type ConnectionStatus,
  type StreamConnectionOptions,
  type StreamFrame,
} from '../../src/platforms/dingtalk/stream-connection';
import { FakeGateway, robotMessagePayload } from './fake-gateway';
import { silenceSdkConsole } from './helpers';

silenceSdkConsole();

const log = createLogger('silent');

/** Collects status changes and lets a test wait for the n-th one of a kind. */
class StatusLog {
  readonly entries: ConnectionStatus[] = [];
  private waiters: { type: ConnectionStatus['type']; count: number; resolve: () => void }[] = [];

  readonly push = (status: ConnectionStatus): void => {
    this.entries.push(status);
    this.waiters = this.waiters.filter((w) => {
      if (this.count(w.type) < w.count) return true;
      w.resolve();
      return false;
    });
  };

  count(type: ConnectionStatus['type']): number {
    return this.entries.filter((e) => e.type === type).length;
  }

  waitFor(type: ConnectionStatus['type'], count = 1): Promise<void> {
    if (this.count(type) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ type, count, resolve }));
  }
}

describe('DingTalk stream connection (real dingtalk-stream SDK, fake gateway)', () => {
  let gateway: FakeGateway;
  let connection: StreamConnection | undefined;

  afterEach(async () => {
    await connection?.stop();
    connection = undefined;
    await gateway.stop();
  });

  function connect(overrides: Partial<StreamConnectionOptions> = {}, onFrame?: StreamConnectionOptions['onFrame']) {
    const statuses = new StatusLog();
    const frames: StreamFrame[] = [];
    connection = new StreamConnection({
      clientId: 'ding-client',
      clientSecret: 'ding-secret',
      apiBase: gateway.baseUrl,
      log,
      onStatus: statuses.push,
      onFrame:
        onFrame ??
        ((frame, respond) => {
          frames.push(frame);
          respond(null);
        }),
      initialDelayMs: 20,
      maxDelayMs: 160,
      random: () => 1,
      ...overrides,
    });
    return { statuses, frames, connection };
  }

  it('opens the gateway at DINGTALK_API_BASE with the credentials and the robot and card subscriptions', async () => {
    gateway = await new FakeGateway().start();
    const { statuses } = connect();
    await connection!.start();
    await statuses.waitFor('connected');

    expect(gateway.ticketPosts).toHaveLength(1);
    const post = gateway.ticketPosts[0]!;
    expect(post.clientId).toBe('ding-client');
    expect(post.clientSecret).toBe('ding-secret');
    expect(post.subscriptions).toEqual(
      expect.arrayContaining([
        { type: 'CALLBACK', topic: '/v1.0/im/bot/messages/get' },
        { type: 'CALLBACK', topic: '/v1.0/card/instances/callback' },
      ]),
    );
    expect(connection!.connected).toBe(true);
  });

  it('hands robot frames to the handler and sends its acknowledgement back on the socket', async () => {
    gateway = await new FakeGateway().start();
    const { statuses, frames } = connect();
    await connection!.start();
    await statuses.waitFor('connected');

    const ack = await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'm-1' }), 'frame-a');

    expect(frames).toHaveLength(1);
    expect(frames[0]!.topic).toBe(TOPIC_ROBOT);
    expect(JSON.parse(frames[0]!.data).msgId).toBe('m-1');
    expect(ack.code).toBe(200);
    expect(ack.headers.messageId).toBe('frame-a');
    expect(JSON.parse(ack.data)).toEqual({ response: null });
  });

  it('answers gateway pings and survives a malformed frame', async () => {
    gateway = await new FakeGateway().start();
    const { statuses } = connect();
    await connection!.start();
    await statuses.waitFor('connected');

    gateway.sendRaw('not json');
    const pong = await gateway.sendSystem('ping', { opaque: 'o-1' }, 'ping-1');

    expect(pong).toMatchObject({ code: 200, headers: { messageId: 'ping-1' } });
    expect(JSON.parse(pong!.data)).toEqual({ opaque: 'o-1' });
    expect(gateway.connectionCount).toBe(1);
  });

  it('reconnects exactly once, after a backoff, when the gateway closes the socket', async () => {
    gateway = await new FakeGateway().start();
    const { statuses } = connect();
    await connection!.start();
    await statuses.waitFor('connected');

    gateway.closeSockets();
    await statuses.waitFor('connected', 2);
    // The new connection works: a frame pushed on it is acknowledged.
    await gateway.pushRobotMessage(robotMessagePayload());

    expect(statuses.count('disconnected')).toBe(1);
    expect(statuses.entries.filter((s) => s.type === 'reconnect_scheduled')).toEqual([
      { type: 'reconnect_scheduled', attempt: 1, delayMs: 20 },
    ]);
    expect(gateway.ticketPosts).toHaveLength(2);
    expect(gateway.connectionCount).toBe(2);
    expect(gateway.openSockets).toBe(1);
  });

  it('answers a SYSTEM disconnect by connecting anew before dropping the old socket', async () => {
    gateway = await new FakeGateway().start();
    const { statuses } = connect();
    await connection!.start();
    await statuses.waitFor('connected');

    gateway.sendSystem('disconnect', { reason: 'connection is expired' });
    await statuses.waitFor('connected', 2);
    await gateway.pushRobotMessage(robotMessagePayload());
    // The gateway's own close of the old socket afterwards must not trigger another reconnect.
    gateway.closeSockets();
    await statuses.waitFor('connected', 3);

    expect(statuses.entries.filter((s) => s.type === 'disconnected').map((s) => (s as { reason: string }).reason)).toEqual([
      'system_disconnect',
      'closed',
    ]);
    expect(gateway.connectionCount).toBe(3);
  });

  it('backs off while the gateway refuses the WebSocket, and stop() ends the attempts', async () => {
    gateway = await new FakeGateway({ refuseUpgrade: true }).start();
    const { statuses } = connect();
    await connection!.start();
    await statuses.waitFor('attempt_failed', 5);
    await connection!.stop();
    const attemptsAtStop = gateway.upgradeAttempts;

    // Doubling delays, capped at maxDelayMs: no storm (one attempt per scheduled reconnect).
    const delays = statuses.entries.flatMap((s) => (s.type === 'reconnect_scheduled' ? [s.delayMs] : []));
    expect(delays.slice(0, 5)).toEqual([20, 40, 80, 160, 160]);
    expect(attemptsAtStop).toBe(statuses.count('attempt_failed'));
    expect(gateway.ticketPosts).toHaveLength(attemptsAtStop);

    // Nothing keeps running after stop(): no further attempt arrives within several max delays.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(gateway.upgradeAttempts).toBe(attemptsAtStop);
    expect(statuses.entries[statuses.entries.length - 1]).toEqual({ type: 'stopped' });
  });

  it('reports refused credentials as a configuration problem and keeps backing off', async () => {
    gateway = await new FakeGateway({ refuseTicketStatus: 401 }).start();
    const { statuses } = connect();
    await connection!.start();
    await statuses.waitFor('attempt_failed', 2);

    expect(connection!.configurationProblem).toContain('DINGTALK_CLIENT_SECRET');
    expect(gateway.upgradeAttempts).toBe(0);
  });

  it('drops a connection that stays silent and opens a new one', async () => {
    gateway = await new FakeGateway().start();
    let clock = 0;
    const { statuses } = connect({ silenceMs: 40, now: () => clock });
    await connection!.start();
    await statuses.waitFor('connected');

    clock += 1000; // no frame, no pong for longer than silenceMs
    await statuses.waitFor('connected', 2);

    expect(statuses.entries.filter((s) => s.type === 'disconnected')).toEqual([{ type: 'disconnected', reason: 'silent' }]);
    expect(gateway.connectionCount).toBe(2);
  });
});

import { createLogger } from '../../src/lib/logger';
import { createDingtalkAdapter } from '../../src/platforms/dingtalk/dingtalk-adapter';
import { encodeCardActionText } from '../../src/platforms/dingtalk/dingtalk-cards';
import type { ConnectionStatus } from '../../src/platforms/dingtalk/stream-connection';
import type { PlatformAdapter } from '../../src/core/platform-adapter';
import { cardCallbackPayload, FakeGateway, robotMessagePayload } from './fake-gateway';
import { dingtalkConfig, FakeSink, silenceSdkConsole } from './helpers';

silenceSdkConsole();

describe('DingTalk adapter in Stream mode (real SDK, fake gateway)', () => {
  let gateway: FakeGateway;
  let adapter: PlatformAdapter;
  let sink: FakeSink;

  beforeEach(async () => {
    gateway = await new FakeGateway().start();
    sink = new FakeSink();
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => (connected = resolve));
    adapter = createDingtalkAdapter({
      config: dingtalkConfig({ apiBase: gateway.baseUrl }),
      log: createLogger('silent'),
      now: () => 1_700_000_000_000,
      stream: {
        initialDelayMs: 10,
        onStatus: (s: ConnectionStatus) => {
          if (s.type === 'connected') connected();
        },
      },
    });
    await adapter.start(sink);
    await ready;
  });

  afterEach(async () => {
    await adapter.stop();
    await gateway.stop();
  });

  it('turns a direct robot message into a message event and acknowledges it', async () => {
    const ack = await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'msgA', text: ' 帮助 ', senderStaffId: 'u-1', senderNick: '李四' }), 'f-1');

    expect(ack).toMatchObject({ code: 200, headers: { messageId: 'f-1' } });
    expect(sink.events).toEqual([
      {
        id: 'dingtalk:msg:msgA',
        platform: 'dingtalk',
        type: 'message',
        text: '帮助',
        senderId: 'u-1',
        senderName: '李四',
        conversation: { kind: 'direct', id: 'u-1' },
        receivedAt: 1_700_000_000_000,
      },
    ]);
  });

  it('acknowledges only after the event is recorded', async () => {
    sink.hold();
    const acked = gateway.pushRobotMessage(robotMessagePayload({ msgId: 'msgHeld' }), 'f-held');
    // A ping round trip proves the frame was received and handled up to the sink.
    await gateway.sendSystem('ping', { opaque: 'x' });
    expect(sink.heldCount).toBe(1);
    expect(gateway.acks.filter((a) => a.headers.messageId === 'f-held')).toHaveLength(0);

    sink.release();
    await acked;
    expect(sink.events.map((e) => e.id)).toEqual(['dingtalk:msg:msgHeld']);
  });

  it('leaves a frame unacknowledged when it cannot be recorded, so the gateway redelivers it', async () => {
    sink.failing = true;
    void gateway.pushRobotMessage(robotMessagePayload({ msgId: 'msgLost' }), 'f-lost');
    await gateway.sendSystem('ping', { opaque: 'x' });
    sink.failing = false;

    const redelivered = await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'msgLost' }), 'f-lost-again');

    expect(redelivered.headers.messageId).toBe('f-lost-again');
    expect(gateway.acks.some((a) => a.headers.messageId === 'f-lost')).toBe(false);
    expect(sink.events.map((e) => e.id)).toEqual(['dingtalk:msg:msgLost']);
  });

  it('gives a redelivered message the same id, so the inbound store keeps it once', async () => {
    const payload = robotMessagePayload({ msgId: 'msgTwice' });
    await gateway.pushRobotMessage(payload, 'f-a');
    await gateway.pushRobotMessage(payload, 'f-b');

    expect(sink.events.map((e) => e.id)).toEqual(['dingtalk:msg:msgTwice', 'dingtalk:msg:msgTwice']);
    expect(sink.ids.size).toBe(1);
  });

  it('turns a group message into a group-conversation event', async () => {
    await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'g1', conversationType: '2', conversationId: 'cidGroup==', senderStaffId: 'u-2' }));

    expect(sink.events[0]).toMatchObject({ type: 'message', senderId: 'u-2', conversation: { kind: 'group', id: 'cidGroup==' } });
  });

  it('turns the message a fallback card button sends into a card action', async () => {
    const text = encodeCardActionText('已阅知悉', 'alert-7', 'ack', { note: '已 处理', tags: ['a', 'b'] });
    await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'btn1', text, senderStaffId: 'leader' }));

    expect(sink.events[0]).toMatchObject({
      id: 'dingtalk:msg:btn1',
      type: 'card_action',
      cardId: 'alert-7',
      action: 'ack',
      values: { note: '已 处理', tags: ['a', 'b'] },
      senderId: 'leader',
    });
  });

  it('turns an interactive-card callback into a card action and answers it', async () => {
    const payload = cardCallbackPayload({
      outTrackId: 'insight-1.abcdef123456',
      userId: 'u-3',
      params: { cardId: 'insight-1', action: 'correct', method: 'talk', category: 'work' },
    });
    const ack = await gateway.pushCardCallback(payload, 'card-frame-1');

    expect(JSON.parse(ack.data)).toEqual({ response: {} });
    expect(sink.events).toEqual([
      expect.objectContaining({
        id: 'dingtalk:card:card-frame-1',
        type: 'card_action',
        cardId: 'insight-1',
        action: 'correct',
        values: { method: 'talk', category: 'work' },
        senderId: 'u-3',
        cardRef: 'card:insight-1.abcdef123456',
        conversation: { kind: 'direct', id: 'u-3' },
      }),
    ]);
  });

  it('acknowledges a malformed payload without recording anything', async () => {
    const ack = await gateway.pushRobotMessage({ nothing: 'useful' }, 'f-bad');

    expect(ack.headers.messageId).toBe('f-bad');
    expect(sink.events).toHaveLength(0);
  });

  it('exposes no HTTP route in Stream mode', () => {
    expect(adapter.routes).toBeUndefined();
  });

  it('stops completely: the socket is closed and nothing reconnects', async () => {
    await adapter.stop();
    await gateway.waitForNoSockets();
    await new Promise((resolve) => setTimeout(resolve, 100)); // several reconnect delays
    expect(gateway.connectionCount).toBe(1);
    expect(gateway.ticketPosts).toHaveLength(1);
  });
});

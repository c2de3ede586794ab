import { PlatformApiError } from '../../src/core/errors';
import type { CardActionEvent, FileEvent } from '../../src/core/events';
import { CARD_UPDATE_WINDOW_MS } from '../../src/platforms/wecom-robot/robot-adapter';
import { BOT_ID, BOT_SECRET, FakeRobotGateway } from './fake-robot-gateway';
import { FakeSink, robotAdapter, sampleCard, type TestRobot } from './helpers';

/** The real SDK (@wecom/aibot-node-sdk 1.0.7) against a fake robot gateway on 127.0.0.1. */
describe('WeCom robot adapter (real SDK, fake gateway)', () => {
  let gateway: FakeRobotGateway;
  let robot: TestRobot;
  let sink: FakeSink;
  let clock: number;

  beforeEach(async () => {
    gateway = await new FakeRobotGateway().start();
    sink = new FakeSink();
    clock = 1_764_500_000_000;
    robot = robotAdapter(gateway, { now: () => clock, limits: { perMinute: 3, perHour: 100 } });
    const connected = robot.connected();
    await robot.adapter.start(sink);
    await connected;
  });

  afterEach(async () => {
    await robot.adapter.stop();
    await gateway.stop();
  });

  it('authenticates with the robot id and secret and reports the connection in its status', () => {
    expect(gateway.authFrames).toEqual([{ bot_id: BOT_ID, secret: BOT_SECRET }]);
    expect(robot.adapter.connectionStatus()).toEqual({ state: 'connected' });
    expect(robot.adapter.configurationProblems()).toEqual([]);
  });

  it('turns a direct text frame into a message event keyed by its msgid', async () => {
    gateway.pushText({ msgid: 'm-1', userid: 'lisi', content: '上报 #谈心 近期情况' });
    await sink.waitForEvents(1);
    expect(sink.events).toEqual([
      {
        id: 'wecom:robot:msg:m-1',
        platform: 'wecom',
        type: 'message',
        text: '上报 #谈心 近期情况',
        senderId: 'lisi',
        conversation: { kind: 'direct', id: 'lisi' },
        receivedAt: clock,
      },
    ]);
  });

  it('reads a group @-mention as a command in the group conversation', async () => {
    gateway.pushText({ msgid: 'g-1', userid: 'lisi', chatid: 'group-9', content: '@心声 帮助' });
    await sink.waitForEvents(1);
    expect(sink.events[0]).toMatchObject({ type: 'message', text: '帮助', conversation: { kind: 'group', id: 'group-9' } });
  });

  it('gives a frame pushed twice the same id, so the inbound store keeps it once', async () => {
    gateway.pushText({ msgid: 'twice', content: '帮助' }, 'req-a');
    gateway.pushText({ msgid: 'twice', content: '帮助' }, 'req-b');
    await sink.waitForEvents(2);
    expect(sink.events.map((e) => e.id)).toEqual(['wecom:robot:msg:twice', 'wecom:robot:msg:twice']);
    expect(sink.ids.size).toBe(1);
  });

  it('welcomes on enter_chat: an enter event', async () => {
    gateway.pushEvent({ msgid: 'e-1', userid: 'lisi', event: { eventtype: 'enter_chat' } });
    await sink.waitForEvents(1);
    expect(sink.events[0]).toMatchObject({ id: 'wecom:robot:evt:e-1', type: 'enter', senderId: 'lisi' });
  });

  it('reads a card click with its selected items from the raw frame (both documented shapes)', async () => {
    gateway.pushEvent({
      msgid: 'c-1',
      userid: 'wang',
      event: {
        eventtype: 'template_card_event',
        template_card_event: {
          card_type: 'multiple_interaction',
          event_key: 'correct',
          task_id: 'card-7@abc',
          selected_items: { selected_item: [{ question_key: 'method', option_ids: { option_id: ['talk'] } }] },
        },
      },
    }, 'req-click-1');
    gateway.pushEvent({
      msgid: 'c-2',
      userid: 'wang',
      event: {
        eventtype: 'template_card_event',
        card_type: 'vote_interaction',
        event_key: 'submit',
        task_id: 'card-8@def',
        selected_items: [{ question_key: 'tags', option_ids: ['a', 'b'] }],
      },
    });
    await sink.waitForEvents(2);
    const [first, second] = sink.events as CardActionEvent[];
    expect(first).toMatchObject({ id: 'wecom:robot:evt:c-1', type: 'card_action', cardId: 'card-7', action: 'correct', values: { method: 'talk' }, senderId: 'wang' });
    expect(first.cardRef).toBe(`robot-click|${clock}|card-7@abc|req-click-1`);
    expect(second).toMatchObject({ cardId: 'card-8', action: 'submit', values: { tags: ['a', 'b'] } });
  });

  it('ignores a click on a card it did not send and on the inert state button', async () => {
    gateway.pushEvent({ event: { eventtype: 'template_card_event', event_key: 'x', task_id: 'no-at-sign' } });
    gateway.pushEvent({ event: { eventtype: 'template_card_event', event_key: '__state', task_id: 'card-1@abc' } });
    gateway.pushText({ msgid: 'after', content: '帮助' });
    await sink.waitForEvents(1);
    expect(sink.events.map((e) => e.id)).toEqual(['wecom:robot:msg:after']);
  });

  it('updates the clicked copy by answering the click frame within 5 s, and sends the state as a message after', async () => {
    const card = sampleCard({ state: '王书记 已阅 12-01 10:02' });
    await robot.adapter.updateCard({ kind: 'user', userId: 'wang' }, `robot-click|${clock - 1000}|card-1@abc|req-click-9`, card);
    const [update] = gateway.framesOf('aibot_respond_update_msg');
    expect(update.reqId).toBe('req-click-9');
    expect(update.body).toMatchObject({ response_type: 'update_template_card', userids: ['wang'], template_card: { card_type: 'button_interaction', task_id: 'card-1@abc' } });
    expect(JSON.stringify(update.body)).toContain('王书记 已阅');

    await robot.adapter.updateCard({ kind: 'user', userId: 'liu' }, `robot-click|${clock - CARD_UPDATE_WINDOW_MS - 1}|card-1@def|req-old`, card);
    await robot.adapter.updateCard({ kind: 'user', userId: 'zhao' }, 'card-1@ghi', card);
    expect(gateway.framesOf('aibot_respond_update_msg')).toHaveLength(1);
    expect(gateway.framesOf('aibot_send_msg').map((f) => f.body)).toEqual([
      { chatid: 'liu', msgtype: 'markdown', markdown: { content: '**【即时报告】S-2026-0001**\n> 状态：王书记 已阅 12-01 10:02' } },
      { chatid: 'zhao', msgtype: 'markdown', markdown: { content: '**【即时报告】S-2026-0001**\n> 状态：王书记 已阅 12-01 10:02' } },
    ]);
  });

  it('emits a file message as a file event whose ref downloadFile fetches and decrypts', async () => {
    const content = Buffer.from('部门季度思想动态报告（样例）'.repeat(50));
    const served = gateway.serveFile(content, '办公室2026Q4报告.docx');
    gateway.push('aibot_msg_callback', { msgid: 'f-1', aibotid: BOT_ID, chattype: 'single', from: { userid: 'zhangsan' }, msgtype: 'file', file: served });
    await sink.waitForEvents(1);
    const event = sink.events[0] as FileEvent;
    expect(event).toMatchObject({ id: 'wecom:robot:msg:f-1', type: 'file', senderId: 'zhangsan' });

    const downloaded = await robot.adapter.downloadFile(event.file);
    expect(downloaded.name).toBe('办公室2026Q4报告.docx');
    expect(downloaded.data.equals(content)).toBe(true);
  });

  it('reports a download that cannot be had as a PlatformApiError', async () => {
    const ref = JSON.stringify({ url: `http://127.0.0.1:${gateway.port}/file/0000`, aeskey: 'x' });
    await expect(robot.adapter.downloadFile({ ref, name: 'a.docx' })).rejects.toMatchObject({ details: { status: 404, retryable: false } });
  });

  it('sends text to a person (userid as the chat) and to a group, as markdown', async () => {
    const outcome = await robot.adapter.deliver({
      recipients: [{ kind: 'user', userId: 'wang' }, { kind: 'group', groupId: 'group-9' }],
      content: { kind: 'text', text: '已收到您的上报。' },
    });
    expect(outcome).toEqual({ invalid: [], retryLater: [] });
    expect(gateway.framesOf('aibot_send_msg').map((f) => f.body).sort((a, b) => String(a.chatid).localeCompare(String(b.chatid)))).toEqual([
      { chatid: 'group-9', msgtype: 'markdown', markdown: { content: '已收到您的上报。' } },
      { chatid: 'wang', msgtype: 'markdown', markdown: { content: '已收到您的上报。' } },
    ]);
  });

  it('sends a summary table as the list WeCom renders, not as a table it cannot show', async () => {
    await robot.adapter.deliver({
      recipients: [{ kind: 'user', userId: 'liu' }],
      content: { kind: 'markdown', title: '汇总', markdown: '| 类别 | 本期 |\n|---|---|\n| 利益诉求 | 2 |' },
    });
    const content = String((gateway.framesOf('aibot_send_msg')[0].body.markdown as { content: string }).content);
    expect(content).not.toContain('|');
    expect(content).toContain('利益诉求');
  });

  it('sends a card as the same template_card the self-built app renders, one task id per copy', async () => {
    const outcome = await robot.adapter.deliver({
      recipients: [{ kind: 'user', userId: 'wang' }, { kind: 'user', userId: 'liu' }],
      content: { kind: 'card', card: sampleCard() },
    });
    const frames = gateway.framesOf('aibot_send_msg');
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      expect(frame.body).toMatchObject({
        msgtype: 'template_card',
        template_card: { card_type: 'button_interaction', button_list: [{ text: '已阅知悉', key: 'ack' }, { text: '部署处置', key: 'deploy' }] },
      });
    }
    const taskIds = frames.map((f) => (f.body.template_card as { task_id: string }).task_id);
    expect(new Set(taskIds).size).toBe(2);
    expect(Object.values(outcome.cardRefs ?? {}).sort()).toEqual([...taskIds].sort());
  });

  it('uploads a file over the connection and sends it by media_id', async () => {
    await robot.adapter.deliver({
      recipients: [{ kind: 'user', userId: 'liu' }],
      content: { kind: 'file', fileName: '汇总.xlsx', mimeType: 'application/vnd.ms-excel', dataBase64: Buffer.from('xlsx').toString('base64') },
    });
    expect(gateway.sent.map((f) => f.cmd)).toEqual(['aibot_upload_media_init', 'aibot_upload_media_chunk', 'aibot_upload_media_finish', 'aibot_send_msg']);
    expect(gateway.sent[0].body).toMatchObject({ type: 'file', filename: '汇总.xlsx', total_size: 4, total_chunks: 1 });
    expect(gateway.sent[3].body).toEqual({ chatid: 'liu', msgtype: 'file', file: { media_id: 'media-1' } });
  });

  it('never goes over a conversation limit: the excess is handed back to be sent later', async () => {
    const to = (userId: string) => ({ recipients: [{ kind: 'user' as const, userId }], content: { kind: 'text' as const, text: '通知' } });
    for (let i = 0; i < 3; i++) expect(await robot.adapter.deliver(to('wang'))).toEqual({ invalid: [], retryLater: [] });
    const over = await robot.adapter.deliver(to('wang'));
    expect(over).toMatchObject({ invalid: [], retryLater: [{ kind: 'user', userId: 'wang' }] });
    // Tried again when the minute's window has room (the outbox's default would be a minute anyway).
    expect(over.retryAfterMs).toBeGreaterThan(0);
    expect(over.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await robot.adapter.deliver(to('liu'))).toEqual({ invalid: [], retryLater: [] });
    expect(gateway.framesOf('aibot_send_msg').filter((f) => f.body.chatid === 'wang')).toHaveLength(3);
  });

  it('reports a chat WeCom does not know as invalid, other refusals as retryable errors', async () => {
    gateway.sendErrcode = 93006;
    const invalid = await robot.adapter.deliver({ recipients: [{ kind: 'group', groupId: 'gone' }], content: { kind: 'text', text: 'x' } });
    expect(invalid.invalid).toEqual([{ kind: 'group', groupId: 'gone' }]);

    gateway.sendErrcode = 45009;
    const error = await robot.adapter.deliver({ recipients: [{ kind: 'user', userId: 'liu' }], content: { kind: 'text', text: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformApiError);
    expect((error as PlatformApiError).details).toMatchObject({ errcode: 45009, retryable: true });
  });

  it('hands a delivery back for later (no attempt counted) while the connection is down, and a card update fails retryably', async () => {
    gateway.refusing = true;
    gateway.dropAll();
    await gateway.waitFor('the socket to close', () => gateway.openSockets === 0);
    const recipients = [{ kind: 'user' as const, userId: 'liu' }, { kind: 'group' as const, groupId: 'g' }];
    // Handed back at once: no dispatcher claims it while the connection is down (canDeliver is false).
    expect(await robot.adapter.deliver({ recipients, content: { kind: 'text', text: 'x' } })).toMatchObject({ retryLater: recipients, retryAfterMs: 0 });
    expect(robot.adapter.canDeliver()).toBe(false);
    const error = await robot.adapter.updateCard({ kind: 'user', userId: 'liu' }, 'card-1@abc', sampleCard({ state: '已阅' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformApiError);
    expect((error as PlatformApiError).details.retryable).toBe(true);
    expect(gateway.framesOf('aibot_send_msg')).toHaveLength(0);
    expect(robot.adapter.connectionStatus()).toMatchObject({ state: 'reconnecting', lastError: expect.any(String) });
  });
});

describe('WeCom robot adapter: refused credentials', () => {
  it('lists the refusal in configurationProblems and keeps trying', async () => {
    const gateway = await new FakeRobotGateway().start();
    gateway.secret = 'another-secret';
    const robot = robotAdapter(gateway);
    await robot.adapter.start(new FakeSink());
    await gateway.waitFor('two auth attempts', () => gateway.authFrames.length >= 2);
    expect(robot.adapter.configurationProblems()).toEqual([expect.stringMatching(/^WECOM_BOT_ID \/ WECOM_BOT_SECRET：.*errcode 40001/)]);

    gateway.secret = 'aibot-test-secret';
    await robot.connected();
    expect(robot.adapter.configurationProblems()).toEqual([]);
    await robot.adapter.stop();
    await gateway.stop();
  });
});

import { testDatabases, type TestApp } from '../helpers/test-app';
import { waitFor } from '../escalation/support';
import type { FakeRobotGateway, SentFrame } from './fake-robot-gateway';
import { markdownOf, sendsTo as sendsToChat, startRobotApp } from './helpers';

/** The whole app in WECOM_MODE=robot (SQLite), connected to the fake robot gateway through WECOM_BOT_WS_URL. */
describe.each(testDatabases())('WeCom robot mode end to end (%s)', (database) => {
  let gateway: FakeRobotGateway;
  let t: TestApp;

  beforeEach(async () => {
    ({ gateway, t } = await startRobotApp(database));
  });

  afterEach(async () => {
    await t.stop();
    await gateway.stop();
  });

  const sendsTo = (chatId: string): SentFrame[] => sendsToChat(gateway, chatId);

  it('builds the robot adapter from the environment and shows the connection in /readyz', async () => {
    expect(t.app.adapters.map((a) => a.name)).toEqual(['wecom']);
    const response = await t.request.get('/readyz');
    expect(response.status).toBe(200);
    expect(response.body.checks.wecom).toEqual({ connection: { state: 'connected', lease: 'holder' } });
  });

  it('answers a message: the frame is stored, processed, and the reply goes out over the connection', async () => {
    gateway.pushText({ msgid: 'e2e-1', userid: 'zhangsan', content: '帮助' });
    await gateway.waitFor('the reply', () => sendsTo('zhangsan').length > 0);
    expect(sendsTo('zhangsan')).toHaveLength(1);
    expect(markdownOf(sendsTo('zhangsan')[0])).toContain('上报');
    const rows: { id: string; status: string }[] = await t.app.dataSource.query('SELECT id, status FROM inbound_events');
    expect(rows).toEqual([{ id: 'wecom:robot:msg:e2e-1', status: 'processed' }]);
  });

  it('processes a frame pushed twice once: one reply', async () => {
    gateway.pushText({ msgid: 'dup-1', userid: 'lisi', content: '帮助' }, 'req-1');
    gateway.pushText({ msgid: 'dup-1', userid: 'lisi', content: '帮助' }, 'req-2');
    gateway.pushText({ msgid: 'dup-2', userid: 'qianwu', content: '帮助' });
    await gateway.waitFor('the marker reply', () => sendsTo('qianwu').length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sendsTo('lisi')).toHaveLength(1);
  });

  it('即时: alert cards go out, the secretary clicks 已阅知悉, his copy is replaced and the office is told the state', async () => {
    gateway.pushText({ msgid: 'urgent-1', userid: 'zhangsan', content: '即时 有同志扬言要到上级机关集体上访' });
    await gateway.waitFor('the alert cards', () => sendsTo('wang').length > 0 && sendsTo('liu').length > 0);
    const [card] = sendsTo('wang');
    expect(card.body.msgtype).toBe('template_card');
    const template = card.body.template_card as { task_id: string; main_title: { title: string }; button_list: { key: string }[] };
    expect(template.main_title.title).toMatch(/^【即时报告】S-/);
    expect(template.button_list.map((b) => b.key)).toEqual(['ack', 'instruct', 'forward']);

    const officeBefore = sendsTo('liu').length;
    const reqId = gateway.pushEvent({
      msgid: 'click-1',
      userid: 'wang',
      event: { eventtype: 'template_card_event', template_card_event: { card_type: 'button_interaction', event_key: 'ack', task_id: template.task_id } },
    });
    await gateway.waitFor('the card update', () => gateway.framesOf('aibot_respond_update_msg').length > 0);
    const [update] = gateway.framesOf('aibot_respond_update_msg');
    expect(update.reqId).toBe(reqId);
    expect(update.body).toMatchObject({ userids: ['wang'], template_card: { task_id: template.task_id } });
    expect(JSON.stringify(update.body)).toContain('已阅');

    // The office's copy cannot be replaced by the secretary's click: its new state follows as a message.
    await waitFor('the office to be told the state', () => sendsTo('liu').slice(officeBefore).some((f) => markdownOf(f).includes('状态：')));
  });
});

import nock from 'nock';
import { importSampleOrg } from '../helpers/org-fixture';
import { startTestApp, type TestApp } from '../helpers/test-app';
import type { PlatformAdapter } from '../../src/core/platform-adapter';
import { cardCallbackPayload, FakeGateway, robotMessagePayload } from './fake-gateway';
import { silenceSdkConsole } from './helpers';

silenceSdkConsole();

/**
 * The real app (SQLite in a temp folder) with DingTalk in Stream mode: DINGTALK_API_BASE points at
 * the fake gateway, so the real SDK connects to it; the OpenAPI calls the bot makes are faked by
 * nock on the same base (anything else — the gateway itself — passes through).
 */
function dingtalkEnv(gateway: FakeGateway, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DINGTALK_CLIENT_ID: 'dingclient',
    DINGTALK_CLIENT_SECRET: 'dingsecret',
    DINGTALK_ROBOT_CODE: 'dingrobot',
    DINGTALK_API_BASE: gateway.baseUrl,
    DINGTALK_OAPI_BASE: 'https://oapi.dingtalk.test',
    CONSOLE: 'off',
    ...extra,
  };
}

function dingtalkAdapter(t: TestApp): PlatformAdapter {
  const adapter = t.app.adapters.find((a) => a.name === 'dingtalk');
  if (!adapter) throw new Error('DingTalk adapter not built from the DINGTALK_* environment');
  return adapter;
}

async function inboundRows(t: TestApp): Promise<{ id: string; status: string }[]> {
  return t.app.dataSource.query('SELECT id, status FROM inbound_events ORDER BY received_at');
}

/** Waits (bounded) until every stored event is processed, then runs one outbox round. */
async function settle(t: TestApp): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const rows = await inboundRows(t);
    if (rows.every((r) => r.status !== 'received')) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await t.app.outbox.runOnce();
}

type BatchSendBody = { robotCode: string; userIds: string[]; msgKey: string; msgParam: string };

function fakeOpenApi(gateway: FakeGateway) {
  const sends: (BatchSendBody & { param: Record<string, string> })[] = [];
  const scope = nock(gateway.baseUrl, { allowUnmocked: true })
    .post('/v1.0/oauth2/accessToken', { appKey: 'dingclient', appSecret: 'dingsecret' })
    .reply(200, { accessToken: 'TOKEN', expireIn: 7200 });
  const batchSend = (times: number) =>
    nock(gateway.baseUrl, { allowUnmocked: true })
      .post('/v1.0/robot/oToMessages/batchSend', (body: BatchSendBody) => {
        sends.push({ ...body, param: JSON.parse(body.msgParam) });
        return true;
      })
      .matchHeader('x-acs-dingtalk-access-token', 'TOKEN')
      .times(times)
      .reply(200, { processQueryKey: 'pqk' });
  return { sends, scope, batchSend };
}

describe('DingTalk Stream mode through the real app', () => {
  let gateway: FakeGateway;
  let t: TestApp | undefined;

  beforeEach(async () => {
    gateway = await new FakeGateway().start();
  });

  afterEach(async () => {
    await t?.stop();
    t = undefined;
    await gateway.stop();
  });

  async function startApp(extra: Record<string, string> = {}): Promise<TestApp> {
    t = await startTestApp({ env: dingtalkEnv(gateway, extra) });
    await dingtalkAdapter(t).start(t.app.inbound);
    await gateway.waitForConnections(1);
    return t;
  }

  it('"帮助" is acknowledged, stored once however often it is redelivered, and answered by one batchSend', async () => {
    const app = await startApp();
    const api = fakeOpenApi(gateway);
    const batch = api.batchSend(1);
    const payload = robotMessagePayload({ msgId: 'msgHelp1', text: ' 帮助', senderStaffId: 'zhangsan' });

    const acks = [];
    for (const frameId of ['f1', 'f2', 'f3']) acks.push(await gateway.pushRobotMessage(payload, frameId));
    await settle(app);

    expect(acks.map((a) => [a.code, a.headers.messageId])).toEqual([
      [200, 'f1'],
      [200, 'f2'],
      [200, 'f3'],
    ]);
    expect(await inboundRows(app)).toEqual([{ id: 'dingtalk:msg:msgHelp1', status: 'processed' }]);
    expect(api.sends).toHaveLength(1);
    expect(api.sends[0]).toMatchObject({ robotCode: 'dingrobot', userIds: ['zhangsan'] });
    expect(JSON.stringify(api.sends[0]!.param)).toContain('帮助（/help）');
    expect(api.scope.pendingMocks()).toEqual([]);
    expect(batch.pendingMocks()).toEqual([]);
  });

  it('on a bare robot, a report\'s confirmation card is an action card whose option link corrects the report', async () => {
    const app = await startApp();
    await importSampleOrg(app);
    const api = fakeOpenApi(gateway);
    api.batchSend(3);

    await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'r1', text: '上报 #谈心 财务科反映近期加班较多', senderStaffId: 'zhangsan' }));
    await settle(app);
    const cardMessage = api.sends.find((s) => /\/card/.test(decodeURIComponent(s.param.text ?? '')))!;
    expect(cardMessage).toBeDefined();
    expect(cardMessage.userIds).toEqual(['zhangsan']);

    // The user clicks "座谈交流": DingTalk makes them send the link's text to the bot.
    const links = [...cardMessage.param.text!.matchAll(/\[([^\]]+)\]\((dtmd:[^)]+)\)/g)];
    const forum = links.find((m) => m[1]!.includes('座谈交流'))!;
    const clickText = new URL(forum[2]!).searchParams.get('content')!;
    await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'r2', text: clickText, senderStaffId: 'zhangsan' }));
    await settle(app);
    await app.app.outbox.runOnce();

    expect((await inboundRows(app)).map((r) => r.status)).toEqual(['processed', 'processed']);
    const after = api.sends.slice(api.sends.indexOf(cardMessage) + 1).map((s) => JSON.stringify(s.param));
    expect(after.some((text) => text.includes('已更正'))).toBe(true);
    expect(after.some((text) => text.includes('座谈交流'))).toBe(true);
  });

  it('with a card template, the confirmation is an interactive card; its callback is answered and the card updated', async () => {
    const app = await startApp({ DINGTALK_CARD_TEMPLATE_ID: 'tpl.schema' });
    await importSampleOrg(app);
    const api = fakeOpenApi(gateway);
    api.batchSend(2);
    const created: { outTrackId: string; cardData: { cardParamMap: Record<string, string> } }[] = [];
    const updated: { outTrackId: string; cardData: { cardParamMap: Record<string, string> } }[] = [];
    nock(gateway.baseUrl, { allowUnmocked: true })
      .post('/v1.0/card/instances/createAndDeliver', (body) => {
        created.push(body);
        return true;
      })
      .reply(200, { success: true, result: { deliverResults: [{ success: true }] } })
      .put('/v1.0/card/instances', (body) => {
        updated.push(body);
        return true;
      })
      .reply(200, { success: true });

    await gateway.pushRobotMessage(robotMessagePayload({ msgId: 'r10', text: '上报 #谈心 财务科反映近期加班较多', senderStaffId: 'zhangsan' }));
    await settle(app);
    expect(created).toHaveLength(1);
    const { outTrackId, cardData } = created[0]!;

    const ack = await gateway.pushCardCallback(
      cardCallbackPayload({ outTrackId, userId: 'zhangsan', params: { cardId: cardData.cardParamMap.cardId, action: 'correct', method: 'forum', category: 'work' } }),
      'card-cb-1',
    );
    expect(JSON.parse(ack.data)).toEqual({ response: {} });
    await settle(app);
    await app.app.outbox.runOnce();

    expect(updated).toEqual([expect.objectContaining({ outTrackId })]);
    expect(updated[0]!.cardData.cardParamMap.input_method).toBe('forum');
    expect((await inboundRows(app)).map((r) => r.id)).toEqual(['dingtalk:msg:r10', 'dingtalk:card:card-cb-1']);
  });
});

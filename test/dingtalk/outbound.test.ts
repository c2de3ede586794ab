import nock from 'nock';
import { PlatformApiError } from '../../src/core/errors';
import type { Card, Recipient } from '../../src/core/messages';
import { createLogger } from '../../src/lib/logger';
import { createDingtalkAdapter } from '../../src/platforms/dingtalk/dingtalk-adapter';
import { parseCardActionText } from '../../src/platforms/dingtalk/dingtalk-cards';
import type { DingtalkConfig } from '../../src/config/load-config';
import { CLIENT_ID, CLIENT_SECRET, dingtalkConfig, ROBOT_CODE } from './helpers';

const API = 'https://api.dingtalk.test';
const OAPI = 'https://oapi.dingtalk.test';

/** A clock that only moves when the code under test sleeps: pacing and backoff are observable. */
class FakeClock {
  time = 0;
  readonly sleeps: number[] = [];
  readonly now = (): number => this.time;
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.time += ms;
  };
}

function build(overrides: Partial<DingtalkConfig> = {}) {
  const clock = new FakeClock();
  const adapter = createDingtalkAdapter({
    config: dingtalkConfig({ mode: 'http', ...overrides }),
    log: createLogger('silent'),
    client: { now: clock.now, sleep: clock.sleep },
  });
  return { adapter, clock };
}

const users = (n: number, prefix = 'u'): Recipient[] => Array.from({ length: n }, (_, i) => ({ kind: 'user', userId: `${prefix}${i + 1}` }));

function tokenScope(times = 1, token = 'tok-1') {
  return nock(API)
    .post('/v1.0/oauth2/accessToken', { appKey: CLIENT_ID, appSecret: CLIENT_SECRET })
    .times(times)
    .reply(200, { accessToken: token, expireIn: 7200 });
}

const alertCard: Card = {
  cardId: 'alert-42',
  template: 'alert',
  title: '即时报告 S-2026-0042',
  body: '综合处 反映情况',
  fields: [{ label: '部门', value: '综合处' }],
  inputs: [],
  actions: [
    { action: 'ack', label: '已阅知悉' },
    { action: 'forward', label: '转分管领导' },
  ],
  state: null,
};

const confirmCard: Card = {
  cardId: 'c-7',
  template: 'insight-confirm',
  title: '已记录思想动态信息 S-2026-0007',
  body: '……',
  fields: [],
  inputs: [
    { key: 'method', label: '收集方式', multi: false, options: [{ id: 'talk', label: '谈心谈话' }, { id: 'forum', label: '座谈交流' }], selected: 'talk' },
    { key: 'category', label: '信息类别', multi: false, options: [{ id: 'work', label: '工作状态' }, { id: 'other', label: '其他' }], selected: 'other' },
  ],
  actions: [{ action: 'correct', label: '更正方式和类别' }],
  state: null,
};

describe('DingTalk outbound', () => {
  afterEach(() => {
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('sends a text to many users in batches of at most 20, paced under 20 calls per second, with one cached token', async () => {
    const { adapter, clock } = build();
    tokenScope(1);
    const batches: string[][] = [];
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .matchHeader('x-acs-dingtalk-access-token', 'tok-1')
      .times(3)
      .reply(200, (_uri, body) => {
        const b = body as { robotCode: string; userIds: string[]; msgKey: string; msgParam: string };
        expect(b.robotCode).toBe(ROBOT_CODE);
        expect(b.msgKey).toBe('sampleText');
        expect(JSON.parse(b.msgParam)).toEqual({ content: '你好' });
        batches.push(b.userIds);
        return { processQueryKey: 'k' };
      });

    const outcome = await adapter.deliver({ recipients: users(45), content: { kind: 'text', text: '你好' } });

    expect(batches.map((b) => b.length)).toEqual([20, 20, 5]);
    expect(batches.flat()).toEqual(users(45).map((u) => (u as { userId: string }).userId));
    expect(outcome.invalid ?? []).toEqual([]);
    expect(outcome.retryLater ?? []).toEqual([]);
    // Three calls to the same API: the 2nd and 3rd each waited at least 1/20 s.
    expect(clock.sleeps).toHaveLength(2);
    for (const ms of clock.sleeps) expect(ms).toBeGreaterThanOrEqual(50);
  });

  it('fetches the token once for concurrent deliveries (single flight) and reuses it', async () => {
    const { adapter } = build();
    tokenScope(1);
    nock(API).post('/v1.0/robot/oToMessages/batchSend').times(3).reply(200, {});

    await Promise.all([
      adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'a' } }),
      adapter.deliver({ recipients: users(1, 'v'), content: { kind: 'text', text: 'b' } }),
    ]);
    await adapter.deliver({ recipients: users(1, 'w'), content: { kind: 'text', text: 'c' } });
  });

  it('fetches a new token once the cached one is about to expire', async () => {
    const { adapter, clock } = build();
    tokenScope(1, 'first');
    tokenScope(1, 'second');
    nock(API).post('/v1.0/robot/oToMessages/batchSend').matchHeader('x-acs-dingtalk-access-token', 'first').reply(200, {});
    nock(API).post('/v1.0/robot/oToMessages/batchSend').matchHeader('x-acs-dingtalk-access-token', 'second').reply(200, {});

    await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'a' } });
    clock.time += 7200_000 - 299_000; // within the five-minute safety margin
    await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'b' } });
  });

  it('reports invalidStaffIdList as invalid and flowControlledStaffIdList as retry-later', async () => {
    const { adapter } = build();
    tokenScope();
    nock(API).post('/v1.0/robot/oToMessages/batchSend').reply(200, { processQueryKey: 'k', invalidStaffIdList: ['u2'], flowControlledStaffIdList: ['u3'] });

    const outcome = await adapter.deliver({ recipients: users(3), content: { kind: 'markdown', title: '标题', markdown: '**正文**' } });

    expect(outcome.invalid).toEqual([{ kind: 'user', userId: 'u2' }]);
    expect(outcome.retryLater).toEqual([{ kind: 'user', userId: 'u3' }]);
  });

  it('retries a 403 QpsLimit after backing off at least a second', async () => {
    const { adapter, clock } = build();
    tokenScope();
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(403, { code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', message: '限流' })
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(200, { processQueryKey: 'k' });

    await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'x' } });

    expect(clock.sleeps.some((ms) => ms >= 1000)).toBe(true);
  });

  it('gives up on a persistent 5xx with a retryable error for the outbox, after backing off', async () => {
    const { adapter, clock } = build();
    tokenScope();
    nock(API).post('/v1.0/robot/oToMessages/batchSend').times(4).reply(503, { code: 'ServiceUnavailable' });

    const error = await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'x' } }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PlatformApiError);
    expect((error as PlatformApiError).details).toMatchObject({ status: 503, retryable: true });
    expect(clock.sleeps.filter((ms) => ms >= 1000)).toEqual([1000, 2000, 4000]);
  });

  it('after a partial success, a failing batch becomes retry-later instead of resending the first', async () => {
    const { adapter } = build();
    tokenScope();
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(200, {})
      .post('/v1.0/robot/oToMessages/batchSend')
      .times(4)
      .reply(502, {});

    const outcome = await adapter.deliver({ recipients: users(25), content: { kind: 'text', text: 'x' } });

    expect(outcome.retryLater).toEqual(users(25).slice(20));
  });

  it('after a partial success, a batch refused outright is reported invalid alone; the people reached are not failed with it', async () => {
    const { adapter } = build();
    tokenScope();
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(200, {})
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(400, { code: 'InvalidParameter', message: 'bad request' })
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(200, {});

    const outcome = await adapter.deliver({ recipients: users(45), content: { kind: 'text', text: 'x' } });

    expect(outcome.invalid).toEqual(users(45).slice(20, 40));
    expect(outcome.retryLater).toEqual([]);
  });

  it('refreshes the token once when DingTalk calls it invalid, and retries with the new one', async () => {
    const { adapter } = build();
    tokenScope(1, 'old');
    tokenScope(1, 'new');
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .matchHeader('x-acs-dingtalk-access-token', 'old')
      .reply(400, { code: 'InvalidAuthentication', message: '不合法的access_token' })
      .post('/v1.0/robot/oToMessages/batchSend')
      .matchHeader('x-acs-dingtalk-access-token', 'new')
      .reply(200, {});

    await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'x' } });
  });

  it('treats refused credentials as a configuration problem, not retried', async () => {
    const { adapter } = build();
    nock(API).post('/v1.0/oauth2/accessToken').reply(400, { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret' });

    const error = (await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'x' } }).catch((e: unknown) => e)) as PlatformApiError;

    expect(error.details).toMatchObject({ retryable: false, configuration: true });
    expect(adapter.configurationProblems!()).toEqual([expect.stringContaining('DINGTALK_CLIENT_SECRET')]);

    // Once the deployer fixes the secret, the problem goes away with the next successful call.
    tokenScope();
    nock(API).post('/v1.0/robot/oToMessages/batchSend').reply(200, {});
    await adapter.deliver({ recipients: users(1), content: { kind: 'text', text: 'x' } });
    expect(adapter.configurationProblems!()).toEqual([]);
  });

  it('sends to a group chat through groupMessages/send', async () => {
    const { adapter } = build();
    tokenScope();
    nock(API)
      .post('/v1.0/robot/groupMessages/send', (b: { openConversationId: string; robotCode: string; msgKey: string; msgParam: string }) =>
        b.openConversationId === 'cidGroup==' && b.robotCode === ROBOT_CODE && b.msgKey === 'sampleText' && JSON.parse(b.msgParam).content === '请私聊我',
      )
      .reply(200, { processQueryKey: 'g' });

    await adapter.deliver({ recipients: [{ kind: 'group', groupId: 'cidGroup==' }], content: { kind: 'text', text: '请私聊我' } });
  });

  it('without a card template, sends an action card whose buttons send the action back as a message', async () => {
    const { adapter } = build();
    tokenScope();
    let sent: { msgKey: string; msgParam: Record<string, string> } | undefined;
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(200, (_u, body) => {
        const b = body as { msgKey: string; msgParam: string };
        sent = { msgKey: b.msgKey, msgParam: JSON.parse(b.msgParam) };
        return {};
      });

    const outcome = await adapter.deliver({ recipients: users(1, 'leader'), content: { kind: 'card', card: alertCard } });

    expect(sent!.msgKey).toBe('sampleActionCard2');
    expect(sent!.msgParam).toMatchObject({ actionTitle1: '已阅知悉', actionTitle2: '转分管领导' });
    expect(sent!.msgParam.text).toContain('综合处');
    const link = new URL(sent!.msgParam.actionURL1!);
    expect(`${link.protocol}//${link.host}${link.pathname}`).toBe('dtmd://dingtalkclient/sendMessage');
    expect(parseCardActionText(link.searchParams.get('content')!)).toEqual({ cardId: 'alert-42', action: 'ack', values: {} });
    expect(outcome.cardRefs).toEqual({ 'user:leader1': 'msg:alert-42' });
  });

  it('without a template, each input option is a link submitting that choice with the other inputs kept', async () => {
    const { adapter } = build();
    tokenScope();
    let param: Record<string, string> = {};
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend')
      .reply(200, (_u, body) => {
        param = JSON.parse((body as { msgParam: string }).msgParam);
        return {};
      });

    await adapter.deliver({ recipients: users(1), content: { kind: 'card', card: confirmCard } });

    const links = [...param.text!.matchAll(/\]\((dtmd:[^)]+)\)/g)].map((m) => parseCardActionText(new URL(m[1]!).searchParams.get('content')!));
    expect(links).toContainEqual({ cardId: 'c-7', action: 'correct', values: { method: 'forum', category: 'other' } });
    expect(links).toContainEqual({ cardId: 'c-7', action: 'correct', values: { method: 'talk', category: 'work' } });
    expect(links).toHaveLength(4);
  });

  it('with a card template, creates and delivers an interactive card per recipient and updates it later', async () => {
    const { adapter } = build({ mode: 'stream', cardTemplateId: 'tpl-1.schema' });
    tokenScope();
    const created: Record<string, unknown>[] = [];
    nock(API)
      .post('/v1.0/card/instances/createAndDeliver')
      .times(2)
      .reply(200, (_u, body) => {
        created.push(body as Record<string, unknown>);
        return { success: true, result: { deliverResults: [{ success: true }] } };
      });

    const outcome = await adapter.deliver({
      recipients: [{ kind: 'user', userId: 'sec' }, { kind: 'group', groupId: 'cidG' }],
      content: { kind: 'card', card: alertCard },
    });

    expect(created[0]).toMatchObject({
      cardTemplateId: 'tpl-1.schema',
      callbackType: 'STREAM',
      openSpaceId: 'dtv1.card//IM_ROBOT.sec',
      imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: ROBOT_CODE },
      cardData: { cardParamMap: expect.objectContaining({ cardId: 'alert-42', title: '即时报告 S-2026-0042', action1: 'ack', action1Label: '已阅知悉' }) },
    });
    expect(created[1]).toMatchObject({ openSpaceId: 'dtv1.card//IM_GROUP.cidG', imGroupOpenDeliverModel: { robotCode: ROBOT_CODE } });
    for (const value of Object.values((created[0]!.cardData as { cardParamMap: Record<string, unknown> }).cardParamMap)) expect(typeof value).toBe('string');
    const ref = outcome.cardRefs!['user:sec']!;
    expect(ref).toBe(`card:${created[0]!.outTrackId as string}`);
    expect(outcome.cardRefs!['group:cidG']).not.toBe(ref);

    let update: Record<string, unknown> = {};
    nock(API)
      .put('/v1.0/card/instances')
      .reply(200, (_u, body) => {
        update = body as Record<string, unknown>;
        return { success: true };
      });
    await adapter.updateCard!({ kind: 'user', userId: 'sec' }, ref, { ...alertCard, state: '张三 已阅 11-25 10:02' });

    expect(update).toMatchObject({
      outTrackId: created[0]!.outTrackId,
      cardData: { cardParamMap: expect.objectContaining({ state: '张三 已阅 11-25 10:02', hasState: 'true' }) },
      cardUpdateOptions: { updateCardDataByKey: true },
    });
  });

  it('updates a fallback card by telling the recipient its new state', async () => {
    const { adapter } = build();
    tokenScope();
    let param: Record<string, string> = {};
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend', (b: { userIds: string[] }) => b.userIds.join() === 'sec')
      .reply(200, (_u, body) => {
        param = JSON.parse((body as { msgParam: string }).msgParam);
        return {};
      });

    await adapter.updateCard!({ kind: 'user', userId: 'sec' }, 'msg:alert-42', { ...alertCard, state: '张三 已阅' });

    expect(param.text).toContain('张三 已阅');
  });

  it('sends a file by uploading it as media first', async () => {
    const { adapter } = build();
    tokenScope();
    nock(OAPI).post('/media/upload').query({ access_token: 'tok-1' }).reply(200, { errcode: 0, media_id: '@media1' });
    nock(API)
      .post('/v1.0/robot/oToMessages/batchSend', (b: { msgKey: string; msgParam: string }) => b.msgKey === 'sampleFile' && JSON.parse(b.msgParam).mediaId === '@media1' && JSON.parse(b.msgParam).fileType === 'xlsx')
      .reply(200, {});

    await adapter.deliver({ recipients: users(1), content: { kind: 'file', fileName: '汇总.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', dataBase64: Buffer.from('x').toString('base64') } });
  });
});

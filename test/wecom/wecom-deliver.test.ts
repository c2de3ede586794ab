import nock from 'nock';
import { PlatformApiError } from '../../src/core/errors';
import type { Card, Recipient } from '../../src/core/messages';
import { createWecomAdapter } from '../../src/platforms/wecom/wecom-adapter';
import { createWecomClient } from '../../src/platforms/wecom/wecom-client';
import { VECTOR_B, silentLog, wecomConfig } from './wecom-fixtures';

const BASE = 'https://qyapi.test';
const users = (...ids: string[]): Recipient[] => ids.map((userId) => ({ kind: 'user', userId }));

function adapter() {
  const config = wecomConfig(VECTOR_B, BASE);
  // No waiting between in-call retries in tests.
  const client = createWecomClient({ apiBase: BASE, corpId: config.corpId, secret: config.secret, log: silentLog, sleep: async () => {} });
  return createWecomAdapter({ config, log: silentLog, client });
}

function wecomApi() {
  return nock(BASE).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 });
}

type SendBody = { touser?: string; chatid?: string; agentid: number; msgtype: string; [k: string]: unknown };

/** Records every message/send body. */
function recordSends(scope: nock.Scope, times: number, reply: (body: SendBody) => object = () => ({ errcode: 0, errmsg: 'ok' })) {
  const bodies: SendBody[] = [];
  scope
    .post('/cgi-bin/message/send', (body: SendBody) => {
      bodies.push(body);
      return true;
    })
    .query({ access_token: 'T' })
    .times(times)
    .reply(200, (_uri, body) => reply(body as SendBody));
  return bodies;
}

const alertCard: Card = {
  cardId: '0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6b',
  template: 'alert',
  title: '即时报告 S-2026-0042',
  body: '财务科反映近期加班较多，部分同志有情绪。',
  fields: [
    { label: '部门', value: '财务科' },
    { label: '类别', value: '工作状态' },
  ],
  inputs: [],
  actions: [
    { action: 'ack', label: '已阅知悉' },
    { action: 'instruct', label: '部署处置' },
    { action: 'forward', label: '转分管领导' },
  ],
  state: null,
};

describe('WeCom delivery: text, markdown, files', () => {
  it('sends text to 2,500 people in batches of 1,000, addressed with the agent id', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 3);
    const ids = Array.from({ length: 2500 }, (_, i) => `u${i}`);
    const outcome = await adapter().deliver({ recipients: users(...ids), content: { kind: 'text', text: '请于周五前提交本月思想动态信息。' } });
    expect(bodies.map((b) => b.touser!.split('|').length)).toEqual([1000, 1000, 500]);
    expect(bodies.flatMap((b) => b.touser!.split('|'))).toEqual(ids);
    expect(bodies[0]).toMatchObject({ msgtype: 'text', agentid: 1000002, text: { content: '请于周五前提交本月思想动态信息。' } });
    expect(outcome.invalid).toEqual([]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('reports people WeCom does not know (invaliduser comes back lower-cased) without failing the rest', async () => {
    const api = wecomApi();
    recordSends(api, 1, () => ({ errcode: 0, errmsg: 'ok', invaliduser: 'zhangsan', unlicenseduser: '' }));
    const outcome = await adapter().deliver({ recipients: users('ZhangSan', 'lisi'), content: { kind: 'text', text: 'x' } });
    expect(outcome.invalid).toEqual(users('ZhangSan'));
    expect(api.pendingMocks()).toEqual([]);
  });

  it('reports a whole batch invalid when WeCom refuses every recipient (81013)', async () => {
    const api = wecomApi();
    recordSends(api, 1, () => ({ errcode: 81013, errmsg: 'user & party & tag all invalid' }));
    const outcome = await adapter().deliver({ recipients: users('ghost'), content: { kind: 'text', text: 'x' } });
    expect(outcome.invalid).toEqual(users('ghost'));
  });

  it('throws a retryable error when the first call is rate limited, so the outbox tries again', async () => {
    const api = wecomApi();
    recordSends(api, 1, () => ({ errcode: 45009, errmsg: 'freq out of limit' }));
    const error = await adapter()
      .deliver({ recipients: users('a'), content: { kind: 'text', text: 'x' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformApiError);
    expect((error as PlatformApiError).details).toMatchObject({ retryable: true, errcode: 45009 });
  });

  it('after a first batch went out, a rate-limited batch is handed back to be retried later', async () => {
    const api = wecomApi();
    let call = 0;
    recordSends(api, 2, () => (call++ === 0 ? { errcode: 0 } : { errcode: 45009 }));
    const ids = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    const outcome = await adapter().deliver({ recipients: users(...ids), content: { kind: 'text', text: 'x' } });
    expect(outcome.retryLater).toEqual(users('u1000'));
  });

  it('splits a text longer than 2,048 bytes into parts sent in order, losing nothing', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 2);
    const lines = Array.from({ length: 60 }, (_, i) => `第${i + 1}条：财务科反映加班较多`);
    await adapter().deliver({ recipients: users('a'), content: { kind: 'text', text: lines.join('\n') } });
    const parts = bodies.map((b) => (b.text as { content: string }).content);
    expect(parts.every((p) => Buffer.byteLength(p) <= 2048)).toBe(true);
    expect(parts.join('\n')).toBe(lines.join('\n'));
  });

  it('sends markdown with its title, lists as • lines (WeCom shows no list syntax)', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 1);
    await adapter().deliver({ recipients: users('a'), content: { kind: 'markdown', title: '本季度汇总', markdown: '- 政治思想：3\n- 工作状态：5' } });
    expect(bodies[0]).toMatchObject({ msgtype: 'markdown', markdown: { content: '**本季度汇总**\n• 政治思想：3\n• 工作状态：5' } });
  });

  it('turns a markdown table into one quote line per row, since WeCom app messages render no tables', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 1);
    const markdown = [
      '## 思想动态汇总 · 2026年第3季度',
      '本期共 **6** 条信息',
      '### 按类别',
      '| 类别 | 本期 | 上期 | 变化 |',
      '|---|---:|---:|---:|',
      '| 利益诉求 | 2 | 1 | +1 |',
      '| 工作状态 | 4 | 0 | +4 |',
      '',
      '---',
      '_人数少于 5 人的部门合并显示为「其他部门」。_',
      '**加粗** 与 > 引用保持不变',
    ].join('\n');
    await adapter().deliver({ recipients: users('a'), content: { kind: 'markdown', title: '思想动态汇总 · 2026年第3季度', markdown } });
    expect(bodies[0].markdown).toEqual({
      content: [
        // The heading is the title: it is not repeated in bold above it.
        '## 思想动态汇总 · 2026年第3季度',
        '本期共 **6** 条信息',
        '### 按类别',
        '> **利益诉求**：本期 2，上期 1，变化 +1',
        '> **工作状态**：本期 4，上期 0，变化 +4',
        '',
        '',
        '*人数少于 5 人的部门合并显示为「其他部门」。*',
        '**加粗** 与 > 引用保持不变',
      ].join('\n'),
    });
  });

  it('uploads a file with its name, then sends it as a file message', async () => {
    const api = wecomApi();
    let uploaded = '';
    api
      .post('/cgi-bin/media/upload', (body) => {
        uploaded = String(body);
        return true;
      })
      .query({ access_token: 'T', type: 'file' })
      .reply(200, { errcode: 0, type: 'file', media_id: 'MEDIA-9', created_at: '1380000000' });
    const bodies = recordSends(api, 1);
    await adapter().deliver({
      recipients: users('a', 'b'),
      content: { kind: 'file', fileName: '思想动态台账.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', dataBase64: Buffer.from('xlsx!').toString('base64') },
    });
    expect(uploaded).toContain('filename="思想动态台账.xlsx"');
    expect(bodies).toEqual([expect.objectContaining({ touser: 'a|b', msgtype: 'file', file: { media_id: 'MEDIA-9' } })]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('sends to a group chat through appchat/send', async () => {
    const api = wecomApi();
    const chats: unknown[] = [];
    api
      .post('/cgi-bin/appchat/send', (body) => {
        chats.push(body);
        return true;
      })
      .query({ access_token: 'T' })
      .reply(200, { errcode: 0 });
    await adapter().deliver({ recipients: [{ kind: 'group', groupId: 'chat-1' }], content: { kind: 'text', text: '帮助' } });
    expect(chats).toEqual([{ chatid: 'chat-1', msgtype: 'text', text: { content: '帮助' } }]);
  });
});

describe('WeCom delivery: cards', () => {
  it('sends each person their own button card with a distinct task id, and keeps each response code', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 2, (body) => ({ errcode: 0, msgid: 'm', response_code: `RC-${body.touser}` }));
    const outcome = await adapter().deliver({ recipients: users('secretary', 'office1'), content: { kind: 'card', card: alertCard } });

    bodies.sort((a, b) => (a.touser === 'secretary' ? -1 : b.touser === 'secretary' ? 1 : 0));
    expect(bodies.map((b) => b.touser)).toEqual(['secretary', 'office1']);
    const cards = bodies.map((b) => b.template_card as Record<string, unknown>);
    expect(cards[0]).toMatchObject({
      card_type: 'button_interaction',
      main_title: { title: '即时报告 S-2026-0042' },
      sub_title_text: '财务科反映近期加班较多，部分同志有情绪。',
      horizontal_content_list: [
        { keyname: '部门', value: '财务科' },
        { keyname: '类别', value: '工作状态' },
      ],
      button_list: [
        { type: 0, text: '已阅知悉', key: 'ack', style: 1 },
        { type: 0, text: '部署处置', key: 'instruct', style: 2 },
        { type: 0, text: '转分管领导', key: 'forward', style: 2 },
      ],
    });
    const taskIds = cards.map((c) => c.task_id as string);
    expect(new Set(taskIds).size).toBe(2);
    for (const taskId of taskIds) {
      expect(taskId).toMatch(/^[0-9A-Za-z_\-@]{1,128}$/);
      expect(taskId.startsWith(`${alertCard.cardId}@`)).toBe(true);
    }
    expect(outcome.cardRefs).toEqual({ 'user:secretary': `${taskIds[0]}|RC-secretary`, 'user:office1': `${taskIds[1]}|RC-office1` });
    expect(api.pendingMocks()).toEqual([]);
  });

  it('stops sending card copies after a rate limit and hands the rest back for later', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 12, (body) => (body.touser === 'u1' ? { errcode: 0, response_code: 'RC-u1' } : { errcode: 45009 }));
    const ids = Array.from({ length: 12 }, (_, i) => `u${i + 1}`);
    const outcome = await adapter().deliver({ recipients: users(...ids), content: { kind: 'card', card: alertCard } });
    // Four go out at a time, and one more may start when u1 succeeds; after the first 45009 no new call starts.
    expect(bodies.length).toBeLessThanOrEqual(5);
    expect(outcome.cardRefs).toEqual({ 'user:u1': expect.stringMatching(/\|RC-u1$/) });
    const handedBack = (outcome.retryLater ?? []).map((r) => (r.kind === 'user' ? r.userId : r.groupId)).sort();
    expect(handedBack).toEqual(ids.filter((id) => id !== 'u1').sort());
  });

  it('updates a delivered copy with its stored response code so it shows the new state, greyed out', async () => {
    const api = wecomApi();
    const updates: Record<string, unknown>[] = [];
    api
      .post('/cgi-bin/message/update_template_card', (body) => {
        updates.push(body);
        return true;
      })
      .query({ access_token: 'T' })
      .reply(200, { errcode: 0, errmsg: 'ok', invaliduser: [] });
    const ref = `${alertCard.cardId}@abc123|RC-7`;
    await adapter().updateCard({ kind: 'user', userId: 'secretary' }, ref, { ...alertCard, state: '张三 已阅 11-25 10:02' });
    expect(updates).toEqual([
      expect.objectContaining({
        userids: ['secretary'],
        agentid: 1000002,
        response_code: 'RC-7',
        replace_text: '张三 已阅 11-…',
        template_card: expect.objectContaining({
          card_type: 'button_interaction',
          task_id: `${alertCard.cardId}@abc123`,
          horizontal_content_list: expect.arrayContaining([{ keyname: '状态', value: '张三 已阅 11-25 10:02' }]),
        }),
      }),
    ]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('sends a card with one multi-select input as a vote card', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 1, () => ({ errcode: 0, response_code: 'RC' }));
    const card: Card = {
      ...alertCard,
      inputs: [{ key: 'topics', label: '您关心的问题', multi: true, options: [{ id: 'pay', label: '薪酬待遇' }, { id: 'growth', label: '职业发展' }], selected: ['growth'] }],
      actions: [{ action: 'submit', label: '提交' }],
    };
    await adapter().deliver({ recipients: users('staff1'), content: { kind: 'card', card } });
    expect(bodies[0].template_card).toMatchObject({
      card_type: 'vote_interaction',
      checkbox: {
        question_key: 'topics',
        mode: 1,
        option_list: [
          { id: 'pay', text: '薪酬待遇', is_checked: false },
          { id: 'growth', text: '职业发展', is_checked: true },
        ],
      },
      submit_button: { text: '提交', key: 'submit' },
    });
  });

  it('sends a card with single selects as a multiple_interaction card with one submit button', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 1, () => ({ errcode: 0, response_code: 'RC' }));
    const card: Card = {
      ...alertCard,
      inputs: [
        { key: 'method', label: '方式', multi: false, options: [{ id: 'talk', label: '谈心谈话' }, { id: 'forum', label: '座谈交流' }], selected: 'talk' },
        { key: 'category', label: '类别', multi: false, options: [{ id: 'work', label: '工作状态' }] },
      ],
      actions: [{ action: 'correct', label: '更正' }],
    };
    await adapter().deliver({ recipients: users('liaison1'), content: { kind: 'card', card } });
    expect(bodies[0].template_card).toMatchObject({
      card_type: 'multiple_interaction',
      select_list: [
        { question_key: 'method', title: '方式', selected_id: 'talk', option_list: [{ id: 'talk', text: '谈心谈话' }, { id: 'forum', text: '座谈交流' }] },
        { question_key: 'category', title: '类别', option_list: [{ id: 'work', text: '工作状态' }] },
      ],
      submit_button: { text: '更正', key: 'correct' },
    });
  });

  it('shows a card with nothing to click as markdown', async () => {
    const api = wecomApi();
    const bodies = recordSends(api, 1);
    const outcome = await adapter().deliver({ recipients: users('a'), content: { kind: 'card', card: { ...alertCard, actions: [], state: '已处理' } } });
    expect(bodies[0]).toMatchObject({ msgtype: 'markdown' });
    expect((bodies[0].markdown as { content: string }).content).toContain('> 状态：已处理');
    expect(outcome.cardRefs ?? {}).toEqual({});
  });
});

describe('WeCom directory', () => {
  it('reads departments and their members, merging people who are in two departments', async () => {
    const api = wecomApi()
      .get('/cgi-bin/department/simplelist')
      .query({ access_token: 'T' })
      .reply(200, { errcode: 0, department_id: [{ id: 1, parentid: 0 }, { id: 2, parentid: 1 }, { id: 3, parentid: 1 }] });
    const names: Record<number, string> = { 1: '某单位', 2: '财务科', 3: '办公室' };
    const members: Record<number, object[]> = {
      1: [{ userid: 'boss', name: '书记', department: [1] }],
      2: [{ userid: 'zhang', name: '张三', department: [2, 3] }],
      3: [{ userid: 'zhang', name: '张三', department: [2, 3] }, { userid: 'li', name: '李四', department: [3, 99] }],
    };
    for (const id of [1, 2, 3]) {
      api.get('/cgi-bin/department/get').query({ access_token: 'T', id: String(id) }).reply(200, { errcode: 0, department: { id, name: names[id] } });
      api.get('/cgi-bin/user/simplelist').query({ access_token: 'T', department_id: String(id) }).reply(200, { errcode: 0, userlist: members[id] });
    }
    const snapshot = await adapter().fetchDirectory();
    expect(snapshot.departments).toEqual([
      { id: '1', name: '某单位', parentId: null },
      { id: '2', name: '财务科', parentId: '1' },
      { id: '3', name: '办公室', parentId: '1' },
    ]);
    expect(snapshot.people).toEqual([
      { id: 'boss', name: '书记', departmentIds: ['1'] },
      { id: 'zhang', name: '张三', departmentIds: ['2', '3'] },
      { id: 'li', name: '李四', departmentIds: ['3'] },
    ]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('fails the whole sync (and changes nothing) when the app may not read the directory', async () => {
    wecomApi().get('/cgi-bin/department/simplelist').query(true).reply(200, { errcode: 48002, errmsg: 'api forbidden' });
    const wecom = adapter();
    await expect(wecom.fetchDirectory()).rejects.toBeInstanceOf(PlatformApiError);
    expect(wecom.configurationProblems()).toEqual([expect.stringContaining('48002')]);
  });
});

import fs from 'node:fs';
import nock from 'nock';
import { importSampleOrg } from '../helpers/org-fixture';
import { startTestApp, type TestApp } from '../helpers/test-app';
import type { PlatformAdapter } from '../../src/core/platform-adapter';
import { VECTOR_A, VECTOR_B, envelope, signedCallback, textXml } from './wecom-fixtures';

/** The real app (SQLite in a temp folder) with WeCom configured; its API is faked by nock. */
const API = 'https://qyapi.test';

function wecomEnv(vector: typeof VECTOR_A | typeof VECTOR_B): Record<string, string> {
  return {
    WECOM_CORP_ID: vector.keys.corpId,
    WECOM_AGENT_ID: vector.agentId,
    WECOM_SECRET: 'app-secret',
    WECOM_TOKEN: vector.keys.token,
    WECOM_ENCODING_AES_KEY: vector.keys.encodingAesKey,
    WECOM_API_BASE: API,
    CONSOLE: 'off',
  };
}

function wecomAdapter(t: TestApp): PlatformAdapter {
  const adapter = t.app.adapters.find((a) => a.name === 'wecom');
  if (!adapter) throw new Error('WeCom adapter not built from the WECOM_* environment');
  return adapter;
}

/** Builds the app and connects the WeCom adapter to the real inbound store (no port, no timers). */
async function startWecomApp(vector: typeof VECTOR_A | typeof VECTOR_B = VECTOR_B, shareDatabaseOf?: TestApp): Promise<TestApp> {
  const t = await startTestApp({ env: wecomEnv(vector), shareDatabaseOf });
  await wecomAdapter(t).start(t.app.inbound);
  return t;
}

async function inboundRows(t: TestApp): Promise<{ id: string; status: string }[]> {
  return t.app.dataSource.query('SELECT id, status FROM inbound_events ORDER BY received_at');
}

/** Waits (bounded) until every stored event is processed, then runs one outbox round. */
async function settle(t: TestApp): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await inboundRows(t);
    if (rows.every((r) => r.status !== 'received')) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await t.app.outbox.runOnce();
}

type SendBody = { touser: string; msgtype: string; agentid: number; text?: { content: string } };

function fakeWecomApi(sends: SendBody[], times = 1) {
  return nock(API)
    .get('/cgi-bin/gettoken')
    .query({ corpid: VECTOR_B.keys.corpId, corpsecret: 'app-secret' })
    .reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 })
    .post('/cgi-bin/message/send', (body: SendBody) => {
      sends.push(body);
      return true;
    })
    .query({ access_token: 'TOKEN' })
    .times(times)
    .reply(200, { errcode: 0, errmsg: 'ok', msgid: 'm1' });
}

function postCallback(t: TestApp, call: { path: string; body: string }) {
  return t.request.post(call.path).set('content-type', 'text/xml').send(call.body);
}

describe('WeCom through the real server', () => {
  let t: TestApp;
  afterEach(async () => {
    await t?.stop();
  });

  it('A1 and A2: the official vectors verify the URL and record the message', async () => {
    t = await startWecomApp(VECTOR_A);
    const { get, post } = VECTOR_A;
    const verify = await t.request.get('/wecom/callback').query({ msg_signature: get.signature, timestamp: get.timestamp, nonce: get.nonce, echostr: get.echostr });
    expect(verify.status).toBe(200);
    expect(verify.text).toBe(get.echo);

    nock(API).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 });
    nock(API).post('/cgi-bin/message/send').query(true).reply(200, { errcode: 0 });
    const res = await postCallback(t, {
      path: `/wecom/callback?msg_signature=${post.signature}&timestamp=${post.timestamp}&nonce=${post.nonce}`,
      body: envelope(post.encrypt, VECTOR_A.keys.corpId, '218'),
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect((await inboundRows(t)).map((r) => r.id)).toEqual(['wecom:msg:4561255354251345929']);
  });

  it('B1 and B2: the official vectors verify the URL, and the message is answered through message/send', async () => {
    t = await startWecomApp(VECTOR_B);
    const { get, post } = VECTOR_B;
    const verify = await t.request.get('/wecom/callback').query({ msg_signature: get.signature, timestamp: get.timestamp, nonce: get.nonce, echostr: get.echostr });
    expect(verify.text).toBe(get.echo);

    const sends: SendBody[] = [];
    const api = fakeWecomApi(sends);
    const res = await postCallback(t, {
      path: `/wecom/callback?msg_signature=${post.signature}&timestamp=${post.timestamp}&nonce=${post.nonce}`,
      body: envelope(post.encrypt),
    });
    expect(res.status).toBe(200);
    await settle(t);
    expect((await inboundRows(t)).map((r) => r.id)).toEqual(['wecom:msg:1456453720']);
    expect(sends).toEqual([expect.objectContaining({ touser: 'ChenJiaShun', msgtype: 'text', agentid: 1000002 })]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('"帮助" leads to one message/send with the command list, even when WeCom delivers it three times', async () => {
    t = await startWecomApp();
    const sends: SendBody[] = [];
    const api = fakeWecomApi(sends);
    const xml = textXml({ from: 'zhangsan', msgId: '7345123456789012345', content: '帮助' });
    for (let delivery = 0; delivery < 3; delivery++) {
      expect((await postCallback(t, signedCallback(VECTOR_B.keys, xml))).status).toBe(200);
    }
    await settle(t);
    expect(await inboundRows(t)).toEqual([{ id: 'wecom:msg:7345123456789012345', status: 'processed' }]);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ touser: 'zhangsan', msgtype: 'text' });
    expect(sends[0].text!.content).toContain('帮助');
    expect(sends[0].text!.content).toContain('帮助（/help）');
    expect(api.pendingMocks()).toEqual([]);
  });

  it('汇总 reaches WeCom in the markdown WeCom renders: no table, rows as quotes with bold labels, • lists', async () => {
    t = await startWecomApp();
    await importSampleOrg(t);
    const sends: (SendBody & { markdown?: { content: string } })[] = [];
    const api = fakeWecomApi(sends, 1);
    await postCallback(t, signedCallback(VECTOR_B.keys, textXml({ from: 'liu', msgId: '7345123456789019999', content: '汇总' })));
    await settle(t);
    expect(sends.length).toBeGreaterThanOrEqual(1);
    expect(sends.every((s) => s.msgtype === 'markdown')).toBe(true);
    const content = sends.map((s) => s.markdown!.content).join('\n');
    expect(content).toContain('## 思想动态汇总');
    expect(content).not.toMatch(/^\s*\|/m);
    expect(content).not.toContain('|---');
    expect(content).toContain('> **利益诉求**：本期 0，上期 0，变化 持平');
    expect(content).toContain('> **谈心谈话**：本期 0，上期 0，变化 持平');
    expect(content).toMatch(/^• 未处置的即时报告：0 条$/m);
    expect(content).not.toMatch(/^- /m);
    expect(sends.every((s) => Buffer.byteLength(s.markdown!.content) <= 2048)).toBe(true);
    expect(content.match(/思想动态汇总/g)).toHaveLength(1);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('welcomes a person who opens the app once, however often they come back', async () => {
    t = await startWecomApp();
    await importSampleOrg(t);
    const sends: SendBody[] = [];
    const api = fakeWecomApi(sends);
    const enter = (createTime: string) =>
      `<xml><ToUserName>${VECTOR_B.keys.corpId}</ToUserName><FromUserName>lisi</FromUserName><CreateTime>${createTime}</CreateTime>` +
      `<MsgType>event</MsgType><Event>enter_agent</Event><EventKey></EventKey><AgentID>1000002</AgentID></xml>`;
    for (const createTime of ['1764000400', '1764000400', '1764000900']) {
      expect((await postCallback(t, signedCallback(VECTOR_B.keys, enter(createTime)))).status).toBe(200);
      await settle(t);
    }
    expect((await inboundRows(t)).map((r) => r.id)).toEqual(['wecom:evt:lisi:1764000400:enter_agent', 'wecom:evt:lisi:1764000900:enter_agent']);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ touser: 'lisi', msgtype: 'text' });
    expect(sends[0].text!.content).toContain('李四');
    expect(api.pendingMocks()).toEqual([]);
  });

  it('de-duplicates a MsgId across a restart', async () => {
    const first = await startWecomApp();
    nock(API).get('/cgi-bin/gettoken').query(true).times(2).reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 });
    nock(API).post('/cgi-bin/message/send').query(true).reply(200, { errcode: 0 });
    const xml = textXml({ from: 'zhangsan', msgId: '600', content: '帮助' });
    expect((await postCallback(first, signedCallback(VECTOR_B.keys, xml))).status).toBe(200);
    await settle(first);
    await first.app.stop();

    t = await startWecomApp(VECTOR_B, first);
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, xml))).status).toBe(200);
    expect((await inboundRows(t)).map((r) => r.id)).toEqual(['wecom:msg:600']);
    await t.app.stop();
    fs.rmSync(first.dataDir, { recursive: true, force: true });
    t = { ...t, stop: async () => {} };
  });

  it('refuses forged, foreign, hostile and oversized callbacks and stores nothing', async () => {
    t = await startWecomApp();
    const good = signedCallback(VECTOR_B.keys, textXml({ msgId: '1', content: '帮助' }));
    const forged = { ...good, path: good.path.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'a'.repeat(40)}`) };
    expect((await postCallback(t, forged)).status).toBe(401);
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, textXml({ msgId: '2', content: 'x' }), { corpId: 'wwother' }))).status).toBe(401);
    const hostile = '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">]>' + textXml({ msgId: '3', content: 'x' });
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, hostile))).status).toBe(400);
    expect((await postCallback(t, { ...good, body: good.body + ' '.repeat(2 * 1024 * 1024) })).status).toBe(413);
    expect(await inboundRows(t)).toEqual([]);
  });

  it('shows a refused secret in /readyz as a WeCom configuration problem', async () => {
    t = await startWecomApp();
    nock(API).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 40001, errmsg: 'invalid credential' });
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, textXml({ msgId: '11', content: '帮助' })))).status).toBe(200);
    await settle(t);
    const ready = await t.request.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.wecom.problems).toEqual([expect.stringContaining('40001')]);
  });
});

describe('WeCom card round trip through the real server', () => {
  let t: TestApp;
  afterEach(async () => {
    await t?.stop();
  });

  function cardEventXml(taskId: string, fields: { from: string; createTime: string; responseCode: string; method: string; category: string }): string {
    const selected = (key: string, id: string) =>
      `<SelectedItem><QuestionKey><![CDATA[${key}]]></QuestionKey><OptionIds><OptionId><![CDATA[${id}]]></OptionId></OptionIds></SelectedItem>`;
    return (
      `<xml><ToUserName><![CDATA[${VECTOR_B.keys.corpId}]]></ToUserName><FromUserName><![CDATA[${fields.from}]]></FromUserName>` +
      `<CreateTime>${fields.createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>` +
      `<EventKey><![CDATA[correct]]></EventKey><TaskId><![CDATA[${taskId}]]></TaskId><CardType><![CDATA[multiple_interaction]]></CardType>` +
      `<ResponseCode><![CDATA[${fields.responseCode}]]></ResponseCode><AgentID>1000002</AgentID>` +
      `<SelectedItems>${selected('method', fields.method)}${selected('category', fields.category)}</SelectedItems></xml>`
    );
  }

  it('a report gets a confirmation card; correcting it on the card updates that copy with the click\'s response code', async () => {
    t = await startWecomApp();
    await importSampleOrg(t);
    const sends: (SendBody & { template_card?: Record<string, unknown> })[] = [];
    const updates: Record<string, unknown>[] = [];
    const api = nock(API)
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 })
      .post('/cgi-bin/message/send', (body) => {
        sends.push(body);
        return true;
      })
      .query({ access_token: 'TOKEN' })
      .times(2)
      .reply(200, (_uri, body) => ((body as SendBody).msgtype === 'template_card' ? { errcode: 0, response_code: 'RC-SEND' } : { errcode: 0 }))
      .post('/cgi-bin/message/update_template_card', (body) => {
        updates.push(body);
        return true;
      })
      .query({ access_token: 'TOKEN' })
      .reply(200, { errcode: 0, errmsg: 'ok', invaliduser: [] });

    const report = textXml({ from: 'zhangsan', msgId: '880001', content: '上报 #谈心 财务科反映近期加班较多，部分同志有情绪' });
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, report))).status).toBe(200);
    await settle(t);
    const card = sends.find((s) => s.msgtype === 'template_card')!.template_card!;
    expect(card).toMatchObject({ card_type: 'multiple_interaction', submit_button: { key: 'correct' } });
    const taskId = card.task_id as string;

    const click = cardEventXml(taskId, { from: 'zhangsan', createTime: '1764000300', responseCode: 'RC-CLICK', method: 'forum', category: 'work' });
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, click))).status).toBe(200);
    await settle(t);

    expect(updates).toEqual([
      expect.objectContaining({
        userids: ['zhangsan'],
        response_code: 'RC-CLICK',
        replace_text: expect.stringContaining('已更正'),
        template_card: expect.objectContaining({ card_type: 'multiple_interaction', task_id: taskId }),
      }),
    ]);
    const selects = (updates[0].template_card as { select_list: { question_key: string; selected_id: string; disable: boolean }[] }).select_list;
    expect(selects.map((s) => [s.question_key, s.selected_id, s.disable])).toEqual([
      ['method', 'forum', true],
      ['category', 'work', true],
    ]);
    expect(sends.filter((s) => s.msgtype === 'text').map((s) => s.text!.content)).toEqual([expect.stringContaining('已更正')]);
    expect(api.pendingMocks()).toEqual([]);
  });
});

describe('WeCom directory sync through the real server', () => {
  let t: TestApp;
  afterEach(async () => {
    await t?.stop();
  });

  /** The directory as WeCom shows it: the unit (1) and 办公室 (2). */
  function fakeDirectory(people: { userid: string; name: string; department: number[] }[]) {
    const scope = nock(API)
      .get('/cgi-bin/department/simplelist')
      .query({ access_token: 'TOKEN' })
      .reply(200, { errcode: 0, department_id: [{ id: 1, parentid: 0, order: 1 }, { id: 2, parentid: 1, order: 1 }] });
    for (const [id, name] of [[1, '本单位'], [2, '办公室']] as const) {
      scope.get('/cgi-bin/department/get').query({ access_token: 'TOKEN', id: String(id) }).reply(200, { errcode: 0, department: { id, name, parentid: id - 1 } });
      scope
        .get('/cgi-bin/user/simplelist')
        .query({ access_token: 'TOKEN', department_id: String(id) })
        .reply(200, { errcode: 0, userlist: people.filter((p) => p.department.includes(id)) });
    }
    return scope;
  }

  it('同步通讯录 reads the WeCom directory, adds new people, and a later sync marks those who left inactive', async () => {
    t = await startWecomApp();
    await importSampleOrg(t);
    const sends: SendBody[] = [];
    const api = fakeWecomApi(sends, 2);
    const directory = fakeDirectory([
      { userid: 'liu', name: '刘主任', department: [1] },
      { userid: 'xiaowang', name: '小王', department: [2] },
    ]);

    const command = textXml({ from: 'liu', msgId: '990001', content: '同步通讯录' });
    expect((await postCallback(t, signedCallback(VECTOR_B.keys, command))).status).toBe(200);
    for (let i = 0; i < 200 && sends.length < 2; i++) {
      await settle(t);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(sends.map((s) => s.text!.content)).toEqual([expect.stringContaining('正在同步'), expect.stringContaining('通讯录已同步')]);
    expect(directory.pendingMocks()).toEqual([]);
    expect(api.pendingMocks()).toEqual([]);
    const person = async (id: string) => (await t.app.dataSource.query('SELECT id, name, active FROM people WHERE id = ?', [id]))[0];
    expect(await person('xiaowang')).toMatchObject({ name: '小王', active: 1 });

    // 小王 has left: the nightly job / `xinsheng org sync` runs the same sync.
    fakeDirectory([{ userid: 'liu', name: '刘主任', department: [1] }]);
    await t.app.syncDirectories();
    expect(await person('xiaowang')).toMatchObject({ name: '小王', active: 0 });
  });
});


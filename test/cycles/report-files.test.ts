import nock from 'nock';
import { Document, Packer, Paragraph } from 'docx';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { CycleReportVersionEntity, CycleTaskEntity } from '../../src/db/entities/cycle.entity';
import { StoredFileEntity } from '../../src/db/entities/kernel.entity';
import { createJobContext } from '../../src/bot/job-context';
import { openQuarterByHand } from '../../src/modules/cycles/cycle-commands';
import { docxText } from '../../src/modules/cycles/attachment-text';
import { signCallback } from '../../src/platforms/dingtalk/dingtalk-signature';
import { VECTOR_B, signedCallback } from '../wecom/wecom-fixtures';
import { robotMessagePayload } from '../dingtalk/fake-gateway';
import { flush, settableClock, shanghai } from './support';

const clock = settableClock(shanghai(2026, 12, 15, 9, 0));

async function wordFile(lines: string[]): Promise<Buffer> {
  return Packer.toBuffer(new Document({ sections: [{ children: lines.map((l) => new Paragraph(l)) }] }));
}

async function openCycle(t: TestApp): Promise<void> {
  await importSampleOrg(t);
  await t.app.transact((em) => openQuarterByHand(createJobContext(em, t.app.services, clock.now()), '2026Q4'));
}

async function task(t: TestApp) {
  return t.app.dataSource.getRepository(CycleTaskEntity).findOneByOrFail({ departmentId: 'd1' });
}

/**
 * Waits until the turn of the file message has committed: its reply is in the outbox (on SQLite a
 * read on the one connection would see the turn's uncommitted claim, so the event's status is no sign).
 */
async function settle(t: TestApp): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const [{ n }] = await t.app.dataSource.query('SELECT COUNT(*) AS n FROM outbound_messages WHERE event_id IS NOT NULL');
    if (Number(n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the file message got no reply');
}

describe('docx text', () => {
  it('reads the paragraphs of a Word file, and gives null for something else', async () => {
    expect(await docxText(await wordFile(['总体情况：稳定', '对策建议：加强 & 改进']))).toBe('总体情况：稳定\n对策建议：加强 & 改进');
    expect(await docxText(Buffer.from('not a zip'))).toBeNull();
  });
});

describe.each(testDatabases())('department report files through the console (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    clock.set(shanghai(2026, 12, 15, 9, 0));
    t = await startTestApp({ database, appOptions: { now: clock.now } });
  });
  afterEach(() => t.stop());

  async function send(from: string, name: string, data: Buffer, caption?: string): Promise<string> {
    const response = await t.request.post('/console/files').send({ from, name, dataBase64: data.toString('base64'), caption }).expect(200);
    return (response.body.replies as { text?: string }[]).map((r) => r.text ?? '').join('\n');
  }

  it('a .docx is attached with its text kept; a submission with only the file is accepted; wrong types are refused', async () => {
    const chat = consoleClient(t);
    await openCycle(t);
    expect(await send('zhangsan', '报表.xlsx', Buffer.from('xlsx bytes'))).toContain('只接受 .docx 或 .pdf');
    expect(await send('zhangsan', 'notes.txt', Buffer.from('text'))).toContain('只接受 .docx 或 .pdf');
    expect((await task(t)).fileId).toBeNull();
    const reply = await send('zhangsan', '办公室报告.docx', await wordFile(['本季度干部职工思想总体稳定', '关注职称评定']));
    expect(reply).toContain('已将文件附到 R-2026Q4 部门报告');
    expect(reply).toContain('已提取文字');
    const attached = await task(t);
    expect(attached.fileId).not.toBeNull();
    expect(t.app.cipher.decrypt(attached.attachmentTextEnc!)).toBe('本季度干部职工思想总体稳定\n关注职称评定');
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('第 1 版');
    const [version] = await t.app.dataSource.getRepository(CycleReportVersionEntity).find();
    expect(version.fileId).toBe(attached.fileId);
    // The unit report reads the text through the facts provider.
    const [fact] = await t.app.services.facts.departmentReports!(t.app.dataSource.manager, t.app.services, { cycleNumber: 'R-2026Q4' });
    expect(fact).toMatchObject({ departmentName: '办公室', status: 'on_time', attachmentText: '本季度干部职工思想总体稳定\n关注职称评定' });
    // A .pdf replaces it (kept as a file, no text).
    expect(await send('zhangsan', '报告.pdf', Buffer.from('%PDF-1.4 minimal'))).toContain('.pdf 只保存文件');
    expect((await task(t)).attachmentTextEnc).toBeNull();
    // Someone without a task: nobody wants the file, the kernel deletes it.
    const before = await t.app.dataSource.getRepository(StoredFileEntity).count();
    expect(await send('qianwu', '报告.docx', await wordFile(['x']))).toContain('文件未保存');
    expect(await t.app.dataSource.getRepository(StoredFileEntity).count()).toBe(before);
  });
});

describe('a department report file on WeCom (media/get faked with nock)', () => {
  const API = 'https://qyapi.test';
  let t: TestApp;
  beforeEach(async () => {
    clock.set(shanghai(2026, 12, 15, 9, 0));
    t = await startTestApp({
      env: {
        WECOM_CORP_ID: VECTOR_B.keys.corpId,
        WECOM_AGENT_ID: VECTOR_B.agentId,
        WECOM_SECRET: 'app-secret',
        WECOM_TOKEN: VECTOR_B.keys.token,
        WECOM_ENCODING_AES_KEY: VECTOR_B.keys.encodingAesKey,
        WECOM_API_BASE: API,
        CONSOLE: 'off',
      },
      appOptions: { now: clock.now },
    });
    await t.app.adapters.find((a) => a.name === 'wecom')!.start(t.app.inbound);
  });
  afterEach(async () => {
    nock.cleanAll();
    await t.stop();
  });

  function fileXml(fields: { mediaId: string; name: string; size: number; msgId: string }): string {
    return (
      `<xml><ToUserName><![CDATA[${VECTOR_B.keys.corpId}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>` +
      `<CreateTime>1764000000</CreateTime><MsgType><![CDATA[file]]></MsgType><MediaId><![CDATA[${fields.mediaId}]]></MediaId>` +
      `<FileName><![CDATA[${fields.name}]]></FileName><FileSize>${fields.size}</FileSize><MsgId>${fields.msgId}</MsgId><AgentID>${VECTOR_B.agentId}</AgentID></xml>`
    );
  }

  it('downloads the file with media/get, stores it and attaches it to the open task', async () => {
    await openCycle(t);
    const docx = await wordFile(['企业微信上报的部门报告']);
    const api = nock(API)
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 })
      .get('/cgi-bin/media/get')
      .query({ access_token: 'TOKEN', media_id: 'MEDIA-1' })
      .reply(200, docx, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent('部门报告.docx')}` });
    const call = signedCallback(VECTOR_B.keys, fileXml({ mediaId: 'MEDIA-1', name: '部门报告.docx', size: docx.length, msgId: '7001' }));
    await t.request.post(call.path).set('content-type', 'text/xml').send(call.body).expect(200);
    await settle(t);
    expect(api.isDone()).toBe(true);
    const attached = await task(t);
    expect(attached.fileId).not.toBeNull();
    expect(t.app.cipher.decrypt(attached.attachmentTextEnc!)).toBe('企业微信上报的部门报告');
  });

  it('a file over 20 MB is refused with a reason, without downloading it', async () => {
    await openCycle(t);
    const api = nock(API).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 });
    const sends: { text?: { content: string } }[] = [];
    api.post('/cgi-bin/message/send', (body) => (sends.push(body), true)).query(true).times(5).reply(200, { errcode: 0, errmsg: 'ok' });
    const call = signedCallback(VECTOR_B.keys, fileXml({ mediaId: 'MEDIA-2', name: '大文件.docx', size: 21 * 1024 * 1024, msgId: '7002' }));
    await t.request.post(call.path).set('content-type', 'text/xml').send(call.body).expect(200);
    await settle(t);
    await flush(t);
    expect(sends.map((s) => s.text?.content).join('\n')).toContain('超过 20 MB');
    expect((await task(t)).fileId).toBeNull();
  });
});

describe('a department report file on DingTalk (download code faked with nock)', () => {
  const API = 'https://api.dingtalk.test';
  let t: TestApp;
  beforeEach(async () => {
    clock.set(shanghai(2026, 12, 15, 9, 0));
    t = await startTestApp({
      env: { DINGTALK_CLIENT_ID: 'dingclientid', DINGTALK_CLIENT_SECRET: 'ding-secret', DINGTALK_MODE: 'http', DINGTALK_API_BASE: API, CONSOLE: 'off' },
      appOptions: { now: clock.now },
    });
    await t.app.adapters.find((a) => a.name === 'dingtalk')!.start(t.app.inbound);
  });
  afterEach(async () => {
    nock.cleanAll();
    await t.stop();
  });

  it('turns the download code into a download URL, fetches the file and attaches it', async () => {
    await openCycle(t);
    const docx = await wordFile(['钉钉上报的部门报告']);
    const api = nock(API)
      .post('/v1.0/oauth2/accessToken')
      .reply(200, { accessToken: 'DT', expireIn: 7200 })
      .post('/v1.0/robot/messageFiles/download', { robotCode: 'dingclientid', downloadCode: 'CODE-1' })
      .reply(200, { downloadUrl: 'https://files.dingtalk.test/abc?sig=1' });
    const files = nock('https://files.dingtalk.test').get('/abc').query({ sig: '1' }).reply(200, docx, { 'content-type': 'application/octet-stream' });
    const payload = { ...robotMessagePayload({ senderStaffId: 'zhangsan' }), msgtype: 'file', text: undefined, content: { downloadCode: 'CODE-1', fileName: '部门报告.docx' } };
    const timestamp = String(Date.now());
    await t.request
      .post('/dingtalk/callback')
      .set('content-type', 'application/json; charset=utf-8')
      .set('timestamp', timestamp)
      .set('sign', signCallback(timestamp, 'ding-secret'))
      .send(JSON.stringify(payload))
      .expect(200);
    await settle(t);
    expect(api.isDone()).toBe(true);
    expect(files.isDone()).toBe(true);
    const attached = await task(t);
    expect(t.app.cipher.decrypt(attached.attachmentTextEnc!)).toBe('钉钉上报的部门报告');
  });
});

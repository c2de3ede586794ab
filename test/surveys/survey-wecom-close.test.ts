import nock from 'nock';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { createWecomAdapter } from '../../src/platforms/wecom/wecom-adapter';
import { CardBatchEntity, OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { SurveyAnswerEntity } from '../../src/db/entities/survey.entity';
import { VECTOR_B, silentLog, wecomConfig } from '../wecom/wecom-fixtures';
import { pageCards } from './survey-support';

/*
 * Issue 11 §7 on WeCom: at the deadline every copy nobody clicked shows 已截止 too. A shared page goes
 * to up to 1,000 people per message/send, whose response_code updates that call's copies in one
 * update_template_card; a clicked copy is updated with its own click's code instead.
 */
const API = 'https://qyapi.test';
const HOUR = 3600_000;
const STAFF = 1050;

type SendBody = { touser: string; msgtype: string; template_card: { task_id: string; card_type: string } };
type UpdateBody = { userids: string[]; response_code: string; replace_text?: string; atall?: number; template_card: Record<string, any> };

interface FakeWecom {
  sends: { body: SendBody; code: string }[];
  updates: UpdateBody[];
  /** Answers an update_template_card with this errcode when its response_code matches. */
  refuse: Map<string, number>;
}

function fakeWecom(): FakeWecom {
  const fake: FakeWecom = { sends: [], updates: [], refuse: new Map() };
  nock(API).persist().get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'TOKEN', expires_in: 7200 });
  nock(API)
    .persist()
    .post('/cgi-bin/message/send')
    .query(true)
    .reply(200, (_uri, body) => {
      const code = `SEND-RC-${fake.sends.length + 1}`;
      fake.sends.push({ body: body as SendBody, code });
      return { errcode: 0, errmsg: 'ok', msgid: `m${fake.sends.length}`, response_code: code };
    });
  nock(API)
    .persist()
    .post('/cgi-bin/message/update_template_card')
    .query(true)
    .reply(200, (_uri, body) => {
      const update = body as UpdateBody;
      fake.updates.push(update);
      const errcode = fake.refuse.get(update.response_code);
      return errcode ? { errcode, errmsg: 'invalid response_code' } : { errcode: 0, errmsg: 'ok', invaliduser: [] };
    });
  return fake;
}

describe.each(testDatabases())('closing a questionnaire on WeCom (%s)', (database) => {
  let t: TestApp;
  let clock: number;
  let eventNo = 0;

  beforeEach(async () => {
    clock = Date.UTC(2026, 11, 1, 2, 0);
    const wecom = createWecomAdapter({ config: wecomConfig(VECTOR_B, API), log: silentLog, now: () => clock });
    t = await startTestApp({ database, appOptions: { now: () => clock, adapters: [wecom] }, env: { CONSOLE: 'on' } });
    await importSampleOrg(t, {
      departments: [...SAMPLE_ORG.departments, { id: 'd9', name: '业务处', parentId: 'root' }],
      people: [...SAMPLE_ORG.people, ...Array.from({ length: STAFF }, (_, i) => ({ id: `s${String(i).padStart(4, '0')}`, name: `职工${i}`, departmentIds: ['d9'] }))],
    });
  });
  afterEach(async () => {
    nock.cleanAll();
    await t.stop();
  });

  async function drain(): Promise<void> {
    while ((await t.app.outbox.runOnce()) > 0);
  }

  /** A WeCom card click as the callback hands it over: with that click's own response_code. */
  async function click(person: string, cardId: string, values: Record<string, string | string[]>, code: string): Promise<void> {
    await t.app.inbound.acceptAndProcess({
      id: `wecom:evt:${person}:${++eventNo}`, type: 'card_action', platform: 'wecom', senderId: person, conversation: { kind: 'direct', id: person },
      receivedAt: clock, cardId, action: 'submit', values, cardRef: `${cardId}@click${eventNo}|${code}`,
    });
  }

  async function say(person: string, text: string): Promise<void> {
    await t.app.inbound.acceptAndProcess({ id: `wecom:msg:${person}:${++eventNo}`, type: 'message', platform: 'wecom', senderId: person, conversation: { kind: 'direct', id: person }, receivedAt: clock, text });
  }

  async function publish(deadline: string): Promise<{ number: string; page1: string }> {
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', `问卷 发布 special-topic 范围 业务处 截止 ${deadline}`));
    const number = /Q-\d{4}-\d{4}/.exec(texts(await chat.act('liu', preview.cardId, 'confirm')))![0];
    await drain();
    const page1 = (await t.app.dataSource.query('SELECT page_cards FROM surveys WHERE number = ?', [number]))[0].page_cards;
    return { number, page1: JSON.parse(page1)[0] };
  }

  it('turns each batch’s unclicked copies to 已截止 with one update per batch, clicked copies with their own code, and a late click too', async () => {
    const fake = fakeWecom();
    const { number, page1 } = await publish('3天');
    // Page 1 to 1,050 people: two sends (1,000 + 50, in either order), each with a code of its own.
    const bySize = [...fake.sends].sort((a, b) => b.body.touser.split('|').length - a.body.touser.split('|').length);
    expect(bySize.map((s) => s.body.touser.split('|').length)).toEqual([1000, 50]);
    const [first, second] = bySize.map((s) => ({ users: s.body.touser.split('|'), code: s.code, taskId: s.body.template_card.task_id }));
    const [done, partial, finished, late] = first.users;

    // done: page 1 submitted (its copy → 已提交 with its click's code; page 2 comes in a send of its own).
    await click(done, page1, { aware: 'full', support: '4', impact: 'neutral' }, 'CLICK-DONE');
    // partial: clicked with a required question left open: the copy stays open, its code unused.
    await click(partial, page1, { aware: 'full' }, 'CLICK-PARTIAL');
    // finished: every page and the free-text question (skipped): nothing of theirs is open.
    await click(finished, page1, { aware: 'part', support: '3', impact: 'positive' }, 'CLICK-FIN1');
    await drain();
    const cardSends = fake.sends.slice(2).filter((s) => s.body.msgtype === 'template_card');
    expect(cardSends.map((s) => s.body.touser).sort()).toEqual([done, finished].sort());
    const page2Sends = [done, finished].map((person) => cardSends.find((s) => s.body.touser === person)!);
    const page2 = (await t.app.dataSource.query('SELECT page_cards FROM surveys WHERE number = ?', [number]))[0].page_cards;
    const page2Id = JSON.parse(page2)[1];
    await click(finished, page2Id, {}, 'CLICK-FIN2');
    await say(finished, '跳过');
    await drain();
    const before = fake.updates.length;
    expect(fake.updates.map((u) => [u.userids, u.response_code, u.replace_text]).sort()).toEqual([
      [[done], 'CLICK-DONE', '已提交'],
      [[finished], 'CLICK-FIN1', '已提交'],
      [[finished], 'CLICK-FIN2', '已提交'],
    ]);

    const closing = texts(await consoleClient(t).say('liu', `问卷 截止 ${number}`));
    expect(closing).toContain('截止');
    await drain();
    const closes = fake.updates.slice(before);
    // One call per batch with the send's code; the clicked copy with its own; nobody who clicked in a batch call.
    expect(closes.map((u) => u.response_code).sort()).toEqual(['CLICK-PARTIAL', first.code, second.code, page2Sends[0].code].sort());
    const byCode = new Map(closes.map((u) => [u.response_code, u]));
    expect(byCode.get(first.code)!.userids).toEqual(first.users.filter((u) => ![done, partial, finished].includes(u)));
    expect(byCode.get(first.code)!.template_card.task_id).toBe(first.taskId);
    expect(byCode.get(second.code)!.userids).toEqual(second.users);
    expect(byCode.get(second.code)!.template_card.task_id).toBe(second.taskId);
    expect(byCode.get('CLICK-PARTIAL')!.userids).toEqual([partial]);
    // done's page 2 (a send of its own, nobody clicked it) closes with that send's code.
    expect(byCode.get(page2Sends[0].code)!.userids).toEqual([done]);
    for (const update of closes) {
      expect(update.userids.length).toBeLessThanOrEqual(1000);
      expect(update.replace_text).toBe('已截止');
      expect(update.userids).not.toContain(finished);
      expect(update.atall ?? 0).toBe(0);
    }
    expect(closes.flatMap((u) => u.userids)).toHaveLength(STAFF - 3 + 1 + 1);
    // finished's page 2 batch (a batch of one, all of it submitted) needs no call; its code is left unused.
    expect(closes.find((u) => u.response_code === page2Sends[1].code)).toBeUndefined();

    // A late click: refused, nothing stored, and that copy shows 已截止 with the late click's code.
    const answers = await t.app.dataSource.getRepository(SurveyAnswerEntity).count();
    await click(late, page1, { aware: 'full', support: '4', impact: 'neutral' }, 'CLICK-LATE');
    await drain();
    expect(fake.updates.slice(before + closes.length).map((u) => [u.userids, u.response_code, u.replace_text])).toEqual([[[late], 'CLICK-LATE', '已截止']]);
    expect(await t.app.dataSource.getRepository(SurveyAnswerEntity).count()).toBe(answers);
    const lateReply = await t.app.dataSource.getRepository(OutboundMessageEntity).findBy({ recipient: `user:${late}`, kind: 'send' });
    expect(lateReply.map((r) => JSON.parse(t.app.cipher.decrypt(r.contentEnc))).filter((c) => c.kind === 'text').map((c) => c.text).join('\n')).toContain('已截止');
  });

  it('does not try a send’s code older than 72 h, and takes a refusal after 24 h as the code’s end', async () => {
    const fake = fakeWecom();
    const { number } = await publish('5天');
    const [first, second] = fake.sends;
    // 30 h later WeCom refuses the first code (the older docs' 24 h) but takes the second.
    clock += 30 * HOUR;
    fake.refuse.set(first.code, 40_078);
    await consoleClient(t).say('liu', `问卷 截止 ${number}`);
    await drain();
    expect(fake.updates.map((u) => u.response_code).sort()).toEqual([first.code, second.code].sort());
    const rows = await t.app.dataSource.getRepository(OutboundMessageEntity).findBy({ kind: 'batch_update' });
    expect(rows.map((r) => r.status).sort()).toEqual(['expired', 'sent']);
    // Refused or not, a spent code is marked so: nothing tries it again.
    expect((await t.app.dataSource.getRepository(CardBatchEntity).find()).every((b) => b.usedAt !== null)).toBe(true);
    const dead = await t.app.dataSource.getRepository(OutboundMessageEntity).countBy({ status: 'dead' });
    expect(dead).toBe(0);
  });

  it('sends nothing for batches older than 72 h: those copies keep their buttons, and a click shows 已截止', async () => {
    const fake = fakeWecom();
    const { number, page1 } = await publish('5天');
    clock += 73 * HOUR;
    await consoleClient(t).say('liu', `问卷 截止 ${number}`);
    await drain();
    expect(fake.updates).toEqual([]);
    const rows = await t.app.dataSource.getRepository(OutboundMessageEntity).findBy({ kind: 'batch_update' });
    expect(rows.map((r) => r.status)).toEqual(['expired', 'expired']);
    const someone = fake.sends[0].body.touser.split('|')[7];
    await click(someone, page1, { aware: 'full' }, 'CLICK-AFTER');
    await drain();
    expect(fake.updates.map((u) => [u.userids, u.response_code, u.replace_text])).toEqual([[[someone], 'CLICK-AFTER', '已截止']]);
  });
});

describe('closing a questionnaire on the console', () => {
  let t: TestApp;
  afterEach(() => t.stop());

  it('shows 已截止 on the page card of everyone who has it', async () => {
    const clock = Date.UTC(2026, 11, 1, 2, 0);
    t = await startTestApp({ appOptions: { now: () => clock } });
    await importSampleOrg(t);
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 special-topic 范围 财务处 截止 3天'));
    const number = /Q-\d{4}-\d{4}/.exec(texts(await chat.act('liu', preview.cardId, 'confirm')))![0];
    expect(pageCards(await chat.inbox('qianwu')).map((c) => c.state)).toEqual([null]);
    await chat.say('liu', `问卷 截止 ${number}`);
    expect(pageCards(await chat.inbox('qianwu')).map((c) => c.state)).toEqual(['已截止']);
  });
});

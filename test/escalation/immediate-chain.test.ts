import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { EscalationEntity } from '../../src/db/entities/escalation.entity';
import { InsightEntity } from '../../src/db/entities/insight.entity';
import { cardsIn, escalationEvents, field, ledgerKinds, testClock, textsIn } from './support';

const TIMEOUT_MS = 30_000;

describe.each(testDatabases())('即时 and its escalation chain (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let clock: ReturnType<typeof testClock>;

  /** The step worker is driven by hand here (no background loop): each call runs what is due by the test clock. */
  const runDue = () => t.app.escalations.runDue();
  const alertsOf = async (user: string) => cardsIn(await chat.inbox(user));

  async function report(from = 'zhangsan', text = '即时 #工作 某科室多名同志酝酿集体反映绩效分配问题'): Promise<{ reply: string; number: string }> {
    const reply = await chat.sayText(from, text);
    const number = /S-\d{4}-\d{4}/.exec(reply)?.[0];
    if (!number) throw new Error(`no insight number in: ${reply}`);
    return { reply, number };
  }

  beforeEach(async () => {
    clock = testClock();
    t = await startTestApp({ database, env: { ESCALATION_ACK_TIMEOUT: '30s' }, appOptions: { now: clock.now } });
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('alerts the secretary with an office copy, then the secretary again and the deputy, then tells the office — each step once', async () => {
    const { reply, number } = await report();
    expect(reply).toContain(number);
    expect(reply).toContain('王书记');
    expect(reply).toContain('抄送机关党委');

    expect(await runDue()).toBe(1);
    const [first] = await alertsOf('wang');
    expect(first.title).toContain(number);
    expect(first.body).toBe('某科室多名同志酝酿集体反映绩效分配问题');
    expect(field(first, '所属部门')).toBe('办公室');
    expect(field(first, '信息类别')).toBe('工作状态');
    expect(field(first, '上报人')).toBe('张三');
    expect(first.actions.map((a) => a.label)).toEqual(['已阅知悉', '部署处置', '转分管领导']);
    expect((await alertsOf('liu')).map((c) => c.cardId)).toEqual([first.cardId]);
    expect(await alertsOf('zhao')).toEqual([]);

    // Nothing is due until the timeout has passed: running again repeats nothing.
    expect(await runDue()).toBe(0);
    clock.advance(TIMEOUT_MS - 2_000);
    expect(await runDue()).toBe(0);
    expect(await alertsOf('wang')).toHaveLength(1);

    clock.advance(3_000);
    expect(await runDue()).toBe(1);
    const wangCards = await alertsOf('wang');
    expect(wangCards).toHaveLength(2);
    expect(field(wangCards[1], '提醒')).toContain('第2次提醒');
    expect(await alertsOf('zhao')).toHaveLength(1);
    expect(await alertsOf('liu')).toHaveLength(1);

    clock.advance(TIMEOUT_MS + 1_000);
    expect(await runDue()).toBe(1);
    expect(textsIn(await chat.inbox('liu')).join('\n')).toMatch(new RegExp(`即时报告 ${number}.*仍无人确认`));

    clock.advance(10 * TIMEOUT_MS);
    expect(await runDue()).toBe(0);
    expect(await alertsOf('wang')).toHaveLength(2);
    expect(await alertsOf('zhao')).toHaveLength(1);

    const events = await escalationEvents(t);
    const kinds = events.map((e) => e.kind);
    expect(kinds[0]).toBe('created');
    expect(kinds.filter((k) => k === 'escalated')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'exhausted')).toHaveLength(1);
    // Every alert sent is also recorded as delivered (the console delivers by storing), with its time.
    const sentCards = events.filter((e) => e.kind === 'sent' && e.cardId);
    expect(sentCards.map((e) => e.personId).sort()).toEqual(['liu', 'wang', 'wang', 'zhao']);
    expect(events.filter((e) => e.kind === 'delivered')).toHaveLength(4);
    expect(events.every((e) => e.at > 0)).toBe(true);
    const ledger = await ledgerKinds(t, number);
    expect(ledger).toEqual(expect.arrayContaining(['insight.immediate', 'escalation.created', 'escalation.sent', 'escalation.delivered', 'escalation.escalated']));
  });

  it('stores the text encrypted before anything is sent', async () => {
    await report();
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect(row.kind).toBe('immediate');
    expect(row.textEnc).not.toContain('绩效');
  });

  it('stops the chain when the secretary presses 已阅知悉: every card shows who and when, and the reporter is told', async () => {
    const { number } = await report();
    await runDue();
    const [card] = await alertsOf('wang');
    const replies = await chat.act('wang', card.cardId, 'ack');
    expect(texts(replies)).toContain(`已确认即时报告 ${number}`);

    for (const user of ['wang', 'liu']) {
      const [copy] = await alertsOf(user);
      expect(copy.state).toMatch(/^已阅知悉 · 王书记 \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/);
    }
    const told = textsIn(await chat.inbox('zhangsan')).join('\n');
    expect(told).toContain(`${number} 已由党组(党委)书记 王书记 于`);
    expect(told).toContain('已阅知悉');

    clock.advance(5 * TIMEOUT_MS);
    expect(await runDue()).toBe(0);
    expect(await alertsOf('zhao')).toEqual([]);
    expect(await alertsOf('wang')).toHaveLength(1);
    const escalation = await t.app.dataSource.getRepository(EscalationEntity).findOneByOrFail({ insightNumber: number });
    expect([escalation.state, escalation.acknowledgedBy, escalation.ackMethod]).toEqual(['acknowledged', 'wang', 'ack']);
    expect(await ledgerKinds(t, number)).toContain('escalation.acknowledged');

    // A second acknowledgement changes nothing and says who confirmed first.
    expect(await chat.sayText('zhao', `确认 ${number}`)).toContain('已由 王书记 于');
  });

  it('accepts `确认 编号` from the deputy after escalation, updating all four alert cards', async () => {
    const { number } = await report();
    await runDue();
    clock.advance(TIMEOUT_MS + 1_000);
    await runDue();
    const reply = await chat.sayText('zhao', `确认 ${number}`);
    expect(reply).toContain(`已确认即时报告 ${number}`);
    const all = [...(await alertsOf('wang')), ...(await alertsOf('liu')), ...(await alertsOf('zhao'))];
    expect(all).toHaveLength(4);
    for (const card of all) expect(card.state).toMatch(/^已确认 · 赵处长 /);
    expect(textsIn(await chat.inbox('zhangsan')).join('\n')).toContain('已由分管领导 赵处长 于');
    clock.advance(TIMEOUT_MS + 1_000);
    expect(await runDue()).toBe(0);
    expect(textsIn(await chat.inbox('liu')).join('\n')).not.toContain('仍无人确认');
  });

  it('accepts the number however it is typed: lower case, without the leading zeros', async () => {
    const { number } = await report();
    await runDue();
    const typed = number.toLowerCase().replace(/-0+(?=\d)/, '-');
    expect(await chat.sayText('wang', `确认 ${typed}`)).toContain(`已确认即时报告 ${number}`);
  });

  it('accepts the short number and an instruction after it, passed to the office', async () => {
    const { number } = await report();
    await runDue();
    const reply = await chat.sayText('wang', `/ack ${Number(number.slice(-4))} 请机关党委今天约谈了解情况`);
    expect(reply).toContain(`已确认即时报告 ${number}`);
    expect(reply).toContain('已记录您对');
    expect(textsIn(await chat.inbox('liu')).join('\n')).toContain('王书记 对即时报告');
    expect(textsIn(await chat.inbox('liu')).join('\n')).toContain('请机关党委今天约谈了解情况');
    const [card] = await alertsOf('wang');
    expect(card.state).toMatch(/^部署处置 · 王书记/);
    const escalation = await t.app.dataSource.getRepository(EscalationEntity).findOneByOrFail({ insightNumber: number });
    expect(escalation.instructionEnc).not.toContain('约谈');
    expect(t.app.cipher.decrypt(escalation.instructionEnc!)).toBe('请机关党委今天约谈了解情况');
  });

  it('部署处置 on the card acknowledges and records the instruction, or asks for it', async () => {
    const { number } = await report();
    await runDue();
    const [card] = await alertsOf('wang');
    const asked = texts(await chat.act('wang', card.cardId, 'instruct'));
    expect(asked).toContain(`已确认即时报告 ${number}（部署处置）`);
    expect(asked).toContain(`确认 ${number} 部署内容`);
    const recorded = texts(await chat.act('wang', card.cardId, 'instruct', { instruction: '由办公室主任当面了解诉求' }));
    expect(recorded).toContain('已记录您对');
    expect(textsIn(await chat.inbox('liu')).join('\n')).toContain('由办公室主任当面了解诉求');
  });

  it('转分管领导 acknowledges and hands the report to the deputy with its card', async () => {
    const { number } = await report();
    await runDue();
    const [card] = await alertsOf('wang');
    const reply = texts(await chat.act('wang', card.cardId, 'forward'));
    expect(reply).toContain('已转分管领导（赵处长）');
    const [handed] = await alertsOf('zhao');
    expect(handed.title).toContain(number);
    expect(field(handed, '提醒')).toContain('王书记 转分管领导处理');
    expect(handed.state).toMatch(/^转分管领导 · 王书记/);
    clock.advance(TIMEOUT_MS + 1_000);
    expect(await runDue()).toBe(0);
    expect(await alertsOf('zhao')).toHaveLength(1);
  });

  it('alerts the secretary when the reporter is a leader', async () => {
    const { number } = await report('zhao', '即时 有同志在网上发布涉及单位的不实信息');
    await runDue();
    const [card] = await alertsOf('wang');
    expect(card.title).toContain(number);
    expect(field(card, '上报人')).toBe('赵处长');
    expect(await alertsOf('liu')).toHaveLength(1);
    await chat.act('wang', card.cardId, 'ack');
    expect(textsIn(await chat.inbox('zhao')).join('\n')).toContain(`${number} 已由党组(党委)书记 王书记`);
  });

  it('with no secretary appointed, alerts the office and tells it why', async () => {
    await t.stop();
    t = await startTestApp({ database, env: { ESCALATION_ACK_TIMEOUT: '30s' }, appOptions: { now: clock.now } });
    chat = consoleClient(t);
    await importSampleOrg(t, { ...SAMPLE_ORG, people: SAMPLE_ORG.people.map((p) => (p.id === 'wang' ? { ...p, roles: [] } : p)) });
    const { reply, number } = await report();
    expect(reply).toContain('尚未指定党组(党委)书记');
    expect(reply).toContain('刘主任');
    await runDue();
    const [card] = await alertsOf('liu');
    expect(card.title).toContain(number);
    expect(field(card, '提醒')).toContain('尚未指定党组(党委)书记');
    expect(textsIn(await chat.inbox('liu')).join('\n')).toMatch(/尚未指定党组\(党委\)书记.*角色 人员 书记/);
    expect(await alertsOf('wang')).toEqual([]);
    expect((await escalationEvents(t)).some((e) => e.kind === 'no_recipient' && e.detail === 'secretary')).toBe(true);
    // The deputy is alerted on escalation and can acknowledge; the office is not told why a second time.
    clock.advance(TIMEOUT_MS + 1_000);
    await runDue();
    expect(textsIn(await chat.inbox('liu')).filter((text) => text.includes('尚未指定'))).toHaveLength(1);
    const [deputyCard] = await alertsOf('zhao');
    expect(texts(await chat.act('zhao', deputyCard.cardId, 'ack'))).toContain('已确认');
  });

  it('refuses 即时 to staff, 确认 to the office and staff, and the alert buttons to anyone but leaders', async () => {
    expect(await chat.sayText('lisi', '即时 有人情绪激动')).toContain('联络员');
    expect(await t.app.dataSource.getRepository(InsightEntity).count()).toBe(0);

    const { number } = await report();
    await runDue();
    expect(await chat.sayText('liu', `确认 ${number}`)).toContain('仅限党组(党委)书记、分管领导');
    expect(await chat.sayText('lisi', `确认 ${number}`)).toContain('仅限');
    const [copy] = await alertsOf('liu');
    expect(texts(await chat.act('liu', copy.cardId, 'ack'))).toContain('由党组(党委)书记或分管领导确认');
    expect(texts(await chat.act('lisi', copy.cardId, 'forward'))).toContain('由党组(党委)书记或分管领导确认');
    expect((await alertsOf('liu'))[0].state).toBeNull();
    const escalation = await t.app.dataSource.getRepository(EscalationEntity).findOneByOrFail({ insightNumber: number });
    expect(escalation.state).toBe('open');
    expect(await chat.sayText('wang', '确认 S-2020-9999')).toContain('没有编号为');
  });

  it('follows ESCALATION_STEPS: here the secretary alone, then after 10s the deputy and a notice to the office', async () => {
    await t.stop();
    t = await startTestApp({ database, env: { ESCALATION_ACK_TIMEOUT: '30s', ESCALATION_STEPS: 'secretary | 10s deputy,office-notice' }, appOptions: { now: clock.now } });
    chat = consoleClient(t);
    await importSampleOrg(t);
    const { number } = await report();
    await runDue();
    expect(await alertsOf('wang')).toHaveLength(1);
    expect(await alertsOf('liu')).toEqual([]);
    clock.advance(11_000);
    expect(await runDue()).toBe(1);
    expect(await alertsOf('zhao')).toHaveLength(1);
    expect(await alertsOf('wang')).toHaveLength(1);
    expect(textsIn(await chat.inbox('liu')).join('\n')).toContain(`即时报告 ${number}`);
    const escalation = await t.app.dataSource.getRepository(EscalationEntity).findOneByOrFail({ insightNumber: number });
    expect([escalation.state, escalation.nextDueAt]).toEqual(['exhausted', null]);
    // Exhausted is not closed: a leader can still acknowledge, and the reporter is still told.
    expect(await chat.sayText('wang', `确认 ${number}`)).toContain('已确认即时报告');
    expect(textsIn(await chat.inbox('zhangsan')).join('\n')).toContain('已由党组(党委)书记 王书记');
  });

  it('lists 即时 and 确认 in 帮助 for those who may use them, and waiting reports in the leaders\' 我的', async () => {
    expect(await chat.sayText('zhangsan', '帮助')).toContain('即时（/urgent）');
    expect(await chat.sayText('zhangsan', '帮助')).not.toContain('确认（/ack）');
    expect(await chat.sayText('wang', '帮助')).toContain('确认（/ack）');
    expect(await chat.sayText('lisi', '帮助')).not.toContain('即时');
    const { number } = await report();
    await runDue();
    expect(await chat.sayText('zhao', '我的')).toContain(`${number}`);
    expect(await chat.sayText('zhao', '我的')).toContain('待确认的即时报告（1 条');
    expect(await chat.sayText('zhangsan', '我的')).toContain('【即时】');
    await chat.say('wang', `确认 ${number}`);
    expect(await chat.sayText('zhao', '我的')).not.toContain('待确认的即时报告');
  });

  it('keeps the timer in the database: a restarted app runs the due step once, not again', async () => {
    const { number } = await report();
    await runDue();
    await t.app.stop();
    clock.advance(TIMEOUT_MS + 1_000);
    const restarted = await startTestApp({ database, shareDatabaseOf: t, env: { ESCALATION_ACK_TIMEOUT: '30s' }, appOptions: { now: clock.now } });
    try {
      expect(await restarted.app.escalations.runDue()).toBe(1);
      expect(await restarted.app.escalations.runDue()).toBe(0);
      const restartedChat = consoleClient(restarted);
      expect(cardsIn(await restartedChat.inbox('zhao'))).toHaveLength(1);
      expect(cardsIn(await restartedChat.inbox('wang'))).toHaveLength(2);
      expect((await escalationEvents(restarted)).filter((e) => e.kind === 'escalated').map((e) => e.step)).toEqual([1]);
      expect(number).toMatch(/^S-/);
    } finally {
      await restarted.stop();
    }
  });
});

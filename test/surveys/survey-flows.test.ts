import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { firstOptions, importSurveyOrg, pageCards } from './survey-support';
import { SurveyAnswerEntity, SurveyEntity } from '../../src/db/entities/survey.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { CardDeliveryEntity, OutboundMessageEntity } from '../../src/db/entities/messaging.entity';

const START = Date.UTC(2026, 11, 1, 2, 0); // Tuesday 2026-12-01 10:00 in Shanghai

describe('问卷调查 through the console', () => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let clock = START;

  beforeEach(async () => {
    clock = START;
    t = await startTestApp({ appOptions: { now: () => clock } });
    chat = consoleClient(t);
    await importSurveyOrg(t);
  });
  afterEach(() => t.stop());

  async function publish(command: string): Promise<string> {
    const preview = onlyCard(await chat.say('liu', command));
    expect(preview.template).toBe('survey-preview');
    const confirmed = texts(await chat.act('liu', preview.cardId, 'confirm'));
    expect(confirmed).toContain('已发布');
    return /Q-\d{4}-\d{4}/.exec(confirmed)![0];
  }

  /** Answers every choice page of the person's inbox card with the first option, then the text question. */
  async function answerAll(user: string, number: string, text = '希望多组织业务培训'): Promise<void> {
    let card = pageCards(await chat.inbox(user)).find((c) => c.body.includes(number))!;
    for (;;) {
      const values = firstOptions(card);
      const replies = await chat.act(user, card.cardId, 'submit', values);
      expect(texts(replies)).toContain('已提交');
      const next = pageCards(replies)[0];
      if (!next) break;
      card = next;
    }
    expect(texts(await chat.say(user, text))).toContain('已收到您的回答');
  }

  it('lists templates; refuses bad publish commands and changes nothing', async () => {
    const list = await chat.sayText('liu', '问卷 模板');
    expect(list).toContain('quarterly-pulse');
    expect(list).toContain('special-topic');
    expect(await chat.sayText('liu', '问卷 发布 nope 截止 3天')).toContain('没有「nope」这个问卷模板');
    expect(await chat.sayText('liu', '问卷 发布 quarterly-pulse 截止 2020-01-01')).toContain('已经过去');
    expect(await chat.sayText('liu', '问卷 发布 quarterly-pulse 截止 明年某天')).toContain('看不懂');
    expect(await chat.sayText('liu', '问卷 发布 quarterly-pulse 截止 800天')).toContain('一年');
    expect(await chat.sayText('liu', '问卷 发布 quarterly-pulse 范围 截止 3天')).toContain('「范围」后请写');
    expect(await chat.sayText('liu', '问卷 发布 quarterly-pulse 范围 宣传部 截止 3天')).toContain('找不到部门「宣传部」');
    expect(await chat.sayText('lisi', '问卷 发布 quarterly-pulse 截止 3天')).toContain('仅限机关党委');
    expect(await t.app.dataSource.getRepository(SurveyEntity).count()).toBe(0);
  });

  it('previews, then sends page 1 only after 确认发布; 取消 sends nothing', async () => {
    const preview = onlyCard(await chat.say('liu', '问卷 发布 quarterly-pulse 范围 技术处 后勤处 截止 2026-12-20 17:00'));
    expect(preview.fields.find((f) => f.label === '发送人数')!.value).toBe('12 人');
    expect(preview.fields.find((f) => f.label === '方式')!.value).toContain('匿名');
    expect(preview.body).toContain('工作积极性');
    expect(pageCards(await chat.inbox('tech0'))).toHaveLength(0);
    expect(texts(await chat.act('liu', preview.cardId, 'cancel'))).toContain('已取消');
    expect(pageCards(await chat.inbox('tech0'))).toHaveLength(0);

    const number = await publish('问卷 发布 quarterly-pulse 范围 技术处 后勤处 截止 3天');
    expect(number).toBe('Q-2026-0002');
    const [first] = pageCards(await chat.inbox('tech0'));
    expect(first.title).toContain('（1/3）');
    expect(first.inputs.length).toBeLessThanOrEqual(3);
    expect(pageCards(await chat.inbox('qianwu'))).toHaveLength(0);
    expect(await chat.sayText('tech0', '我的')).toContain(number);
  });

  it('pages answered in order; refusals store nothing; anonymous pages are final', async () => {
    const number = await publish('问卷 发布 quarterly-pulse 范围 技术处 截止 3天');
    const [page1] = pageCards(await chat.inbox('tech0'));
    const answers = t.app.dataSource.getRepository(SurveyAnswerEntity);

    expect(texts(await chat.act('tech0', page1.cardId, 'submit', { politics: '9' }))).toContain('不在问卷卡片上');
    expect(texts(await chat.act('tech0', page1.cardId, 'submit', { nope: '1' }))).toContain('不符');
    expect(texts(await chat.act('qianwu', page1.cardId, 'submit', { politics: '4' }))).toContain('不在问卷');
    expect(texts(await chat.act('tech0', 'no-such-card', 'submit', { politics: '4' }))).toContain('失效');
    expect(await answers.count()).toBe(0);

    const replies = await chat.act('tech0', page1.cardId, 'submit', { politics: '4', work: '5', workload: 'ok' });
    expect(texts(replies)).toContain('第 1/3 页已提交');
    const page2 = pageCards(replies)[0];
    expect(page2.inputs).toHaveLength(1);
    expect(page2.inputs[0].multi).toBe(true);
    expect(texts(await chat.act('tech0', page1.cardId, 'submit', { politics: '1', work: '1', workload: 'low' }))).toContain('已经提交过');
    expect(await answers.count()).toBe(3);

    const page3 = pageCards(await chat.act('tech0', page2.cardId, 'submit', { concerns: ['pay', 'title'] }))[0];
    const last = texts(await chat.act('tech0', page3.cardId, 'submit', { mood: 'some', society: '3' }));
    expect(last).toContain('文字题');
    expect(await chat.sayText('tech0', '长'.repeat(5000))).toContain('回答过长');
    expect(await answers.count()).toBe(6);
    expect(await chat.sayText('tech0', '跳过')).toContain('已跳过');
    expect(await chat.sayText('tech0', '我的')).not.toContain(number);
    // Anonymity cannot be switched off once answers exist.
    expect((await t.app.dataSource.getRepository(SurveyEntity).findOneByOrFail({ number })).locked).toBe(true);
  });

  it('takes a page one choice at a time (DingTalk link fallback) and updates only the submitter’s copy', async () => {
    await publish('问卷 发布 special-topic 范围 技术处 截止 3天');
    const [page1] = pageCards(await chat.inbox('tech2'));
    // Two delivered copies of the shared card, as WeCom callbacks would have recorded them.
    await t.app.transact(async (em) => {
      for (const user of ['tech2', 'tech3']) await em.insert(CardDeliveryEntity, { cardId: page1.cardId, platform: 'wecom', recipient: `user:${user}`, ref: `${page1.cardId}@x|RC-${user}`, createdAt: clock });
    });
    expect(texts(await chat.act('tech2', page1.cardId, 'submit', { aware: 'full', support: '', impact: '' }))).toContain('还有必答题未选');
    expect(texts(await chat.act('tech2', page1.cardId, 'submit', { aware: 'full', support: '4', impact: '' }))).toContain('已经提交过');
    expect(texts(await chat.act('tech2', page1.cardId, 'submit', { support: '4' }))).toContain('还有必答题未选');
    const done = await chat.act('tech2', page1.cardId, 'submit', { impact: 'neutral' });
    expect(texts(done)).toContain('第 1/2 页已提交');
    const updates = await t.app.dataSource.getRepository(OutboundMessageEntity).findBy({ kind: 'card_update', cardId: page1.cardId });
    expect(updates.map((u) => u.recipient)).toEqual(['user:tech2']);
    const content = JSON.parse(t.app.cipher.decrypt(updates[0].contentEnc));
    expect(content.card.state).toBe('已提交');
    expect(JSON.stringify(content)).not.toContain('"selected"');
  });

  it('named questionnaires can be changed until the deadline', async () => {
    const number = await publish('问卷 发布 special-topic 范围 技术处 截止 3天 实名');
    const [page1] = pageCards(await chat.inbox('tech1'));
    await chat.act('tech1', page1.cardId, 'submit', { aware: 'full', support: '5', impact: 'positive' });
    expect(texts(await chat.act('tech1', page1.cardId, 'submit', { aware: 'none', support: '1', impact: 'negative' }))).toContain('已修改');
    const rows = await t.app.dataSource.getRepository(SurveyAnswerEntity).findBy({ questionKey: 'aware' });
    expect(rows.map((r) => [r.value, r.personId])).toEqual([['none', 'tech1']]);
    expect(number).toMatch(/^Q-2026-/);
  });

  it('results with suppression, the role matrix, the deadline and 公布/导出', async () => {
    const number = await publish('问卷 发布 quarterly-pulse 截止 3天');
    for (const user of ['tech0', 'tech1', 'tech2', 'tech3', 'tech4', 'log0', 'log1', 'log2', 'log3', 'log4', 'log5', 'arc0']) await answerAll(user, number, `意见${user}`);

    expect(await chat.sayText('lisi', `问卷 结果 ${number}`)).toContain('仅限');
    expect(await chat.sayText('zhangsan', `问卷 结果 ${number} 技术处`)).toContain('只能查看本部门');
    const office = texts(await chat.say('liu', `问卷 结果 ${number}`));
    expect(office).toContain('答卷 12 人');
    // 档案室 (1 answered) alone would be suppressed: 办公室/财务处 have none, so 其他部门 merges them.
    expect(office).toContain('其他部门');
    expect(office).not.toContain('档案室');
    expect(office).toContain('意见tech0');
    const tech = texts(await chat.say('liu', `问卷 结果 ${number} 技术处`));
    expect(tech).toContain('答卷 5 人');
    expect(tech).not.toContain('意见tech0'); // fewer than MIN_COMMENT_GROUP_SIZE
    expect(await chat.sayText('liu', `问卷 结果 ${number} 档案室`)).toContain('不单独显示');

    // The deadline is a durable timer: late answers are refused, the publisher and the office get the results.
    clock += 3 * 24 * 3_600_000 + 1000;
    await t.app.timers.runDue(['survey.deadline']);
    expect((await t.app.dataSource.getRepository(SurveyEntity).findOneByOrFail({ number })).status).toBe('closed');
    expect(texts(await chat.inbox('liu'))).toContain('已截止');
    const [late] = pageCards(await chat.inbox('tech5'));
    expect(texts(await chat.act('tech5', late.cardId, 'submit', { politics: '3', work: '3', workload: 'ok' }))).toContain('已截止');

    expect(texts(await chat.say('liu', `问卷 公布 ${number}`))).toContain('结果摘要已发给');
    const exported = await chat.say('liu', `问卷 导出 ${number}`);
    expect(exported.some((m) => 'file' in m)).toBe(true);

    const summary = await chat.sayText('liu', '汇总 本月');
    expect(summary).toContain('问卷调查');
    expect(summary).toContain(number);
    const kinds = (await t.app.dataSource.getRepository(LedgerEntryEntity).find()).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['survey.drafted', 'survey.confirmed', 'survey.results_read', 'survey.closed', 'survey.results_published', 'survey.exported']));
  });
});

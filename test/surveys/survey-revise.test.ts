import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSurveyOrg, pageCards } from './survey-support';
import { SurveyAnswerEntity, SurveyEntity, SurveyParticipantEntity } from '../../src/db/entities/survey.entity';

const START = Date.UTC(2026, 11, 1, 2, 0); // Tuesday 2026-12-01 10:00 in Shanghai
const HOUR = 3600_000;

/** Issue 11 §3: named questionnaires may be changed until the deadline (free text too); anonymous ones are final. */
describe.each(testDatabases())('问卷 修改 through the console (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let clock = START;

  beforeEach(async () => {
    clock = START;
    t = await startTestApp({ database, appOptions: { now: () => clock } });
    chat = consoleClient(t);
    await importSurveyOrg(t);
  });
  afterEach(() => t.stop());

  async function publish(command: string): Promise<string> {
    const preview = onlyCard(await chat.say('liu', command));
    return /Q-\d{4}-\d{4}/.exec(texts(await chat.act('liu', preview.cardId, 'confirm')))![0];
  }

  /** special-topic: page 1 (three selects), page 2 (optional multi), then the optional free-text question. */
  async function answerPages(user: string): Promise<void> {
    const [page1] = pageCards(await chat.inbox(user));
    const page2 = pageCards(await chat.act(user, page1.cardId, 'submit', { aware: 'full', support: '4', impact: 'neutral' }))[0];
    expect(texts(await chat.act(user, page2.cardId, 'submit', { worries: [page2.inputs[0].options[0].id] }))).toContain('文字题');
  }

  async function textAnswers(number: string) {
    const survey = await t.app.dataSource.getRepository(SurveyEntity).findOneByOrFail({ number });
    const rows = await t.app.dataSource.getRepository(SurveyAnswerEntity).findBy({ surveyId: survey.id, questionKey: 'suggestion' });
    return rows.map((r) => [r.personId, r.textEnc ? t.app.cipher.decrypt(r.textEnc) : null]);
  }

  async function participant(number: string, personId: string) {
    const survey = await t.app.dataSource.getRepository(SurveyEntity).findOneByOrFail({ number });
    return t.app.dataSource.getRepository(SurveyParticipantEntity).findOneByOrFail({ surveyId: survey.id, personId });
  }

  it('a named questionnaire’s free-text answer is replaced in place until the deadline', async () => {
    const number = await publish('问卷 发布 special-topic 范围 技术处 截止 3天 实名');
    await answerPages('tech1');
    const finished = await chat.sayText('tech1', '希望多组织业务培训');
    expect(finished).toContain('已全部填完');
    expect(finished).toContain(`问卷 修改 ${number}`);
    // 问卷 继续 on a finished named questionnaire points to 问卷 修改.
    expect(await chat.sayText('tech1', `问卷 继续 ${number}`)).toContain(`问卷 修改 ${number}`);
    expect(await chat.sayText('tech1', '帮助')).toContain('问卷 修改');

    const menu = await chat.sayText('tech1', `问卷 修改 ${number}`);
    expect(menu).toContain(`问卷 修改 ${number} 第1页`);
    expect(menu).toContain(`问卷 修改 ${number} 第2页`);
    expect(menu).toContain(`问卷 修改 ${number} 文字题1`);
    expect(menu).toContain('已回答');

    const asked = await chat.sayText('tech1', `问卷 修改 ${number} 文字题1`);
    expect(asked).toContain('您原来的回答：希望多组织业务培训');
    expect(await chat.sayText('tech1', '建议每季度组织一次业务交流')).toContain('已修改');
    expect(await textAnswers(number)).toEqual([['tech1', '建议每季度组织一次业务交流']]);
    const after = await participant(number, 'tech1');
    expect([after.completed, after.awaiting]).toEqual([true, null]);
    expect(await chat.sayText('tech1', '我的')).not.toContain(number);

    // 跳过 while changing keeps the answer as it is.
    await chat.say('tech1', `问卷 修改 ${number} 题1`);
    expect(await chat.sayText('tech1', '跳过')).toContain('保留原来的回答');
    expect(await textAnswers(number)).toEqual([['tech1', '建议每季度组织一次业务交流']]);
    // The next message, once the change is done, is no answer to anything.
    expect((await participant(number, 'tech1')).awaiting).toBeNull();

    // A choice page comes again as its card; submitting it replaces the choices.
    const again = await chat.say('tech1', `问卷 修改 ${number} 第1页`);
    const [card] = pageCards(again);
    expect(card.inputs.map((i) => i.key)).toEqual(['aware', 'support', 'impact']);
    expect(texts(await chat.act('tech1', card.cardId, 'submit', { aware: 'none', support: '2', impact: 'negative' }))).toContain('已修改');
    const aware = await t.app.dataSource.getRepository(SurveyAnswerEntity).findBy({ questionKey: 'aware' });
    expect(aware.map((r) => [r.personId, r.value])).toEqual([['tech1', 'none']]);

    // A question skipped the first time can be answered later.
    await answerPages('tech2');
    await chat.say('tech2', '跳过');
    expect(await chat.sayText('tech2', `问卷 修改 ${number}`)).toContain('已跳过');
    expect(await chat.sayText('tech2', `问卷 修改 ${number} 文字题1`)).toContain('您原来跳过了这道题');
    expect(await chat.sayText('tech2', '食堂可以延长供餐时间')).toContain('已修改');
    expect((await textAnswers(number)).sort()).toEqual([['tech1', '建议每季度组织一次业务交流'], ['tech2', '食堂可以延长供餐时间']]);
    expect((await participant(number, 'tech2')).answered.split(',')).not.toContain('!suggestion');

    // Bad input: clear replies, nothing changes.
    expect(await chat.sayText('tech1', `问卷 修改 ${number} 文字题9`)).toContain('没有文字题 9');
    expect(await chat.sayText('tech1', `问卷 修改 ${number} 第5页`)).toContain('没有第 5 页');
    expect(await chat.sayText('tech1', `问卷 修改 ${number} 随便`)).toContain('看不懂');
    expect(await chat.sayText('tech3', `问卷 修改 ${number}`)).toContain('还没有提交');
    expect(await chat.sayText('tech3', `问卷 修改 ${number} 文字题1`)).toContain('还没有回答到');
    expect(await chat.sayText('qianwu', `问卷 修改 ${number}`)).toContain('不在问卷');
    await chat.say('tech1', `问卷 修改 ${number} 文字题1`);
    expect(await chat.sayText('tech1', '长'.repeat(5000))).toContain('回答过长');
    expect(await textAnswers(number)).toContainEqual(['tech1', '建议每季度组织一次业务交流']);

    // After the deadline: no change, neither asked anew nor through a question asked before it.
    clock += 73 * HOUR;
    expect(await chat.sayText('tech1', '迟到的修改')).toContain('已截止');
    expect(await chat.sayText('tech1', `问卷 修改 ${number} 文字题1`)).toContain('已截止');
    expect((await textAnswers(number)).sort()).toEqual([['tech1', '建议每季度组织一次业务交流'], ['tech2', '食堂可以延长供餐时间']]);
  });

  it('an anonymous questionnaire’s answers are final: 问卷 修改 is refused and nothing changes', async () => {
    const number = await publish('问卷 发布 special-topic 范围 技术处 截止 3天');
    await answerPages('tech1');
    await chat.say('tech1', '我的第一条回答');
    const before = await textAnswers(number);
    expect(before).toEqual([[null, '我的第一条回答']]);
    for (const command of [`问卷 修改 ${number}`, `问卷 修改 ${number} 文字题1`, `问卷 修改 ${number} 第1页`]) {
      const reply = await chat.say('tech1', command);
      expect(texts(reply)).toContain('匿名问卷');
      expect(texts(reply)).toContain('不能修改');
      expect(pageCards(reply)).toEqual([]);
    }
    expect(await chat.sayText('tech1', `问卷 继续 ${number}`)).not.toContain('问卷 修改');
    const someText = await chat.sayText('tech1', '我想改成第二条回答');
    expect(someText).not.toContain('已修改');
    expect(await textAnswers(number)).toEqual(before);
    expect((await participant(number, 'tech1')).awaiting).toBeNull();
  });
});

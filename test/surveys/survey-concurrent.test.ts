import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { firstOptions, importSurveyOrg, pageCards } from './survey-support';

/*
 * One person's two turns processed at the same time: on MySQL two instances can each take one (the
 * console processes each request at once, so two requests at once are two transactions at once).
 * The second must see what the first stored: an anonymous page, or a free-text answer, is stored once.
 */
describe.each(testDatabases())('one person’s turns processed at the same time (%s)', (database) => {
  let t: TestApp;
  const people = ['tech0', 'tech1', 'tech2', 'tech3', 'tech4', 'tech5'];

  beforeEach(async () => {
    t = await startTestApp({ database });
    await importSurveyOrg(t);
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 quarterly-pulse 范围 技术处 截止 3天'));
    expect(texts(await chat.act('liu', preview.cardId, 'confirm'))).toContain('已发布');
  });
  afterEach(() => t.stop());

  const answersTo = async (questionKey: string) =>
    Number((await t.app.dataSource.query('SELECT COUNT(*) AS n FROM survey_answers WHERE question_key = ?', [questionKey]))[0].n);

  it('a page submitted twice at once is stored once; the second submission is told it was already in', async () => {
    const chat = consoleClient(t);
    for (const person of people) {
      const card = pageCards(await chat.inbox(person))[0];
      const values = firstOptions(card);
      const replies = await Promise.all([chat.act(person, card.cardId, 'submit', values), chat.act(person, card.cardId, 'submit', values)]);
      const said = replies.map(texts);
      expect(said.filter((s) => s.includes('第 1/3 页已提交'))).toHaveLength(1);
      expect(said.filter((s) => s.includes('已经提交过'))).toHaveLength(1);
    }
    expect(await answersTo('politics')).toBe(people.length);
  });

  it('two messages sent at once while the free-text question waits: the question is answered once', async () => {
    const chat = consoleClient(t);
    for (const person of people) {
      let card = pageCards(await chat.inbox(person))[0];
      for (;;) {
        const values = firstOptions(card);
        const next = pageCards(await chat.act(person, card.cardId, 'submit', values))[0];
        if (!next) break;
        card = next;
      }
      const replies = await Promise.all([chat.say(person, '第一条文字回答'), chat.say(person, '第二条文字回答')]);
      expect(replies.map(texts).filter((s) => s.includes('已收到您的回答'))).toHaveLength(1);
    }
    expect(await answersTo('other')).toBe(people.length);
  });
});

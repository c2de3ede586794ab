import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { pageCards, SURVEY_ORG } from './survey-support';
import { SurveyEntity, type Survey } from '../../src/db/entities/survey.entity';
import { loaded } from '../../src/modules/surveys/survey-service';
import { departmentGroups, surveyResults } from '../../src/modules/surveys/survey-results';
import { answerTallies, rebuildSurveyTallies } from '../../src/modules/surveys/survey-tallies';
import { migrations } from '../../migrations';

const START = Date.UTC(2026, 11, 1, 2, 0); // Tuesday 2026-12-01 10:00 in Shanghai

/** SURVEY_ORG and someone in no department. */
const ORG = { departments: SURVEY_ORG.departments, people: [...SURVEY_ORG.people, { id: 'loose', name: '无部门', departmentIds: [] }] };

/*
 * 问卷 结果 reads counts kept as answers arrive (survey_answer_tallies, survey_department_tallies).
 * They must always equal what the answers and participants say: after named answers are changed,
 * after rebuildSurveyTallies, and after the migration that counts existing questionnaires.
 */
describe.each(testDatabases())('questionnaire tallies (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let clock = START;

  beforeEach(async () => {
    clock = START;
    t = await startTestApp({ database, appOptions: { now: () => clock } });
    chat = consoleClient(t);
    await importSampleOrg(t, ORG);
  });
  afterEach(() => t.stop());

  async function publish(command: string): Promise<Survey> {
    const preview = onlyCard(await chat.say('liu', command));
    const number = /Q-\d{4}-\d{4}/.exec(texts(await chat.act('liu', preview.cardId, 'confirm')))![0];
    return t.app.dataSource.getRepository(SurveyEntity).findOneByOrFail({ number });
  }

  /** quarterly-pulse: page 1 (politics, work, workload), page 2 (concerns, multi), page 3 (mood, society), then the optional text. */
  async function answer(user: string, i: number, text: string | null): Promise<void> {
    let [card] = pageCards(await chat.inbox(user));
    card = pageCards(await chat.act(user, card.cardId, 'submit', { politics: String((i % 5) + 1), work: String(((i + 2) % 5) + 1), workload: ['low', 'ok', 'high', 'over'][i % 4] }))[0];
    card = pageCards(await chat.act(user, card.cardId, 'submit', { concerns: i % 2 ? ['pay', 'title'] : ['housing'] }))[0];
    expect(texts(await chat.act(user, card.cardId, 'submit', { mood: 'some', society: String((i % 3) + 1) }))).toContain('文字题');
    expect(await chat.sayText(user, text ?? '跳过')).toContain(text ? '已收到您的回答' : '已跳过');
  }

  /** Both tally tables of a questionnaire, in key order, without rows at 0. */
  async function tallies(surveyId: string) {
    const answers: Record<string, unknown>[] = await t.app.dataSource.query(
      'SELECT question_key, department_key, option_id, n FROM survey_answer_tallies WHERE survey_id = ? AND n <> 0 ORDER BY question_key, department_key, option_id',
      [surveyId],
    );
    const departments: Record<string, unknown>[] = await t.app.dataSource.query(
      'SELECT department_key, recipients, respondents FROM survey_department_tallies WHERE survey_id = ? ORDER BY department_key',
      [surveyId],
    );
    const counts = new Set(['n', 'recipients', 'respondents']);
    const numbers = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, counts.has(k) ? Number(v) : v])));
    return { answers: numbers(answers), departments: numbers(departments) };
  }

  /** What results counted before the tallies: straight from survey_answers and survey_participants. */
  async function countedFromRows(surveyId: string) {
    const answers: { question_key: string; department_id: string | null; value: string | null }[] = await t.app.dataSource.query(
      'SELECT question_key, department_id, value FROM survey_answers WHERE survey_id = ?',
      [surveyId],
    );
    const perQuestion = (departmentId?: string | null) => {
      const counts: Record<string, Record<string, number>> = {};
      for (const a of answers.filter((row) => departmentId === undefined || row.department_id === departmentId)) {
        const q = (counts[a.question_key] ??= {});
        q[''] = (q[''] ?? 0) + 1;
        for (const id of (a.value ?? '').split(',').filter(Boolean)) q[id] = (q[id] ?? 0) + 1;
      }
      return counts;
    };
    const participants: { department_id: string | null; answered: string }[] = await t.app.dataSource.query('SELECT department_id, answered FROM survey_participants WHERE survey_id = ?', [surveyId]);
    const groups = new Map<string | null, { recipients: number; respondents: number }>();
    for (const p of participants) {
      const g = groups.get(p.department_id) ?? { recipients: 0, respondents: 0 };
      g.recipients++;
      if (p.answered !== '') g.respondents++;
      groups.set(p.department_id, g);
    }
    return { perQuestion, groups };
  }

  const asObject = (m: Map<string, Map<string, number>>) => Object.fromEntries([...m].map(([k, v]) => [k, Object.fromEntries([...v].filter(([, n]) => n !== 0))]));

  async function expectTalliesMatchRows(survey: Survey): Promise<void> {
    const em = t.app.dataSource.manager;
    const reference = await countedFromRows(survey.id);
    expect(asObject(await answerTallies(em, survey.id, null))).toEqual(reference.perQuestion());
    for (const department of ['d3', 'd4', 'd5', null]) expect(asObject(await answerTallies(em, survey.id, [department]))).toEqual(reference.perQuestion(department));
    const groups = await departmentGroups(em, survey);
    expect(Object.fromEntries(groups.map((g) => [String(g.departmentId), { recipients: g.recipients, respondents: g.respondents }]))).toEqual(
      Object.fromEntries([...reference.groups].map(([d, g]) => [String(d), g])),
    );
  }

  it('counts answers as they arrive; a named answer given again moves its count; rebuilding gives the same tallies', async () => {
    const survey = await publish('问卷 发布 quarterly-pulse 截止 3天 实名');
    const people = ['tech0', 'tech1', 'tech2', 'log0', 'log1', 'log2', 'arc0', 'loose'];
    for (const [i, person] of people.entries()) await answer(person, i, i % 3 ? `意见${person}` : null);
    // One who has answered page 1 only (a respondent all the same), one who has not answered at all.
    const [first] = pageCards(await chat.inbox('tech3'));
    await chat.act('tech3', first.cardId, 'submit', { politics: '5', work: '5', workload: 'over' });

    const em = t.app.dataSource.manager;
    const before = await answerTallies(em, survey.id, ['d3']);
    expect(before.get('workload')!.get('low')).toBe(1); // tech0
    expect(before.get('workload')!.get('over') ?? 0).toBe(1); // tech3
    const departments = await departmentGroups(em, survey);
    expect(departments.find((g) => g.departmentId === 'd3')).toMatchObject({ recipients: 6, respondents: 4 });
    expect(departments.find((g) => g.departmentId === null)).toMatchObject({ name: '未归属部门', recipients: 1, respondents: 1 });

    // tech0 changes page 1 (workload low → over) and page 2 (housing → pay, title, promotion): old counts go, new ones come.
    const [again] = pageCards(await chat.say('tech0', `问卷 修改 ${survey.number} 第1页`));
    expect(texts(await chat.act('tech0', again.cardId, 'submit', { politics: '2', work: '1', workload: 'over' }))).toContain('已修改');
    const [page2] = pageCards(await chat.say('tech0', `问卷 修改 ${survey.number} 第2页`));
    expect(texts(await chat.act('tech0', page2.cardId, 'submit', { concerns: ['pay', 'promotion', 'title'] }))).toContain('已修改');
    // log0, who skipped the text question, answers it now; tech1 changes theirs.
    await chat.say('log0', `问卷 修改 ${survey.number} 文字题1`);
    expect(await chat.sayText('log0', '补充一条意见')).toContain('已修改');
    await chat.say('tech1', `问卷 修改 ${survey.number} 文字题1`);
    expect(await chat.sayText('tech1', '改过的意见')).toContain('已修改');

    const after = await answerTallies(em, survey.id, ['d3']);
    expect(after.get('workload')!.get('low') ?? 0).toBe(0);
    expect(after.get('workload')!.get('over')).toBe(2);
    expect(after.get('workload')!.get('')).toBe(4);
    expect(after.get('concerns')!.get('housing') ?? 0).toBe(before.get('concerns')!.get('housing')! - 1);
    expect(after.get('concerns')!.get('promotion')).toBe(1);
    expect(after.get('concerns')!.get('')).toBe(before.get('concerns')!.get(''));
    expect(after.get('other')!.get('')).toBe(before.get('other')!.get(''));
    const loose = await answerTallies(em, survey.id, [null]);
    expect(loose.get('other')!.get('')).toBe(1);
    expect(loose.get('concerns')!.get('pay')).toBe(1);
    expect((await answerTallies(em, survey.id, ['d4'])).get('other')!.get('')).toBe(3);
    // A row a change took to 0 is gone, not left at 0.
    const [{ n: zeros }] = await t.app.dataSource.query('SELECT COUNT(*) AS n FROM survey_answer_tallies WHERE n <= 0');
    expect(Number(zeros)).toBe(0);
    await expectTalliesMatchRows(survey);

    // The results as 问卷 结果 shows them: counts from the tallies.
    const fact = await surveyResults(em, t.app.services, survey, loaded(survey).template);
    expect([fact.recipients, fact.respondents]).toEqual([ORG.people.length, people.length + 1]);
    const workload = fact.questions.find((q) => q.key === 'workload')!;
    expect(workload.answered).toBe(people.length + 1);
    expect(Object.fromEntries(workload.options!.map((o) => [o.id, o.count]))).toEqual({ low: 1, ok: 2, high: 2, over: 4 });

    const live = await tallies(survey.id);
    const rebuilt = await t.app.transact((tx) => rebuildSurveyTallies(tx, survey.id));
    expect(rebuilt).toEqual({ answerRows: live.answers.length, departmentRows: live.departments.length });
    expect(await tallies(survey.id)).toEqual(live);
  });

  it('the migration counts the questionnaires published before it', async () => {
    const named = await publish('问卷 发布 quarterly-pulse 范围 技术处 后勤处 截止 3天 实名');
    const anonymous = await publish('问卷 发布 quarterly-pulse 截止 3天');
    for (const [i, person] of ['tech0', 'tech1', 'log0'].entries()) await answer(person, i, `意见${person}`);
    const [first] = pageCards(await chat.inbox('loose'));
    await chat.act('loose', first.cardId, 'submit', { politics: '1', work: '2', workload: 'ok' });
    const live = [await tallies(named.id), await tallies(anonymous.id)];
    expect(live[1].answers.length).toBeGreaterThan(0);

    // Back to the schema before the tallies, then forward again: the tallies are counted from the rows.
    expect(migrations[migrations.length - 1].name).toBe('SurveyTallies1764620000000');
    await t.app.dataSource.undoLastMigration();
    await expect(t.app.dataSource.query('SELECT COUNT(*) FROM survey_answer_tallies')).rejects.toThrow();
    expect(await t.app.migrate()).toEqual(['SurveyTallies1764620000000']);
    expect([await tallies(named.id), await tallies(anonymous.id)]).toEqual(live);
    await expectTalliesMatchRows(named);
    await expectTalliesMatchRows(anonymous);
  });
});

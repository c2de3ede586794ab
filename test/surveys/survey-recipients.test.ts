import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { pageCards, SURVEY_ORG } from './survey-support';
import { SurveyParticipantEntity } from '../../src/db/entities/survey.entity';

/*
 * Who a questionnaire for the whole unit reaches: everyone active, those in no department too
 * (counted under 未归属部门), and someone in two departments once, under the first by id.
 */
const ORG = {
  departments: SURVEY_ORG.departments,
  people: [
    ...SURVEY_ORG.people,
    { id: 'loose', name: '无部门', departmentIds: [] },
    { id: 'both', name: '两处', departmentIds: ['d4', 'd3'] },
  ],
};

describe.each(testDatabases())('questionnaire recipients (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
    await importSampleOrg(t, ORG);
  });
  afterEach(() => t.stop());

  it('the whole unit: people in no department get it, someone in two departments once', async () => {
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 quarterly-pulse 截止 3天'));
    expect(texts(await chat.act('liu', preview.cardId, 'confirm'))).toContain('已发布');

    expect(pageCards(await chat.inbox('loose'))).toHaveLength(1);
    expect(pageCards(await chat.inbox('both'))).toHaveLength(1);
    const participants = await t.app.dataSource.getRepository(SurveyParticipantEntity).find();
    expect(participants).toHaveLength(ORG.people.length);
    const departmentOf = new Map(participants.map((p) => [p.personId, p.departmentId]));
    expect(departmentOf.get('loose')).toBeNull();
    expect(departmentOf.get('both')).toBe('d3');
  });
});

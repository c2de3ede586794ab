import nock from 'nock';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { createDingtalkAdapter } from '../../src/platforms/dingtalk/dingtalk-adapter';
import { createLogger } from '../../src/lib/logger';
import { dingtalkConfig } from '../dingtalk/helpers';
import { importSurveyOrg } from './survey-support';

/*
 * Issue 11 §7 on DingTalk with a card template: every copy is a card instance of its own
 * (outTrackId), which PUT /v1.0/card/instances can update at any time, so at the deadline each copy
 * of a page its person has not submitted shows 已截止; a submitted page keeps 已提交.
 */
const API = 'https://api.dingtalk.test';

type Create = { outTrackId: string; openSpaceId: string; cardData: { cardParamMap: Record<string, string> } };
type Update = { outTrackId: string; cardData: { cardParamMap: Record<string, string> } };

describe.each(testDatabases())('closing a questionnaire on DingTalk (%s)', (database) => {
  let t: TestApp;
  afterEach(async () => {
    nock.cleanAll();
    await t.stop();
  });

  it('updates each unsubmitted copy’s card instance to 已截止, and leaves submitted pages as they are', async () => {
    const creates: Create[] = [];
    const updates: Update[] = [];
    nock(API).persist().post('/v1.0/oauth2/accessToken').reply(200, { accessToken: 'tok', expireIn: 7200 });
    nock(API).persist().post('/v1.0/robot/oToMessages/batchSend').reply(200, {});
    nock(API)
      .persist()
      .post('/v1.0/card/instances/createAndDeliver')
      .reply(200, (_uri, body) => {
        creates.push(body as Create);
        return { success: true, result: { outTrackId: (body as Create).outTrackId, deliverResults: [] } };
      });
    nock(API)
      .persist()
      .put('/v1.0/card/instances')
      .reply(200, (_uri, body) => (updates.push(body as Update), { success: true }));

    const clock = Date.UTC(2026, 11, 1, 2, 0);
    const dingtalk = createDingtalkAdapter({ config: dingtalkConfig({ cardTemplateId: 'tpl.schema' }), log: createLogger('silent'), client: { sleep: async () => {} } });
    t = await startTestApp({ database, appOptions: { now: () => clock, adapters: [dingtalk] }, env: { CONSOLE: 'on' } });
    await importSurveyOrg(t);
    const drain = async () => {
      while ((await t.app.outbox.runOnce()) > 0);
    };
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 special-topic 范围 技术处 截止 3天'));
    const number = /Q-\d{4}-\d{4}/.exec(texts(await chat.act('liu', preview.cardId, 'confirm')))![0];
    await drain();
    const copyOf = (person: string, list: Create[] = creates) => list.find((c) => c.openSpaceId === `dtv1.card//IM_ROBOT.${person}`)!;
    expect(creates).toHaveLength(6);
    const [page1, page2] = JSON.parse((await t.app.dataSource.query('SELECT page_cards FROM surveys WHERE number = ?', [number]))[0].page_cards) as string[];

    // tech0 submits page 1 on the card: that copy shows 已提交, page 2 comes as an instance of its own.
    const tech0Page1 = copyOf('tech0').outTrackId;
    await t.app.inbound.acceptAndProcess({
      id: 'dingtalk:card:tech0:1', type: 'card_action', platform: 'dingtalk', senderId: 'tech0', conversation: { kind: 'direct', id: 'tech0' },
      receivedAt: clock, cardId: page1, action: 'submit', values: { aware: 'full', support: '4', impact: 'neutral' }, cardRef: `card:${tech0Page1}`,
    });
    await drain();
    expect(updates.map((u) => [u.outTrackId, u.cardData.cardParamMap.state])).toEqual([[tech0Page1, '已提交']]);
    const tech0Page2 = copyOf('tech0', creates.slice(6)).outTrackId;
    expect(creates.slice(6).map((c) => c.cardData.cardParamMap.cardId)).toEqual([page2]);

    await chat.say('liu', `问卷 截止 ${number}`);
    await drain();
    const closes = updates.slice(1);
    const expected = [...['tech1', 'tech2', 'tech3', 'tech4', 'tech5'].map((p) => copyOf(p).outTrackId), tech0Page2];
    expect(closes.map((u) => u.outTrackId).sort()).toEqual(expected.sort());
    expect(closes.every((u) => u.cardData.cardParamMap.state === '已截止' && u.cardData.cardParamMap.hasState === 'true')).toBe(true);
    expect(closes.map((u) => u.outTrackId)).not.toContain(tech0Page1);
  });
});

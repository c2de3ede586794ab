import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { SurveyAnswerEntity, SurveyEntity } from '../../src/db/entities/survey.entity';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { importSurveyOrg, pageCards } from './survey-support';

/** The deadline is a durable timer: a restart neither loses nor repeats it. */
describe('questionnaire deadline across a restart', () => {
  it('closes once, in the instance that runs after the deadline, and refuses late answers', async () => {
    let clock = Date.UTC(2026, 11, 1, 2, 0);
    const first = await startTestApp({ appOptions: { now: () => clock } });
    await importSurveyOrg(first);
    const chat = consoleClient(first);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 special-topic 范围 技术处 截止 30分钟'));
    const number = /Q-\d{4}-\d{4}/.exec(texts(await chat.act('liu', preview.cardId, 'confirm')))![0];
    const [card] = pageCards(await chat.inbox('tech0'));
    await first.app.stop();

    // Down over the deadline; the next instance runs the due deadline at start.
    clock += 45 * 60_000;
    const second = await startTestApp({ shareDatabaseOf: first, appOptions: { now: () => clock } });
    try {
      expect(await second.app.timers.runDue(['survey.deadline'])).toBe(1);
      expect(await second.app.timers.runDue(['survey.deadline'])).toBe(0);
      const survey = await second.app.dataSource.getRepository(SurveyEntity).findOneByOrFail({ number });
      expect(survey.status).toBe('closed');
      const closings = await second.app.dataSource.getRepository(LedgerEntryEntity).countBy({ kind: 'survey.closed', subjectId: number });
      expect(closings).toBe(1);
      const late = consoleClient(second);
      expect(texts(await late.act('tech0', card.cardId, 'submit', { aware: 'full', support: '3', impact: 'neutral' }))).toContain('已截止');
      expect(texts(await late.inbox('liu'))).toContain(`问卷 ${number} 已截止`);
      // A WeCom copy the deadline could not reach (no click had given it a response code): the late click's code updates it.
      await second.app.inbound.acceptAndProcess({
        id: 'wecom:evt:tech1:late', type: 'card_action', platform: 'wecom', senderId: 'tech1', conversation: { kind: 'direct', id: 'tech1' },
        receivedAt: clock, cardId: card.cardId, action: 'submit', values: { aware: 'full' }, cardRef: `${card.cardId}@x|LATE-RC`,
      });
      const updates = await second.app.dataSource.getRepository(OutboundMessageEntity).findBy({ kind: 'card_update', recipient: 'user:tech1' });
      expect(updates.map((u) => JSON.parse(second.app.cipher.decrypt(u.contentEnc)).card.state)).toEqual(['已截止']);
      expect(await second.app.dataSource.getRepository(SurveyAnswerEntity).count()).toBe(0);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});

import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard } from '../helpers/console-client';
import { fakePlatform } from '../helpers/fake-platform';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';

/** Issue §8: a questionnaire's fan-out queued first never holds up an immediate report's alert. */
describe('a questionnaire fan-out never delays an alert', () => {
  let t: TestApp;
  afterEach(() => t.stop());

  it('sends an 即时 alert before a queued 1,000-recipient fan-out has gone out', async () => {
    const fake = fakePlatform({ latencyMs: 100 });
    t = await startTestApp({ appOptions: { adapters: [fake.adapter] }, env: { CONSOLE: 'on' } });
    await importSampleOrg(t, {
      departments: [...SAMPLE_ORG.departments, { id: 'd9', name: '业务处', parentId: 'root' }],
      people: [...SAMPLE_ORG.people, ...Array.from({ length: 1000 }, (_, i) => ({ id: `s${i}`, name: `职工${i}`, departmentIds: ['d9'] }))],
    });
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 quarterly-pulse 范围 业务处 截止 3天'));
    await chat.act('liu', preview.cardId, 'confirm');
    // The fan-out is queued (nothing sent yet); then an immediate report comes in.
    expect(fake.calls).toHaveLength(0);
    await chat.say('zhangsan', '即时 有同志反映将有人员聚集上访');
    await t.app.timers.runDue(['escalation.step']);
    while ((await t.app.outbox.runOnce()) > 0);
    const alertAt = fake.calls.findIndex((c) => c.recipients.includes('user:wang') && c.content.kind === 'card' && c.content.card.template === 'immediate-alert');
    const fanOut = fake.calls.map((c, i) => ({ c, i })).filter(({ c }) => c.content.kind === 'card' && c.content.card.template === 'survey-page');
    expect(alertAt).toBeGreaterThanOrEqual(0);
    expect(fanOut.flatMap(({ c }) => c.recipients)).toHaveLength(1000);
    expect(fanOut).toHaveLength(1);
    expect(alertAt).toBeLessThan(fanOut[0].i);
    expect(fake.calls[alertAt].at).toBeLessThanOrEqual(fanOut[0].c.at);
  });
});

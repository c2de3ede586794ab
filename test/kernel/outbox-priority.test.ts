import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { fakePlatform } from '../helpers/fake-platform';
import { enqueueOutbound } from '../../src/core/outbox';

describe.each(testDatabases())('outbox priority (%s)', (database) => {
  let t: TestApp;
  afterEach(() => t.stop());

  it('sends an alert written after a queued fan-out ahead of it, and replies ahead of bulk', async () => {
    const fake = fakePlatform();
    t = await startTestApp({ database, appOptions: { adapters: [fake.adapter] } });
    const now = Date.now();
    await t.app.transact(async (em) => {
      for (let i = 0; i < 250; i++) {
        await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: `staff${i}` }], content: { kind: 'text', text: `问卷 ${i}` }, priority: 'bulk' }, now);
      }
      await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'liu' }], content: { kind: 'text', text: '回复' } }, now);
      await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'wang' }], content: { kind: 'text', text: '即时报告' }, priority: 'alert' }, now);
    });
    const texts = () => fake.calls.map((c) => (c.content.kind === 'text' ? c.content.text : ''));
    await t.app.outbox.runOnce();
    expect(texts().slice(0, 2)).toEqual(['即时报告', '回复']);
    // An alert written while the fan-out is still going out is the next call made.
    const sentSoFar = fake.calls.length;
    await t.app.transact((em) =>
      enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'li' }], content: { kind: 'text', text: '第二次即时报告' }, priority: 'alert' }, Date.now()),
    );
    while ((await t.app.outbox.runOnce()) > 0);
    expect(texts()[sentSoFar]).toBe('第二次即时报告');
    expect(texts()).toHaveLength(253);
    expect(texts().filter((text) => text.startsWith('问卷'))).toHaveLength(250);
  });
});

import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { fakePlatform } from '../helpers/fake-platform';
import { enqueueOutbound } from '../../src/core/outbox';
import { waitFor } from '../escalation/support';

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

  it('sends an alert written while a claimed bulk batch is going out with the next call, not after the batch', async () => {
    const fake = fakePlatform({ sendRateLimitPerSecond: 20 });
    t = await startTestApp({ database, appOptions: { adapters: [fake.adapter] } });
    const now = Date.now();
    await t.app.transact(async (em) => {
      for (let i = 0; i < 40; i++) {
        await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: `staff${i}` }], content: { kind: 'text', text: `问卷提醒 ${i}` }, priority: 'bulk' }, now);
      }
    });
    const texts = () => fake.calls.map((c) => (c.content.kind === 'text' ? c.content.text : ''));
    const round = t.app.outbox.runOnce();
    // The batch is being sent (the workers hold claimed rows); an immediate report's alert is written.
    await waitFor('the bulk batch to be going out', () => fake.calls.length >= 3);
    await t.app.transact((em) =>
      enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'wang' }], content: { kind: 'text', text: '即时报告' }, priority: 'alert' }, Date.now()),
    );
    const sentBefore = fake.calls.length;
    t.app.outbox.kick();
    await round;
    while ((await t.app.outbox.runOnce()) > 0);
    // At most the one call whose pacer slot was already granted goes before it (the platform's 20 calls/s still hold).
    expect(texts().indexOf('即时报告')).toBeGreaterThanOrEqual(sentBefore);
    expect(texts().indexOf('即时报告')).toBeLessThanOrEqual(sentBefore + 1);
    expect(texts().filter((text) => text.startsWith('问卷提醒'))).toHaveLength(40);
    expect(new Set(texts()).size).toBe(41);
  });
});

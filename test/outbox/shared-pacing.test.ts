import { createSharedPacer, sharedSpacingMs } from '../../src/core/shared-pacer';
import { enqueueOutbound } from '../../src/core/outbox';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { fakePlatform } from '../helpers/fake-platform';
import { waitFor } from '../escalation/support';

jest.setTimeout(120_000);

describe.each(testDatabases())('shared pacing through the database (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
  });
  afterEach(async () => {
    await t.stop();
  });

  it('two pacers on one bucket hand out one evenly spaced schedule: no two calls closer than the spacing, none lost', async () => {
    let clock = 1_800_000_000_000;
    const granted: number[] = [];
    // A fake clock that jumps to each reserved time instead of sleeping.
    const sleep = async (ms: number) => {
      const until = clock + ms;
      await new Promise((resolve) => setImmediate(resolve));
      clock = Math.max(clock, until);
    };
    const make = () => createSharedPacer({ bucket: 'outbox:wecom', ratePerSecond: 50, transact: t.app.transact, clock: () => clock, sleep });
    const [a, b] = [make(), make()];
    // Calls alternate between the two instances' pacers, in the order of a busy pair of instances.
    for (let i = 0; i < 60; i++) {
      for (const pacer of i % 3 === 0 ? [a, a, b] : [b, a]) {
        await pacer.take();
        granted.push(clock);
      }
    }
    expect(granted).toHaveLength(140);
    const sorted = [...granted].sort((x, y) => x - y);
    const gaps = sorted.slice(1).map((at, i) => at - sorted[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(sharedSpacingMs(50) - 0.01);
    // In any second there are at most limit - 1 calls.
    for (const start of sorted) expect(sorted.filter((at) => at >= start && at < start + 1000).length).toBeLessThanOrEqual(49);
  });
});

// Several instances share a platform's limit only on MySQL/MariaDB (SQLite serves one instance), so this runs where TEST_MYSQL_URL is set.
(process.env.TEST_MYSQL_URL ? describe : describe.skip)('two instances on one MariaDB against a platform that enforces its limit', () => {
  it('deliver every message once and are never refused', async () => {
    const fake = fakePlatform({ sendRateLimitPerSecond: 50, enforcedLimitPerSecond: 50, latencyMs: 20 });
    const first = await startTestApp({ database: 'mysql', env: { INSTANCE_ID: 'node-1' }, appOptions: { adapters: [fake.adapter] } });
    const second = await startTestApp({ shareDatabaseOf: first, env: { INSTANCE_ID: 'node-2' }, appOptions: { adapters: [fake.adapter] } });
    try {
      await first.app.transact(async (em) => {
        for (let i = 0; i < 200; i++) {
          await enqueueOutbound(em, first.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: `u${i}` }], content: { kind: 'text', text: `通知 ${i}` } }, Date.now());
        }
      });
      first.app.outbox.start();
      second.app.outbox.start();
      const repo = first.app.dataSource.getRepository(OutboundMessageEntity);
      await waitFor('every message to be sent', async () => (await repo.countBy({ status: 'sent' })) === 200, 60_000);
      expect(fake.rejected).toEqual([]);
      const texts = fake.calls.map((c) => (c.content.kind === 'text' ? c.content.text : ''));
      expect(new Set(texts).size).toBe(200);
      expect(texts).toHaveLength(200);
    } finally {
      await second.app.stop();
      await first.stop();
    }
  });
});

import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { nextCounterValue } from '../../src/core/counters';
import { appendLedger, verifyLedger } from '../../src/core/ledger';
import type { BotEvent } from '../../src/core/events';
import { InboundEventEntity, OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { enqueueOutbound } from '../../src/core/outbox';

describe.each(testDatabases())('migrations and repositories on %s', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
  });
  afterEach(() => t.stop());

  it('creates every table, and running migrations again changes nothing', async () => {
    const tables = ['departments', 'people', 'person_departments', 'role_grants', 'insights', 'counters', 'inbound_events', 'outbound_messages', 'cards', 'card_deliveries', 'ledger_entries'];
    for (const table of tables) await expect(t.app.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`)).resolves.toHaveLength(1);
    expect(await t.app.migrate()).toEqual([]);
  });

  it('hands out distinct counter values to concurrent transactions', async () => {
    const values = await Promise.all(Array.from({ length: 8 }, () => t.app.transact((em) => nextCounterValue(em, 'insight-2026'))));
    expect([...values].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('keeps the ledger chain unbroken under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => t.app.transact((em) => appendLedger(em, { kind: 'test', subjectId: String(i) }, 1000 + i))));
    expect(await verifyLedger(t.app.dataSource)).toEqual({ ok: true, entries: 6 });
  });

  it('stores an inbound event once, however often the platform redelivers it', async () => {
    const event: BotEvent = {
      id: 'wecom:msg:7243290471234567890',
      platform: 'console',
      type: 'message',
      text: '帮助',
      senderId: 'someone',
      conversation: { kind: 'direct', id: 'someone' },
      receivedAt: Date.now(),
    };
    const results = await Promise.all([t.app.inbound.acceptAndProcess(event), t.app.inbound.acceptAndProcess(event)]);
    expect(results.sort()).toEqual([false, true]);
    expect(await t.app.inbound.acceptAndProcess(event)).toBe(false);
    const rows = await t.app.dataSource.getRepository(InboundEventEntity).find();
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('processed');
    expect(rows[0].payloadEnc).not.toContain('帮助');
    expect(await t.app.dataSource.getRepository(OutboundMessageEntity).countBy({ eventId: event.id })).toBe(1);
  });

  it('rolls an outbound message back with the change that caused it', async () => {
    await expect(
      t.app.transact(async (em) => {
        await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'u1' }], content: { kind: 'text', text: 'x' } }, Date.now());
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await t.app.dataSource.getRepository(OutboundMessageEntity).count()).toBe(0);
  });
});

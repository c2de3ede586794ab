import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { fakePlatform, type FakePlatform } from '../helpers/fake-platform';
import { backoffMs, enqueueOutbound, FAN_OUT_ROW_MIN_RECIPIENTS, pendingRecipientsOfCard } from '../../src/core/outbox';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { EscalationEventEntity } from '../../src/db/entities/escalation.entity';
import { SealedReplyEntity } from '../../src/db/entities/suggestion.entity';
import { testClock, waitFor } from '../escalation/support';

const MINUTES = 60_000;

describe('backoffMs', () => {
  it('doubles with each attempt, keeps half of it as jitter, and stops growing at ten minutes', () => {
    expect(backoffMs(1, () => 0)).toBe(1000);
    expect(backoffMs(1, () => 1)).toBe(2000);
    expect(backoffMs(3, () => 0)).toBe(4000);
    expect(backoffMs(3, () => 1)).toBe(8000);
    expect(backoffMs(30, () => 1)).toBe(10 * MINUTES);
  });
});

describe.each(testDatabases())('outbox dispatcher against a fake platform (%s)', (database) => {
  let t: TestApp;
  let fake: FakePlatform;
  let clock: ReturnType<typeof testClock>;
  let chat: ReturnType<typeof consoleClient>;

  async function start(env: Record<string, string> = {}, platform = fakePlatform()) {
    fake = platform;
    clock = testClock();
    t = await startTestApp({ database, env: { INSTANCE_ID: 'test-instance', ...env }, appOptions: { adapters: [fake.adapter], now: clock.now } });
    chat = consoleClient(t);
    await importSampleOrg(t);
  }
  afterEach(() => t.stop());

  const rows = () => t.app.dataSource.getRepository(OutboundMessageEntity).find({ where: { platform: 'wecom' }, order: { id: 'ASC' } });
  const send = (userId: string, text: string) =>
    t.app.transact((em) => enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId }], content: { kind: 'text', text } }, clock.now()));

  it('delivers the alert cards, records their delivery, and updates the platform copies on acknowledgement', async () => {
    await start();
    const reply = await chat.sayText('zhangsan', '即时 有同志扬言要到上级机关集体上访');
    const number = /S-\d{4}-\d{4}/.exec(reply)![0];
    await t.app.escalations.runDue();
    await t.app.outbox.runOnce();
    expect(fake.deliveredTo('wang')).toEqual([`【即时报告】${number}`]);
    expect(fake.deliveredTo('liu')).toEqual([`【即时报告】${number}`]);
    expect((await rows()).every((r) => r.status === 'sent')).toBe(true);
    const delivered = await t.app.dataSource.getRepository(EscalationEventEntity).findBy({ kind: 'delivered' });
    expect(delivered.map((e) => [e.personId, e.detail]).sort()).toEqual([
      ['liu', 'wecom'],
      ['wang', 'wecom'],
    ]);

    await chat.say('wang', `确认 ${number}`);
    await t.app.outbox.runOnce();
    expect(fake.updates.map((u) => u.recipient).sort()).toEqual(['user:liu', 'user:wang']);
    for (const update of fake.updates) expect(update.card.state).toMatch(/^已确认 · 王书记/);
    expect(fake.updates.map((u) => u.ref).every((ref) => ref.startsWith('ref-'))).toBe(true);
    expect(fake.deliveredTo('zhangsan').join('\n')).toContain(`${number} 已由党组(党委)书记 王书记`);
  });

  it('retries a platform 5xx with growing backoff until the platform accepts', async () => {
    await start();
    fake.answerNext('server-error', 'server-error');
    await send('qianwu', '请于周五前提交材料');
    await t.app.outbox.runOnce();
    let [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['pending', 1]);
    const firstWait = row.nextAttemptAt - clock.now();
    expect(firstWait).toBeGreaterThanOrEqual(900);

    // Not due yet: nothing is tried.
    await t.app.outbox.runOnce();
    expect(fake.rejected).toHaveLength(1);

    clock.advance(15 * MINUTES);
    await t.app.outbox.runOnce();
    [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['pending', 2]);
    expect(row.nextAttemptAt - clock.now()).toBeGreaterThanOrEqual(1900);

    clock.advance(15 * MINUTES);
    await t.app.outbox.runOnce();
    [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['sent', 3]);
    expect(fake.deliveredTo('qianwu')).toEqual(['请于周五前提交材料']);
  });

  it('gives up after OUTBOX_MAX_ATTEMPTS and alerts the office without the message text', async () => {
    await start({ OUTBOX_MAX_ATTEMPTS: '3' });
    fake.answerWith((request) => (request.recipients.some((r) => r.kind === 'user' && r.userId === 'qianwu') ? 'server-error' : 'ok'));
    await send('qianwu', '涉及个人隐私的内容');
    for (let i = 0; i < 3; i++) {
      await t.app.outbox.runOnce();
      clock.advance(15 * MINUTES);
    }
    const [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['dead', 3]);
    await t.app.outbox.runOnce();
    const alert = fake.deliveredTo('liu').join('\n');
    expect(alert).toContain('消息未送达');
    expect(alert).toContain('钱五');
    expect(alert).toContain('重试 3 次');
    expect(alert).not.toContain('隐私');
    const readiness = await t.request.get('/readyz');
    expect(readiness.body.checks.outbox.dead).toBe(1);
  });

  it('retries a message refused for a configuration error, so it goes out once the deployer fixes the setting', async () => {
    await start();
    fake.answerNext('misconfigured');
    await send('qianwu', '请于周五前提交材料');
    await t.app.outbox.runOnce();
    let [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['pending', 1]);
    clock.advance(15 * MINUTES);
    await t.app.outbox.runOnce();
    [row] = await rows();
    expect(row.status).toBe('sent');
    expect(fake.deliveredTo('qianwu')).toEqual(['请于周五前提交材料']);
  });

  it('alerts the office about an undelivered reply to an anonymous message without naming its recipient', async () => {
    await start();
    fake.answerWith((request) => (request.recipients.some((r) => r.kind === 'user' && r.userId === 'qianwu') ? 'refused' : 'ok'));
    const eventId = 'wecom:msg:anonymous-turn';
    await t.app.transact(async (em) => {
      await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'qianwu' }], content: { kind: 'text', text: '回执码' }, eventId }, clock.now());
      await em.insert(SealedReplyEntity, { eventId });
    });
    await t.app.outbox.runOnce();
    await t.app.outbox.runOnce();
    const alert = fake.deliveredTo('liu').join('\n');
    expect(alert).toContain('消息未送达');
    expect(alert).toContain('匿名');
    expect(alert).not.toMatch(/钱五|qianwu|第 \d+ 号/);
  });

  it('dead-letters a refusal that is not worth retrying at once, and does not alert about a dead alert', async () => {
    await start();
    fake.answerWith(() => 'refused');
    await send('qianwu', '通知');
    await t.app.outbox.runOnce();
    await t.app.outbox.runOnce();
    clock.advance(15 * MINUTES);
    await t.app.outbox.runOnce();
    const all = await rows();
    // The message, then the office's alert about it: both dead, and no alert about the alert.
    expect(all.map((r) => [r.recipient, r.status, r.attempts])).toEqual([
      ['user:qianwu', 'dead', 1],
      ['user:liu', 'dead', 1],
    ]);
  });

  it('pauses on a rate-limit answer and retries without counting it as a failed attempt', async () => {
    await start({ OUTBOX_MAX_ATTEMPTS: '1' });
    fake.answerNext('rate-limited', 'rate-limited');
    await send('qianwu', '会议改到下午三点');
    await t.app.outbox.runOnce();
    let [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['pending', 0]);
    clock.advance(MINUTES);
    await t.app.outbox.runOnce();
    clock.advance(MINUTES);
    await t.app.outbox.runOnce();
    [row] = await rows();
    expect([row.status, row.attempts]).toEqual(['sent', 1]);
    expect(fake.rejected.map((r) => r.answer)).toEqual(['rate-limited', 'rate-limited']);
  });

  it("paces calls at the platform's advertised rate, so a platform enforcing that limit never refuses one", async () => {
    await start({}, fakePlatform({ sendRateLimitPerSecond: 40, enforcedLimitPerSecond: 40 }));
    for (let i = 0; i < 50; i++) await send(`u${i}`, `第${i}条`);
    await t.app.outbox.runOnce();
    expect(fake.calls).toHaveLength(50);
    expect(fake.rejected).toEqual([]);
  });

  it("waits for another instance's lease to expire, but resumes its own claims from before a restart at once", async () => {
    await start({ OUTBOX_LEASE: '60s' });
    await send('qianwu', '甲');
    await send('lisi', '乙');
    const [first, second] = await rows();
    const repo = t.app.dataSource.getRepository(OutboundMessageEntity);
    await repo.update({ id: first.id }, { leaseOwner: 'other-host:7/abcd1234-1', leaseUntil: clock.now() + 60_000 });
    await repo.update({ id: second.id }, { leaseOwner: 'test-instance/0ldb00t0-9', leaseUntil: clock.now() + 60_000 });

    t.app.outbox.start();
    await waitFor('own old claim to be sent', () => fake.deliveredTo('lisi').length === 1);
    await t.app.outbox.stop();
    expect(fake.deliveredTo('qianwu')).toEqual([]);

    clock.advance(61_000);
    await t.app.outbox.runOnce();
    expect(fake.deliveredTo('qianwu')).toEqual(['甲']);
  });

  it('reports the backlog and the age of the oldest undelivered message on /readyz', async () => {
    await start();
    fake.answerWith(() => 'server-error');
    await send('qianwu', '甲');
    await send('lisi', '乙');
    await t.app.outbox.runOnce();
    clock.advance(5_000);
    const response = await t.request.get('/readyz');
    expect(response.body.checks.outbox.pending).toBe(2);
    expect(response.body.checks.outbox.oldestAgeMs).toBeGreaterThanOrEqual(5_000);
    expect(response.body.checks.outbox.dead).toBe(0);
  });

  it('writes a large fan-out group as one row and sends it to each recipient once, in one call, after expanding it', async () => {
    await start();
    const people = Array.from({ length: FAN_OUT_ROW_MIN_RECIPIENTS + 150 }, (_, i) => `bulk${String(i).padStart(3, '0')}`);
    const card = { cardId: 'card-fanout', template: 'notice', title: '通知', body: '请阅', fields: [], actions: [], state: null } as never;
    const small = people.slice(0, FAN_OUT_ROW_MIN_RECIPIENTS - 1);
    await t.app.transact(async (em) => {
      await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: people.map((userId) => ({ kind: 'user', userId })), content: { kind: 'card', card }, priority: 'bulk' }, clock.now());
      await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: small.map((userId) => ({ kind: 'user', userId })), content: { kind: 'text', text: '小范围通知' }, priority: 'bulk' }, clock.now());
    });
    // The large group is one row until the dispatcher takes it; the smaller one is a row per person.
    const written = await rows();
    expect(written.filter((r) => r.kind === 'fanout')).toHaveLength(1);
    expect(written.filter((r) => r.kind === 'send')).toHaveLength(small.length);
    expect(written.find((r) => r.kind === 'fanout')!.recipient).not.toContain('bulk');
    expect(await t.app.transact((em) => pendingRecipientsOfCard(em, t.app.cipher, 'card-fanout'))).toEqual({ people: people.length, calls: 1 });

    await t.app.outbox.runOnce();
    const cardCalls = fake.calls.filter((c) => c.content.kind === 'card');
    expect(cardCalls).toHaveLength(1);
    expect([...cardCalls[0].recipients].sort()).toEqual(people.map((p) => `user:${p}`));
    const after = await rows();
    expect(after.filter((r) => r.kind === 'fanout')).toHaveLength(0);
    expect(after.filter((r) => r.cardId === 'card-fanout' && r.status === 'sent')).toHaveLength(people.length);
    expect(after.every((r) => r.status === 'sent')).toBe(true);
    await t.app.outbox.runOnce();
    expect(fake.calls.filter((c) => c.content.kind === 'card')).toHaveLength(1);
  });
});

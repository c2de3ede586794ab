import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { createLogger } from '../../src/lib/logger';
import { SuggestionEntity } from '../../src/db/entities/suggestion.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { InboundEventEntity, OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { SealedReplyEntity } from '../../src/db/entities/suggestion.entity';
import { enqueueOutbound } from '../../src/core/outbox';
import { purgeDeliveredSealedReplies } from '../../src/modules/suggestions/anonymity';
import { changedRows, readableRows } from './db-snapshot';

describe.each(testDatabases())('匿名意见: no identity stored anywhere (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  const logLines: string[] = [];

  beforeEach(async () => {
    logLines.length = 0;
    const log = createLogger('trace', { write: (line: string) => void logLines.push(line) } as never);
    t = await startTestApp({ database, appOptions: { log } });
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('forgets the sender of an anonymous message even when it is refused as too long', async () => {
    const before = await readableRows(t.app.dataSource, t.app.cipher);
    expect(await chat.sayText('lisi', `匿名意见 ${'长'.repeat(4001)}`)).toContain('内容过长');
    await chat.say('wang', '我的');
    const written = changedRows(before, await readableRows(t.app.dataSource, t.app.cipher));
    expect(written.filter((row) => row.includes('lisi') || row.includes('李四'))).toEqual([]);
    expect(await t.app.dataSource.getRepository(SuggestionEntity).count()).toBe(0);
  });

  it('gives the sender a receipt, lets the office answer, shows the answer by receipt code — and no table, log line or outbound message names the sender', async () => {
    const before = await readableRows(t.app.dataSource, t.app.cipher);
    logLines.length = 0;

    const receipt = texts(await chat.say('lisi', '匿名意见 希望公开职称评审打分细则'));
    const code = /[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}/.exec(receipt)?.[0];
    expect(code).toBeDefined();
    expect(receipt).toContain('回执码');

    const officeInbox = texts(await chat.inbox('liu'));
    expect(officeInbox).toContain('希望公开职称评审打分细则');
    expect(officeInbox).not.toContain('李四');
    const number = /Y-\d{4}-\d{4}/.exec(officeInbox)![0];

    expect(await chat.sayText('liu', `答复 ${number} 打分细则将于下月在内网公开`)).toContain('凭回执码');
    const status = await chat.sayText('lisi', `查询 ${code!.toLowerCase()}`);
    expect(status).toContain('已答复');
    expect(status).toContain('打分细则将于下月在内网公开');
    // Any later turn forgets the delivered replies of the anonymous turns.
    await chat.say('wang', '我的');

    const suggestion = await t.app.dataSource.getRepository(SuggestionEntity).findOneByOrFail({ number });
    expect(suggestion.senderEnc).toBeNull();
    expect(suggestion.receiptHash).not.toContain(code!.replace(/-/g, ''));
    const ledger = await t.app.dataSource.getRepository(LedgerEntryEntity).findOneByOrFail({ kind: 'suggestion.received', subjectId: number });
    expect(ledger.actorId).toBeNull();

    const written = changedRows(before, await readableRows(t.app.dataSource, t.app.cipher));
    expect(written.some((row) => row.includes('希望公开职称评审打分细则'))).toBe(true); // the search does read the new rows
    for (const needle of ['lisi', '李四']) {
      expect(written.filter((row) => row.includes(needle))).toEqual([]);
      expect(logLines.filter((line) => line.includes(needle))).toEqual([]);
    }
    const outbound = await t.app.dataSource.getRepository(OutboundMessageEntity).find();
    expect(outbound.filter((m) => m.recipient === 'user:lisi')).toEqual([]);
    expect(await chat.inbox('lisi')).toEqual([]);
  });

  it('leaves no trace of a sender whose very first message is anonymous', async () => {
    const before = await readableRows(t.app.dataSource, t.app.cipher);
    const receipt = texts(await chat.say('newcomer', '匿名意见 第一次来，反映一下加班问题'));
    expect(receipt).toContain('回执码');
    await chat.say('wang', '我的');
    const written = changedRows(before, await readableRows(t.app.dataSource, t.app.cipher));
    expect(written.some((row) => row.includes('反映一下加班问题'))).toBe(true);
    expect(written.filter((row) => row.includes('newcomer'))).toEqual([]);
    // Their next, ordinary message registers them as usual.
    expect(await chat.sayText('newcomer', '帮助')).toContain('干部职工');
  });

  it('still recognises a redelivery of the anonymous message, though its sender was forgotten', async () => {
    const send = () => t.request.post('/console/messages').send({ from: 'lisi', text: '匿名意见 建议增加体检项目', id: 'redelivered-1' }).expect(200);
    expect((await send()).body.duplicate).toBeUndefined();
    expect((await send()).body.duplicate).toBe(true);
    expect(await t.app.dataSource.getRepository(SuggestionEntity).count()).toBe(1);
    const stored = await t.app.dataSource.getRepository(InboundEventEntity).findOneByOrFail({ id: 'console:redelivered-1' });
    expect(stored.senderId).toBe('');
    expect(t.app.cipher.decrypt(stored.payloadEnc)).not.toContain('lisi');
  });

  it('keeps an anonymous turn’s reply until the platform has it, and deletes it once sent', async () => {
    const eventId = 'wecom:anonymous-turn';
    await t.app.transact(async (em) => {
      await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: 'lisi' }], content: { kind: 'text', text: '回执码' }, eventId }, Date.now());
      await em.insert(SealedReplyEntity, { eventId });
    });
    const outbox = t.app.dataSource.getRepository(OutboundMessageEntity);
    expect(await t.app.transact((em) => purgeDeliveredSealedReplies(em))).toBe(0);
    expect(await outbox.countBy({ eventId })).toBe(1);
    await outbox.update({ eventId }, { status: 'sent', sentAt: Date.now() });
    expect(await t.app.transact((em) => purgeDeliveredSealedReplies(em))).toBe(1);
    expect(await outbox.countBy({ eventId })).toBe(0);
    expect(await t.app.dataSource.getRepository(SealedReplyEntity).count()).toBe(0);
  });

  it('cannot be unsealed, and an unknown receipt code finds nothing', async () => {
    await chat.say('lisi', '匿名意见 食堂饭菜偏咸');
    const number = /Y-\d{4}-\d{4}/.exec(texts(await chat.inbox('liu')))![0];
    expect(await chat.sayText('wang', `解封 ${number} 需要核实`)).toContain('无法解封');
    expect(await chat.sayText('lisi', '查询 AAAA-BBBB-CCCC')).toContain('没有找到');
    expect(await chat.sayText('lisi', '查询 乱码')).toContain('没有找到');
    expect(await t.app.dataSource.getRepository(LedgerEntryEntity).countBy({ kind: 'suggestion.unsealed' })).toBe(0);
  });
});

import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { SuggestionEntity } from '../../src/db/entities/suggestion.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { verifyLedger } from '../../src/core/ledger';

describe.each(testDatabases())('意见: a confidential suggestion with a sealed sender (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let code: string;
  let number: string;

  beforeEach(async () => {
    t = await startTestApp({ database });
    chat = consoleClient(t);
    await importSampleOrg(t);
    const receipt = await chat.sayText('lisi', '意见 建议食堂延长晚餐供应时间');
    code = /[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}/.exec(receipt)![0];
    number = /Y-\d{4}-\d{4}/.exec(texts(await chat.inbox('liu')))![0];
  });
  afterEach(() => t.stop());

  it('tells the office what was said but not who said it, and keeps the sender out of the ledger', async () => {
    const office = texts(await chat.inbox('liu'));
    expect(office).toContain('建议食堂延长晚餐供应时间');
    expect(office).toContain('实名保密意见');
    expect(office).not.toContain('李四');
    expect(office).not.toContain('lisi');
    const [row] = await t.app.dataSource.getRepository(SuggestionEntity).find();
    expect(row.senderEnc).not.toContain('lisi');
    expect(row.textEnc).not.toContain('食堂');
    const entries = await t.app.dataSource.getRepository(LedgerEntryEntity).findBy({ subjectType: 'suggestion' });
    expect(entries.map((e) => [e.kind, e.actorId])).toEqual([['suggestion.received', null]]);
    expect(entries.every((e) => !e.data.includes('lisi'))).toBe(true);
  });

  it('shows the status by receipt code, and the office answer reaches the sender without naming them', async () => {
    expect(await chat.sayText('lisi', `查询 ${code}`)).toContain('尚未答复');
    expect(await chat.sayText('liu', `答复 ${number} 已协调食堂，晚餐供应延长至19:30`)).toContain('身份仍然密封');
    expect(texts(await chat.inbox('lisi'))).toContain('已协调食堂，晚餐供应延长至19:30');
    expect(await chat.sayText('lisi', `/status ${code}`)).toContain('已答复');
    expect(texts(await chat.inbox('liu'))).not.toContain('李四');
  });

  it('lets the office and leaders re-read a suggestion with 查看 — what was said, never who — and records each read', async () => {
    for (const reader of ['liu', 'zhao', 'wang']) {
      const shown = await chat.sayText(reader, `查看 ${number.toLowerCase()}`);
      expect(shown).toContain('建议食堂延长晚餐供应时间');
      expect(shown).toContain('尚未答复');
      expect(shown).not.toContain('李四');
      expect(shown).not.toContain('lisi');
    }
    for (const other of ['zhangsan', 'lisi']) expect(await chat.sayText(other, `查看 ${number}`)).not.toContain('食堂');
    const reads = await t.app.dataSource.getRepository(LedgerEntryEntity).findBy({ kind: 'suggestion.read', subjectId: number });
    expect(reads.map((r) => r.actorId).sort()).toEqual(['liu', 'wang', 'zhao']);
  });

  it('lets only the secretary unseal, with a reason that becomes a ledger entry, and tells the sender', async () => {
    for (const other of ['liu', 'zhao', 'zhangsan', 'lisi']) expect(await chat.sayText(other, `解封 ${number} 想知道是谁`)).toContain('仅限');
    expect(await chat.sayText('wang', `解封 ${number}`)).toContain('必须登记理由');
    expect(await t.app.dataSource.getRepository(LedgerEntryEntity).countBy({ kind: 'suggestion.unsealed' })).toBe(0);

    const unsealed = await chat.sayText('wang', `解封 ${number} 反映问题涉及安全隐患，需当面核实`);
    expect(unsealed).toContain('李四');
    const entry = await t.app.dataSource.getRepository(LedgerEntryEntity).findOneByOrFail({ kind: 'suggestion.unsealed' });
    expect(entry).toMatchObject({ actorId: 'wang', subjectId: number });
    expect(JSON.parse(entry.data)).toEqual({ reason: '反映问题涉及安全隐患，需当面核实' });
    expect(texts(await chat.inbox('lisi'))).toContain('理由：反映问题涉及安全隐患，需当面核实');
    expect(await chat.sayText('lisi', `查询 ${code}`)).toContain('解封');
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: true });
  });

  it('answers bad input with guidance and stores nothing', async () => {
    expect(await chat.sayText('lisi', '意见')).toContain('请在「意见」后写明内容');
    expect(await chat.sayText('lisi', '匿名意见')).toContain('请在「匿名意见」后写明内容');
    expect(await chat.sayText('liu', '答复 Y-2026-9999 好的')).toContain('找不到意见');
    expect(await chat.sayText('liu', `答复 ${number}`)).toContain('请写明答复内容');
    expect(await chat.sayText('lisi', `答复 ${number} 自问自答`)).toContain('仅限');
    expect(await t.app.dataSource.getRepository(SuggestionEntity).count()).toBe(1);
    expect((await t.app.dataSource.getRepository(SuggestionEntity).findOneByOrFail({ number })).status).toBe('received');
  });
});

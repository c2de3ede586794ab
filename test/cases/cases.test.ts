import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { InsightEntity } from '../../src/db/entities/insight.entity';
import { InsightActionEntity } from '../../src/db/entities/case.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';

describe.each(testDatabases())('case follow-up: 定性, 处置, 办结, 查看 (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let number: string;

  const insight = () => t.app.dataSource.getRepository(InsightEntity).findOneByOrFail({ number });
  const ledgerKinds = async () => (await t.app.dataSource.getRepository(LedgerEntryEntity).find({ order: { id: 'ASC' } })).map((e) => e.kind);

  beforeEach(async () => {
    t = await startTestApp({ database });
    chat = consoleClient(t);
    await importSampleOrg(t);
    // 张三 reports for 办公室 (d1); 钱五 becomes the liaison of 财务处 (d2).
    number = /S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', '上报 #谈心 #利益诉求 有同志反映职称评定标准不够透明')).title)![0];
    await chat.say('liu', '联络员 财务处 钱五');
  });
  afterEach(() => t.stop());

  it('takes an insight from new through classified and handled to closed, telling the reporter each time', async () => {
    expect((await insight()).status).toBe('new');

    const classified = await chat.sayText('liu', `定性 ${number} 合理诉求`);
    expect(classified).toContain('合理诉求');
    expect(classified).toContain('及时研究解决或做好解释说明工作');
    expect(await insight()).toMatchObject({ status: 'classified', issueKind: 'demand' });

    expect(await chat.sayText('zhangsan', `处置 ${number} 已与本人谈心谈话，解释了评定办法`)).toContain('已记录');
    expect((await insight()).status).toBe('handled');

    expect(await chat.sayText('wang', `办结 ${number} 本人表示理解`)).toContain('已办结');
    expect((await insight()).status).toBe('closed');

    const reporterInbox = texts(await chat.inbox('zhangsan'));
    expect(reporterInbox).toContain(`${number} 已定性为「合理诉求」`);
    expect(reporterInbox).toContain(`${number} 已办结`);
    expect(await chat.sayText('liu', `处置 ${number} 再补充一条`)).toContain('已办结，不能再更改');
    expect(await ledgerKinds()).toEqual(expect.arrayContaining(['insight.classified', 'insight.action', 'insight.closed']));
  });

  it('shows status and history with 查看 to the reporter, the department liaison and the office, and records each read in the ledger', async () => {
    await chat.say('zhao', `定性 ${number} 普遍性`);
    await chat.say('liu', `处置 ${number} 下月召开职称政策解读会`);
    for (const reader of ['zhangsan', 'liu', 'wang', 'zhao']) {
      const shown = await chat.sayText(reader, `查看 ${number}`);
      expect(shown).toContain('有同志反映职称评定标准不够透明');
      expect(shown).toContain('已处置');
      expect(shown).toContain('赵处长 定性为「普遍性」');
      expect(shown).toContain('刘主任 处置：下月召开职称政策解读会');
    }
    const reads = await t.app.dataSource.getRepository(LedgerEntryEntity).findBy({ kind: 'insight.read', subjectId: number });
    expect(reads.map((r) => r.actorId).sort()).toEqual(['liu', 'wang', 'zhangsan', 'zhao']);
  });

  it('finds an insight by the number however it is typed, as 确认 does: the serial alone means this year', async () => {
    for (const typed of [String(Number(number.slice(-4))), number.toLowerCase().replace(/-0+(?=\d)/, '-')]) {
      expect(await chat.sayText('zhao', `查看 ${typed}`)).toContain('有同志反映职称评定标准不够透明');
    }
  });

  it('hides an insight from staff and from the liaison of another department, as if it did not exist', async () => {
    for (const outsider of ['lisi', 'qianwu']) {
      const reply = await chat.sayText(outsider, `查看 ${number}`);
      expect(reply).toContain('找不到');
      expect(reply).not.toContain('职称');
    }
    expect(await chat.sayText('qianwu', '查看 S-2099-0001')).toContain('找不到');
    expect(await t.app.dataSource.getRepository(LedgerEntryEntity).countBy({ kind: 'insight.read' })).toBe(0);
  });

  it('lets a liaison record actions only for the own department, and only the office and leaders classify or close', async () => {
    expect(await chat.sayText('qianwu', `处置 ${number} 越权处置`)).toContain('找不到');
    expect(await chat.sayText('zhangsan', `定性 ${number} 普遍性`)).toContain('仅限');
    expect(await chat.sayText('lisi', `定性 ${number} 普遍性`)).toContain('仅限');
    expect(await chat.sayText('lisi', `处置 ${number} 越权处置`)).toContain('仅限');
    expect(await chat.sayText('zhangsan', `办结 ${number}`)).toContain('仅限');
    expect(await insight()).toMatchObject({ status: 'new', issueKind: null });
    expect(await t.app.dataSource.getRepository(InsightActionEntity).count()).toBe(0);
  });

  it('answers bad input with guidance and changes nothing', async () => {
    expect(await chat.sayText('liu', `定性 ${number} 严重`)).toContain('普遍性、个别性、合理诉求、苗头性');
    expect(await chat.sayText('liu', '定性 合理诉求')).toContain('请写明信息编号');
    expect(await chat.sayText('liu', `处置 ${number}`)).toContain('请写明处置措施');
    expect(await chat.sayText('liu', `办结 ${number}`)).toContain('请先「处置');
    expect((await insight()).status).toBe('new');
    expect(await t.app.dataSource.getRepository(InsightActionEntity).count()).toBe(0);
  });

  it('keeps the measure encrypted at rest and lists open cases in 我的 for the liaison', async () => {
    await chat.say('zhangsan', `处置 ${number} 已与本人谈心谈话`);
    const [action] = await t.app.dataSource.getRepository(InsightActionEntity).find();
    expect(action.textEnc).not.toContain('谈心');
    expect(t.app.cipher.decrypt(action.textEnc!)).toBe('已与本人谈心谈话');
    const other = /S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', '上报 #观察 工作积极性有所下降')).title)![0];
    const openSection = (await chat.sayText('zhangsan', '我的')).split('待跟进的信息')[1] ?? '';
    expect(openSection).toContain(`${other} 待定性`);
    expect(openSection).not.toContain(number);
    expect(await chat.sayText('qianwu', '我的')).not.toContain(other);
  });
});

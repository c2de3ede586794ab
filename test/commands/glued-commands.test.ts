import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { InsightEntity } from '../../src/db/entities/insight.entity';
import { SuggestionEntity } from '../../src/db/entities/suggestion.entity';
import { InboundEventEntity } from '../../src/db/entities/messaging.entity';
import { MAX_TEXT_LENGTH } from '../../src/domain/text';
import { changedRows, readableRows } from '../suggestions/db-snapshot';

/** People typing Chinese rarely put a space after the command word (issue 10, item 8). */
describe.each(testDatabases())('a command word without a space after it (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;

  beforeEach(async () => {
    t = await startTestApp({ database });
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('records 上报近期… as 上报 with its tags and text', async () => {
    const card = onlyCard(await chat.say('zhangsan', '上报近期有同志反映职称问题'));
    expect(card.title).toMatch(/S-\d{4}-0001/);
    const tagged = onlyCard(await chat.say('zhangsan', '上报#座谈 大家对新政策议论较多'));
    expect(Object.fromEntries(tagged.fields.map((f) => [f.label, f.value]))['收集方式']).toBe('座谈交流');
    const rows = await t.app.dataSource.getRepository(InsightEntity).find({ order: { id: 'ASC' } });
    expect(rows.map((r) => t.app.cipher.decrypt(r.textEnc))).toEqual(['近期有同志反映职称问题', '大家对新政策议论较多']);
  });

  it('reads 匿名意见… as 匿名意见 (longest word first), never as 意见, and forgets its sender', async () => {
    const before = await readableRows(t.app.dataSource, t.app.cipher);
    const receipt = texts(await chat.say('lisi', '匿名意见希望公开职称评审打分细则'));
    expect(receipt).toContain('匿名意见已收到');
    await chat.say('wang', '我的'); // the delivered receipt is forgotten at the next turn
    const [suggestion] = await t.app.dataSource.getRepository(SuggestionEntity).find();
    expect(suggestion.kind).toBe('anonymous');
    expect(suggestion.senderEnc).toBeNull();
    expect(t.app.cipher.decrypt(suggestion.textEnc)).toBe('希望公开职称评审打分细则');
    const written = changedRows(before, await readableRows(t.app.dataSource, t.app.cipher));
    expect(written.filter((row) => row.includes('lisi') || row.includes('李四'))).toEqual([]);
  });

  it('forgets the sender of a message that only begins like 匿名意见 too, though it is not run', async () => {
    await chat.say('lisi', '匿名意见箱在哪里');
    const events = await t.app.dataSource.getRepository(InboundEventEntity).find();
    expect(events.some((e) => e.senderId === 'lisi')).toBe(false);
  });

  it('works for commands with a number or a period: 查看S-…, 汇总上季度, 查询K7QM…', async () => {
    const number = /S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', '上报 大家对新政策议论较多')).title)![0];
    expect(await chat.sayText('liu', `查看${number}`)).toContain('大家对新政策议论较多');
    expect(await chat.sayText('liu', `定性${number} 普遍性`)).toContain('普遍性');
    expect(await chat.sayText('liu', '汇总上季度')).toContain('思想动态汇总');
    expect(await chat.sayText('lisi', '查询K7QM-4TZP-9XWA')).toContain('没有找到这个回执码');
  });

  it('does not take a word that merely begins like a command: 即时通讯…, 意见箱…, 我的问题…', async () => {
    const chatApp = await chat.sayText('zhangsan', '即时通讯软件经常掉线');
    expect(chatApp).toContain('没有「即时通讯软件经常掉线」这个命令');
    expect(chatApp).toContain('请在「即时」后加一个空格');
    expect(await t.app.dataSource.getRepository(InsightEntity).count()).toBe(0);
    expect(await chat.sayText('lisi', '意见箱在哪里')).toContain('请在「意见」后加一个空格');
    expect(await t.app.dataSource.getRepository(SuggestionEntity).count()).toBe(0);
    expect(await chat.sayText('lisi', '我的问题是食堂太远')).toContain('没有「我的问题是食堂太远」这个命令');
    expect(await chat.sayText('lisi', '我的')).toContain('您还没有提交过信息');
    // English aliases need their space: `reporting` is not `report`.
    expect(await chat.sayText('zhangsan', 'reporting')).toContain('没有「reporting」这个命令');
  });

  it('counts the content, not the command word, against the length limit', async () => {
    const content = '长'.repeat(MAX_TEXT_LENGTH);
    expect(onlyCard(await chat.say('zhangsan', `上报 ${content}`)).title).toMatch(/S-\d{4}-0001/);
    expect(onlyCard(await chat.say('zhangsan', `上报${content}`)).title).toMatch(/S-\d{4}-0002/);
    const refused = await chat.sayText('zhangsan', `上报 ${content}多`);
    expect(refused).toContain(`内容过长（${MAX_TEXT_LENGTH + 1} 字）`);
  });
});

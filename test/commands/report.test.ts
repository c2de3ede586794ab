import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { InsightEntity } from '../../src/db/entities/insight.entity';

describe('上报 through the console platform', () => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;

  beforeEach(async () => {
    t = await startTestApp();
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('records an insight and answers with a confirmation card showing number, method and category', async () => {
    const card = onlyCard(await chat.say('zhangsan', '上报 #谈心 #利益诉求 近期有同志反映职称评定标准不够透明'));
    expect(card.title).toMatch(/S-\d{4}-0001/);
    const fields = Object.fromEntries(card.fields.map((f) => [f.label, f.value]));
    expect(fields['收集方式']).toBe('谈心谈话');
    expect(fields['信息类别']).toBe('利益诉求');
    expect(fields['所属部门']).toBe('办公室');
    expect(card.actions.map((a) => a.action)).toEqual(['correct']);
    const second = onlyCard(await chat.say('zhangsan', '上报 #座谈 工作积极性有所下降'));
    expect(second.title).toMatch(/S-\d{4}-0002/);
  });

  it('accepts full-width spaces, ＃ and the /report alias, and suggests a category from the text', async () => {
    const card = onlyCard(await chat.say('zhangsan', '/report　＃走访　有同志反映工资待遇偏低，住房补贴迟迟未落实'));
    const fields = Object.fromEntries(card.fields.map((f) => [f.label, f.value]));
    expect(fields['收集方式']).toBe('走访了解');
    expect(fields['信息类别']).toContain('利益诉求');
    expect(fields['信息类别']).toContain('自动建议');
  });

  it('stores the free text encrypted, never in plain text', async () => {
    await chat.say('zhangsan', '上报 某同志近来情绪低落，家中老人生病');
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect(row.textEnc).not.toContain('情绪低落');
    expect(row.textEnc).toMatch(/^v2:[0-9a-f]{8}:/);
    expect(t.app.cipher.decrypt(row.textEnc)).toBe('某同志近来情绪低落，家中老人生病');
    expect(row.category).toBe('wellbeing');
  });

  it('lets the reporter correct method and category from the card, and the card shows the new state', async () => {
    const card = onlyCard(await chat.say('zhangsan', '上报 #观察 大家对新政策议论较多'));
    const replies = await chat.act('zhangsan', card.cardId, 'correct', { method: 'forum', category: 'political' });
    expect(texts(replies)).toContain('座谈交流');
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect([row.method, row.category]).toEqual(['forum', 'political']);
    const inbox = await chat.inbox('zhangsan');
    const copy = inbox.find((m) => 'card' in m && m.card.cardId === card.cardId);
    expect(copy && 'card' in copy && copy.card.state).toContain('已更正');
    expect(copy && 'card' in copy && copy.card.fields.find((f) => f.label === '收集方式')?.value).toBe('座谈交流');
  });

  it('refuses a correction from someone other than the reporter', async () => {
    const card = onlyCard(await chat.say('zhangsan', '上报 #观察 大家对新政策议论较多'));
    const replies = await chat.act('liu', card.cardId, 'correct', { method: 'talk' });
    expect(texts(replies)).toContain('只有上报人本人');
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect(row.method).toBe('observation');
  });

  it('refuses 更正 from the card once the insight is closed, as 定性 and 处置 do, and changes nothing', async () => {
    const card = onlyCard(await chat.say('zhangsan', '上报 #观察 #政治 大家对新政策议论较多'));
    const number = /S-\d{4}-\d{4}/.exec(card.title)![0];
    await chat.say('liu', `处置 ${number} 已组织学习解读`);
    expect(await chat.sayText('liu', `办结 ${number}`)).toContain('已办结');
    const replies = await chat.act('zhangsan', card.cardId, 'correct', { method: 'forum', category: 'political' });
    expect(texts(replies)).toContain(`${number} 已办结，不能再更改`);
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect([row.method, row.category]).toEqual(['observation', 'political']);
    const kinds = (await t.app.dataSource.query('SELECT kind FROM ledger_entries ORDER BY id')).map((r: { kind: string }) => r.kind);
    expect(kinds).not.toContain('insight.corrected');
  });

  it('refuses an invalid card value with the choices, instead of answering 没有变化', async () => {
    const card = onlyCard(await chat.say('zhangsan', '上报 #观察 #政治 大家对新政策议论较多'));
    const method = texts(await chat.act('zhangsan', card.cardId, 'correct', { method: 'nonsense' }));
    expect(method).not.toContain('没有变化');
    expect(method).toContain('不认识的收集方式「nonsense」');
    expect(method).toContain('谈心谈话');
    const category = texts(await chat.act('zhangsan', card.cardId, 'correct', { method: 'talk', category: ['bogus'] }));
    expect(category).toContain('不认识的信息类别「bogus」');
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect([row.method, row.category]).toEqual(['observation', 'political']);
  });

  it('tells a staff member who may report and how to become a liaison, and records nothing', async () => {
    const reply = await chat.sayText('lisi', '上报 有同志反映食堂饭菜质量下降');
    expect(reply).toContain('联络员');
    expect(reply).toContain('刘主任');
    expect(await t.app.dataSource.getRepository(InsightEntity).count()).toBe(0);
  });

  it('answers an empty report, an unknown tag and an over-long text with guidance, and records nothing', async () => {
    expect(await chat.sayText('zhangsan', '上报')).toContain('请在「上报」后写明信息内容');
    expect(await chat.sayText('zhangsan', '上报 ##谈心 内容')).toContain('不认识的标签');
    expect(await chat.sayText('zhangsan', `上报 ${'长'.repeat(4001)}`)).toContain('4000');
    expect(await t.app.dataSource.getRepository(InsightEntity).count()).toBe(0);
  });
});

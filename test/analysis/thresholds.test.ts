import { testDatabases } from '../helpers/test-app';
import { onlyCard, texts } from '../helpers/console-client';
import type { ConsoleMessage } from '../../src/platforms/console/console-routes';
import type { Card } from '../../src/core/messages';
import { AnalysisWarningEntity } from '../../src/db/entities/analysis.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { liaisonOf, shanghai, startClockedApp, type Clocked } from './support';

jest.setTimeout(120_000);

const warningCards = (messages: ConsoleMessage[]): Card[] => messages.flatMap((m) => ('card' in m && m.card.template === 'analysis-warning' ? [m.card] : []));
const field = (card: Card, label: string) => card.fields.find((f) => f.label === label)?.value;

/** A unit in use since 2025-10 (one insight then), so that a theme can be "new" in November 2026. */
async function unitInUse(env: Record<string, string>, database: Parameters<typeof startClockedApp>[0]): Promise<Clocked> {
  const c = await startClockedApp(database, env);
  c.clock.now = shanghai('2025-10-09');
  await c.chat.say(liaisonOf('d1'), '上报 #工作 科室同志工作积极性较高。');
  return c;
}

async function reportAt(c: Clocked, date: string, department: string, text: string, minutes = 0): Promise<ConsoleMessage[]> {
  c.clock.now = shanghai(date, minutes);
  return c.chat.say(liaisonOf(department), text);
}

describe.each(testDatabases())('研判 thresholds and dictionary on %s', (database) => {
  let c: Clocked;
  afterEach(() => c.t.stop());

  it('shows a theme from MIN_THEME_COUNT insights, marks it 倾向性 and warns at THEME_SPREAD departments; the office extends the dictionary', async () => {
    c = await unitInUse({}, database);
    c.clock.now = shanghai('2026-11-02');
    expect(texts(await c.chat.say(liaisonOf('d1'), '研判 词典 添加 职工书屋'))).toContain('研判词典由机关党委维护');
    expect(texts(await c.chat.say('liu', '研判 词典 添加 职工 书屋'))).toContain('用法');
    expect(texts(await c.chat.say('liu', '研判 词典 添加 职工书屋'))).toContain('已将「职工书屋」加入研判词典');
    expect(texts(await c.chat.say('liu', '研判 词典 添加 职工书屋'))).toContain('词典里已有');
    expect(texts(await c.chat.say('liu', '研判 词典'))).toContain('职工书屋');
    const term = await c.t.app.dataSource.query('SELECT * FROM analysis_terms');
    expect(JSON.stringify(term)).not.toContain('职工书屋');
    const ledger = await c.t.app.dataSource.getRepository(LedgerEntryEntity).findOneByOrFail({ kind: 'analysis.term.added' });
    expect(ledger.data).not.toContain('职工书屋');

    await reportAt(c, '2026-11-03', 'd1', '上报 #诉求 有同志希望职工书屋延长开放时间。');
    await reportAt(c, '2026-11-04', 'd2', '上报 #诉求 大家建议职工书屋增加专业书籍。');
    const two = texts(await c.chat.say('liu', '研判'));
    expect(two).not.toContain('职工书屋');
    expect(two).toContain('本期没有被至少 3 条信息提到的话题');
    expect(warningCards(await c.chat.inbox('liu'))).toHaveLength(0);

    const third = onlyCard(await reportAt(c, '2026-11-05', 'd4', '上报 #诉求 职工书屋周末不开放，有同志觉得不方便。'));
    expect(field(third, '同题反映')).toBe('本季度另有 2 个部门反映过相同话题');
    const three = texts(await c.chat.say('liu', '研判'));
    expect(three).toMatch(/\| 职工书屋 \| 3 \| 3 \| — \| — \| 利益诉求 \| \*\*倾向性\*\*/);
    const [card] = warningCards(await c.chat.inbox('wang'));
    expect(card.title).toBe('【预警】新话题「职工书屋」在 3 个部门出现');
    // The reporter corrects the category: the theme's categories follow.
    await c.chat.act(liaisonOf('d4'), third.cardId, 'correct', { category: 'wellbeing' });
    expect(texts(await c.chat.say('liu', '研判'))).toContain('| 职工书屋 | 3 | 3 | — | — | 利益诉求、社会心理 |');
    expect(field(card, '涉及部门')!.split('、').sort()).toEqual(['业务一处', '人事处', '办公室'].sort());
  });

  it('follows THEME_SPREAD and MIN_THEME_COUNT from the configuration', async () => {
    c = await unitInUse({ THEME_SPREAD: '4', MIN_THEME_COUNT: '2' }, database);
    await reportAt(c, '2026-11-03', 'd1', '上报 #诉求 有同志反映通勤班车发车太早。');
    await reportAt(c, '2026-11-04', 'd2', '上报 #诉求 通勤班车站点取消，有同志上班不便。');
    expect(texts(await c.chat.say('liu', '研判'))).toMatch(/\| 通勤班车 \| 2 \| 2 \| — \| — \| 利益诉求 \|  \|/);
    await reportAt(c, '2026-11-05', 'd4', '上报 #诉求 通勤班车班次减少。');
    expect(texts(await c.chat.say('liu', '研判'))).not.toContain('倾向性');
    expect(warningCards(await c.chat.inbox('liu'))).toHaveLength(0);
    await reportAt(c, '2026-11-06', 'd5', '上报 #诉求 通勤班车晚班取消了。');
    expect(texts(await c.chat.say('liu', '研判'))).toContain('倾向性');
    expect(warningCards(await c.chat.inbox('liu')).map((x) => x.title)).toEqual(['【预警】新话题「通勤班车」在 4 个部门出现']);
  });

  it('names no department below MIN_GROUP_SIZE on a spread card and shows no theme of its spike', async () => {
    c = await unitInUse({}, database);
    // 档案室 (d8) has 3 people: below MIN_GROUP_SIZE (5).
    await reportAt(c, '2026-11-03', 'd1', '上报 #诉求 有同志反映通勤班车发车太早。');
    await reportAt(c, '2026-11-04', 'd8', '上报 #诉求 通勤班车站点取消，上班不便。');
    await reportAt(c, '2026-11-05', 'd2', '上报 #诉求 通勤班车班次减少。');
    const [spread] = warningCards(await c.chat.inbox('liu'));
    expect(field(spread, '涉及部门')).toMatch(/^(办公室、人事处|人事处、办公室)、其他部门 1 个$/);
    expect(JSON.stringify(spread)).not.toContain('档案室');

    // A spike in 档案室: one insight a quarter, then six this quarter.
    for (const [i, date] of ['2025-11-05', '2026-02-05', '2026-05-05', '2026-08-05'].entries()) await reportAt(c, date, 'd8', '上报 #其他 档案整理工作正常推进。', i);
    for (let i = 0; i < 6; i++) await reportAt(c, '2026-11-20', 'd8', '上报 #其他 档案库房潮湿，纸质档案有霉变风险，同志们很担心。', i);
    const spike = warningCards(await c.chat.inbox('liu')).find((x) => x.title.includes('档案室'))!;
    // Caught at the sixth insight of the quarter (its 通勤班车 report and five of these).
    expect(field(spike, '依据')).toMatch(/（截至 2026-11-20）6 条；此前 4 个季度平均 1\.0 条（由近及远：1、1、1、1）；泊松检验 p = 0\.0006/);
    expect(field(spike, '主要话题')).toBeUndefined();
    expect(JSON.stringify(spike)).not.toMatch(/库房|霉变/);

    // The same in 办公室 (8 people) shows its leading themes.
    for (const [i, date] of ['2025-11-05', '2026-02-05', '2026-05-05', '2026-08-05'].entries()) await reportAt(c, date, 'd1', '上报 #其他 科室工作正常推进。', 10 + i);
    for (let i = 0; i < 6; i++) await reportAt(c, '2026-11-21', 'd1', '上报 #其他 办公电脑老旧，系统卡顿，影响工作效率。', i);
    const office = warningCards(await c.chat.inbox('liu')).find((x) => x.title.includes('办公室'))!;
    // Six insights of one text: its keywords always come together, so they show as one theme (a cluster).
    expect(field(office, '主要话题')).toMatch(/^[^、]*办公设备[^、]*（6 条）/);
    const rows = await c.t.app.dataSource.getRepository(AnalysisWarningEntity).find();
    // 档案室's six 其他 insights were, at that moment, a spike of the category too (one a quarter before).
    expect(rows.map((w) => (w.kind === 'spread' ? 'spread' : `${w.kind}:${w.subject}`)).sort()).toEqual(['category:other', 'department:d1', 'department:d8', 'spread']);
    const category = warningCards(await c.chat.inbox('wang')).find((x) => x.title.includes('「其他」类'))!;
    expect(field(category, '依据')).toMatch(/6 条；此前 4 个季度平均 1\.0 条/);
  });
});

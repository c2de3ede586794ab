import { testDatabases } from '../helpers/test-app';
import { texts } from '../helpers/console-client';
import { liaisonOf, shanghai, startClockedApp, type Clocked } from './support';

jest.setTimeout(60_000);

/** The row of one theme in the office's 研判 (话题 | 信息 | 部门 | …), or null when it is not shown. */
async function themeRow(c: Clocked, word: string): Promise<{ insights: number; departments: number; categories: string } | null> {
  const markdown = texts(await c.chat.say('liu', '研判'));
  // A theme may be a cluster led by the word (食堂·饭菜).
  const row = markdown.split('\n').find((l) => l.startsWith(`| ${word} |`) || l.startsWith(`| ${word}·`));
  if (!row) return null;
  const cells = row.split('|').map((x) => x.trim());
  return { insights: Number(cells[2]), departments: Number(cells[3]), categories: cells[6] };
}

async function writeReport(c: Clocked, department: string, sections: Record<string, string>): Promise<string> {
  for (const [section, text] of Object.entries(sections)) await c.chat.say(liaisonOf(department), `报告 ${section} ${text}`);
  return texts(await c.chat.say(liaisonOf(department), '报告 提交'));
}

describe.each(testDatabases())('研判 counts department reports (%s)', (database) => {
  let c: Clocked;

  beforeEach(async () => {
    c = await startClockedApp(database);
    c.clock.now = shanghai('2025-11-10');
    for (const d of ['d1', 'd1', 'd2']) await c.chat.say(liaisonOf(d), '上报 #诉求 同志们反映职工食堂饭菜价格偏高');
    // The quarter's reporting cycle opens at its time (15 December).
    c.clock.now = shanghai('2025-12-15', 60);
    await c.t.app.transact((em) => c.t.app.bot.onStart(em, c.clock.now));
    expect(await c.t.app.timers.runDue(['cycles.open'])).toBe(1);
  });
  afterEach(async () => {
    await c.t.stop();
  });

  it('a submitted report counts once for its department; a new version replaces its keywords; a nil report adds none', async () => {
    expect(await themeRow(c, '食堂')).toEqual({ insights: 3, departments: 2, categories: '利益诉求' });

    const submitted = await writeReport(c, 'd3', {
      总体情况: '本季度干部职工思想总体稳定，对职工食堂意见较多',
      主要表现: '反映食堂饭菜价格偏高、品种单一',
      原因分析: '食堂承包合同到期前服务质量下降',
      对策建议: '建议后勤部门与食堂承包方沟通',
    });
    expect(submitted).toContain('已报送 R-2025Q4 部门报告（第 1 版）');
    // Four sections name it: still one source, one more department; a report has no category.
    expect(await themeRow(c, '食堂')).toEqual({ insights: 4, departments: 3, categories: '利益诉求' });
    expect(texts(await c.chat.say('liu', '研判'))).toMatch(/\| 食堂(·[^|]*)? \| 4 \| 3 \|.*\*\*倾向性\*\*/);

    // The second version no longer speaks of it: the first version's keywords are taken back.
    await c.chat.say(liaisonOf('d3'), '报告 主要表现 反映通勤班车班次太少');
    await c.chat.say(liaisonOf('d3'), '报告 总体情况 本季度干部职工思想总体稳定');
    await c.chat.say(liaisonOf('d3'), '报告 原因分析 城郊线路调整');
    await c.chat.say(liaisonOf('d3'), '报告 对策建议 建议增加班次');
    expect(texts(await c.chat.say(liaisonOf('d3'), '报告 提交'))).toContain('第 2 版');
    expect(await themeRow(c, '食堂')).toEqual({ insights: 3, departments: 2, categories: '利益诉求' });

    expect(texts(await c.chat.say(liaisonOf('d4'), '零报告 本季度无情况可报'))).toContain('已提交 R-2025Q4 零报告');
    expect(await themeRow(c, '食堂')).toEqual({ insights: 3, departments: 2, categories: '利益诉求' });
  });
});

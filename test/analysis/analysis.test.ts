import { testDatabases } from '../helpers/test-app';
import { onlyCard, texts } from '../helpers/console-client';
import type { ConsoleMessage } from '../../src/platforms/console/console-routes';
import type { Card } from '../../src/core/messages';
import { AnalysisKeywordEntity, AnalysisWarningEntity } from '../../src/db/entities/analysis.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { themesForPeriod } from '../../src/modules/analysis/analysis-queries';
import { EXPECTED_THEMES, INSIGHTS, PLANTED_SPIKE_DEPARTMENT, PLANTED_SPREAD } from '../fixtures/analysis/insights';
import { liaisonOf, reportFixture, shanghai, startClockedApp, type Clocked } from './support';

jest.setTimeout(300_000);

const cardsIn = (messages: ConsoleMessage[]): Card[] => messages.flatMap((m) => ('card' in m ? [m.card] : []));
const markdownOf = texts;

/** Every row of every table as stored (nothing decrypted): what someone with only the database could read. */
async function rawDump(c: Clocked): Promise<Map<string, string>> {
  const ds = c.t.app.dataSource;
  const tables: { name: string }[] =
    ds.options.type === 'mysql'
      ? await ds.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
      : await ds.query("SELECT name FROM sqlite_master WHERE type = 'table'");
  const dump = new Map<string, string>();
  for (const { name } of tables) dump.set(name, JSON.stringify(await ds.query(`SELECT * FROM \`${name}\``)));
  return dump;
}

describe.each(testDatabases())('研判 over the fixture of %s', (database) => {
  let c: Clocked;

  beforeAll(async () => {
    c = await startClockedApp(database);
    await reportFixture(c);
    c.clock.now = shanghai('2026-12-01', 30);
  });
  afterAll(() => c.t.stop());

  it('has at least 300 insights', () => {
    expect(INSIGHTS.length).toBeGreaterThanOrEqual(300);
  });

  it('names the leading themes an office would name (top ten ≥ 8 of 10), the planted spread marked 倾向性', async () => {
    const replies = await c.chat.say('liu', '研判');
    const markdown = markdownOf(replies);
    expect(markdown).toContain('分析研判 · 2026年第4季度');
    const rows = markdown.split('\n').filter((l) => /^\| [^-话]/.test(l));
    const top = rows.map((l) => l.split('|')[1].trim());
    expect(top).toHaveLength(10);
    // A theme may be a small cluster (考核评价·评优评先): it is named by its first word.
    const matched = top.filter((w) => EXPECTED_THEMES.includes(w.split('·')[0]));
    console.log(`研判 top ten on ${database}: ${top.join('、')} — ${matched.length}/10 match the office's list`);
    expect(matched.length).toBeGreaterThanOrEqual(8);
    const spreadRow = rows.find((l) => l.startsWith(`| ${PLANTED_SPREAD} |`))!;
    expect(spreadRow).toContain('倾向性');
    // The whole-unit view lists the quarter's warnings.
    expect(markdown).toContain('新话题多部门扩散');
    expect(markdown).toContain('部门信息数量异常增多：财务处');
  });

  it('exports the themes for the report with counts, departments, change and categories', async () => {
    const deps = { cipher: c.t.app.cipher, themeSpread: 3, minThemeCount: 3, timeZone: 'Asia/Shanghai' };
    const quarter = { start: shanghai('2026-10-01', -600), end: shanghai('2027-01-01', -600) };
    const facts = await themesForPeriod(c.t.app.dataSource.manager, deps, quarter, { previousStart: shanghai('2026-07-01', -600) });
    // The month counts (whole unit, whole months) agree with the keyword rows (every department named).
    const everyDepartment = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8'];
    const fromRows = await themesForPeriod(c.t.app.dataSource.manager, deps, quarter, { previousStart: shanghai('2026-07-01', -600), departmentIds: everyDepartment });
    expect(fromRows).toEqual(facts);
    const bus = facts.find((f) => f.word === PLANTED_SPREAD)!;
    expect(bus).toMatchObject({ insights: 6, departments: 4, previousInsights: 0, spread: true, categories: ['interests'] });
    const pay = facts.find((f) => f.words?.[0] === '绩效工资')!;
    expect(pay.previousInsights).toBeGreaterThan(0);
    expect(facts.every((f) => f.insights >= 3)).toBe(true);
  });

  it('warns of the planted spike and the planted spread, once each, and of nothing else in the noise', async () => {
    const warnings = await c.t.app.dataSource.getRepository(AnalysisWarningEntity).find({ order: { id: 'ASC' } });
    const busId = (await c.t.app.dataSource.getRepository(AnalysisKeywordEntity).find()).find((k) => c.t.app.cipher.decrypt(k.wordEnc) === PLANTED_SPREAD)!.id;
    expect(warnings.map((w) => [w.kind, w.subject, w.period])).toEqual(
      expect.arrayContaining([
        ['department', PLANTED_SPIKE_DEPARTMENT, '2026Q4'],
        ['spread', String(busId), '2026Q4'],
      ]),
    );
    const words = await c.t.app.dataSource.getRepository(AnalysisKeywordEntity).find();
    const described = warnings.map((w) => `${w.kind} ${w.period} ${w.kind === 'spread' ? c.t.app.cipher.decrypt(words.find((k) => String(k.id) === w.subject)!.wordEnc) : w.subject}`);
    expect(described).toHaveLength(2);
    for (const person of ['liu', 'wang']) {
      const cards = cardsIn(await c.chat.inbox(person)).filter((card) => card.template === 'analysis-warning');
      // The spread is caught when the third department (THEME_SPREAD) raises it.
      expect(cards.map((card) => card.title).sort()).toEqual([`【预警】新话题「${PLANTED_SPREAD}」在 3 个部门出现`, '【预警】财务处本季度信息明显增多']);
      const spike = cards.find((card) => card.title.includes('财务处'))!;
      const fields = Object.fromEntries(spike.fields.map((f) => [f.label, f.value]));
      expect(fields['依据']).toMatch(/2026年第4季度（截至 2026-\d\d-\d\d）\d+ 条；此前 4 个季度平均 [\d.]+ 条/);
      expect(spike.actions.map((a) => a.label)).toEqual(['已阅', '定性']);
      const spread = cards.find((card) => card.title.includes(PLANTED_SPREAD))!;
      expect(spread.fields.find((f) => f.label === '涉及部门')!.value.split('、').sort()).toEqual(['业务一处', '业务二处', '办公室'].sort());
    }
    // The deputy and the liaisons get no warning card.
    expect(cardsIn(await c.chat.inbox('zhao')).filter((card) => card.template === 'analysis-warning')).toHaveLength(0);
    const ledger = await c.t.app.dataSource.getRepository(LedgerEntryEntity).findBy({ kind: 'analysis.warning' });
    expect(ledger).toHaveLength(2);
    for (const entry of ledger) expect(entry.data).not.toMatch(/[\u4e00-\u9fff]/);
  });

  it('shows a liaison the own department only, without department counts or other departments\' themes', async () => {
    const markdown = markdownOf(await c.chat.say(liaisonOf(PLANTED_SPIKE_DEPARTMENT), '研判'));
    expect(markdown).toContain('范围：本部门');
    expect(markdown).toContain('加班');
    expect(markdown).not.toContain(PLANTED_SPREAD);
    expect(markdown).not.toContain('预警');
    expect(markdown).not.toContain('| 部门 |');
  });

  it('is refused to staff, and 研判 上季度 / 2026Q3 read the previous quarter', async () => {
    expect(texts(await c.chat.say('d1-p2', '研判'))).toContain('仅限');
    const previous = markdownOf(await c.chat.say('zhao', '研判 上季度'));
    expect(previous).toContain('2026年第3季度');
    expect(previous).not.toContain(PLANTED_SPREAD);
    expect(markdownOf(await c.chat.say('wang', '研判 2026Q3'))).toContain('2026年第3季度');
    expect(texts(await c.chat.say('liu', '研判 明年'))).toContain('不认识这个时段');
  });

  it('keeps no keyword and no text in plain at rest (every table scanned)', async () => {
    const words = (await c.t.app.dataSource.getRepository(AnalysisKeywordEntity).find()).map((k) => c.t.app.cipher.decrypt(k.wordEnc));
    expect(words).toEqual(expect.arrayContaining([PLANTED_SPREAD, '绩效工资', '职称评定']));
    const dump = await rawDump(c);
    // People and departments are named in plain by design; a keyword may share characters with such a name.
    const stored = [...dump].filter(([table]) => table !== 'people' && table !== 'departments').map(([, rows]) => rows).join('\n');
    const leaked = words.filter((w) => stored.includes(w));
    expect(leaked).toEqual([]);
    for (const insight of INSIGHTS.slice(0, 40)) expect(stored).not.toContain(insight.text.slice(-12));
  });

  it('lets the office read (已阅) and classify (定性) a warning card; a liaison may not; each step is in the ledger', async () => {
    const card = cardsIn(await c.chat.inbox('liu')).find((x) => x.template === 'analysis-warning' && x.title.includes('财务处'))!;
    expect(texts(await c.chat.act(liaisonOf('d1'), card.cardId, 'read'))).toContain('机关党委和党组领导');
    expect(texts(await c.chat.act('wang', card.cardId, 'read'))).toContain('已阅');
    const copy = cardsIn(await c.chat.inbox('liu')).filter((x) => x.cardId === card.cardId).pop()!;
    expect(copy.state).toContain('王书记 已阅');
    expect(texts(await c.chat.act('liu', card.cardId, 'classify', {}))).toContain('请先在卡片上选择定性');
    expect(texts(await c.chat.act('liu', card.cardId, 'classify', { issueKind: 'demand' }))).toContain('合理诉求');
    const warning = await c.t.app.dataSource.getRepository(AnalysisWarningEntity).findOneByOrFail({ kind: 'department' });
    expect([warning.state, warning.issueKind, warning.handledBy]).toEqual(['classified', 'demand', 'liu']);
    const kinds = (await c.t.app.dataSource.getRepository(LedgerEntryEntity).find()).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['analysis.warning.read', 'analysis.warning.classified', 'analysis.viewed']));
    expect(markdownOf(await c.chat.say('liu', '研判'))).toContain('已定性为合理诉求');
  });

  it('sends no second warning for the same department in the same quarter', async () => {
    for (let i = 0; i < 3; i++) {
      c.clock.now = shanghai('2026-12-01', 40 + i);
      await c.chat.say(liaisonOf(PLANTED_SPIKE_DEPARTMENT), '上报 #工作 年底加班仍然很多，有同志提出希望合理安排决算工作。');
    }
    expect(await c.t.app.dataSource.getRepository(AnalysisWarningEntity).countBy({ kind: 'department' })).toBe(1);
  });

  it('tells the reporter how many other departments raised the same theme this quarter (a count only)', async () => {
    const card = onlyCard(await c.chat.say(liaisonOf('d6'), '上报 #诉求 有同志反映通勤班车晚班车次太少。'));
    expect(card.fields.find((f) => f.label === '同题反映')!.value).toBe('本季度另有 4 个部门反映过相同话题');
  });
});

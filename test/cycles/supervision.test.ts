import ExcelJS from 'exceljs';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { InsightEntity, type Insight } from '../../src/db/entities/insight.entity';
import { EscalationEntity } from '../../src/db/entities/escalation.entity';
import { createJobContext } from '../../src/bot/job-context';
import { openQuarterByHand } from '../../src/modules/cycles/cycle-commands';
import type { SurveyFact, SupervisionFact } from '../../src/domain/facts';
import { settableClock, shanghai } from './support';

/*
 * A year whose supervision figures are known:
 * - 2026Q3 (due 09-25 17:00): 办公室 on time, 人事处 and 财务处 (no liaison) missing.
 * - R-2026-0001 (due 10-20 17:00): 人事处 nil report, 办公室 three days late, 财务处 missing.
 * - Insights: 办公室 3 (1 immediate, acknowledged after 5 min); 人事处 2 immediate (10 and 30 min).
 * - Questionnaire: 办公室 8 of 10, 人事处 1 of 5.
 * - Training 11-20: 张三 and 周六; commendation: 张三.
 */
const ORG = {
  departments: [...SAMPLE_ORG.departments, { id: 'd3', name: '人事处', parentId: 'root' }],
  people: [...SAMPLE_ORG.people, { id: 'zhou', name: '周六', departmentIds: ['d3'], roles: ['liaison'] }],
};

const EXPECTED: Record<string, Partial<SupervisionFact>> = {
  办公室: { liaisonName: '张三', reportsOnTime: 1, reportsLate: 1, lateDays: 3, reportsMissing: 0, nilReports: 0, insights: 3, immediateReports: 1, medianAckMinutes: 5, surveyResponseRate: 0.8, trainings: 1, commendations: 1 },
  人事处: { liaisonName: '周六', reportsOnTime: 0, reportsLate: 0, lateDays: 0, reportsMissing: 1, nilReports: 1, insights: 2, immediateReports: 2, medianAckMinutes: 20, surveyResponseRate: 0.2, trainings: 1, commendations: 0 },
  财务处: { liaisonName: null, reportsOnTime: 0, reportsLate: 0, reportsMissing: 2, nilReports: 0, insights: 0, immediateReports: 0, medianAckMinutes: null, surveyResponseRate: null, trainings: 0, commendations: 0 },
};

describe.each(testDatabases())('督查 against a fixture with a known answer (%s)', (database) => {
  const clock = settableClock(shanghai(2026, 9, 15, 9));
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;

  beforeEach(async () => {
    clock.set(shanghai(2026, 9, 15, 9));
    t = await startTestApp({ database, appOptions: { now: clock.now } });
    chat = consoleClient(t);
    await importSampleOrg(t, ORG);
    const survey: SurveyFact = {
      number: 'Q-2026-0001', title: '满意度', anonymous: true, closedAt: shanghai(2026, 11, 1), recipients: 15, respondents: 9, responseRate: 0.6, questions: [],
      byDepartment: [{ departmentId: 'd1', name: '办公室', recipients: 10, respondents: 8 }, { departmentId: 'd3', name: '人事处', recipients: 5, respondents: 1 }],
    };
    t.app.services.facts.surveys = async () => [survey];

    await t.app.transact((em) => openQuarterByHand(createJobContext(em, t.app.services, clock.now()), '2026Q3'));
    clock.set(shanghai(2026, 9, 20));
    for (const k of ['总体情况', '主要表现', '原因分析', '对策建议']) await chat.say('zhangsan', `报告 ${k} 正常`);
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('第 1 版');
    clock.set(shanghai(2026, 10, 12));
    expect(await chat.sayText('liu', '专题 发起 新政策 截止 2026-10-20')).toContain('R-2026-0001');
    clock.set(shanghai(2026, 10, 13));
    expect(await chat.sayText('zhou', '零报告')).toContain('多个可填报的周期'); // 2026Q3 is still open for 人事处 (late)
    expect(await chat.sayText('zhou', '零报告 R-2026-0001')).toContain('记为按时报送');
    clock.set(shanghai(2026, 10, 23));
    for (const k of ['总体情况', '主要表现', '原因分析', '对策建议']) await chat.say('zhangsan', `报告 ${k} 无`);
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('3 天');

    const insight = (n: number, departmentId: string, kind: Insight['kind'], createdAt: number): Omit<Insight, 'id'> => ({
      number: `S-2026-${9000 + n}`, reporterId: 'zhangsan', departmentId, method: 'talk', category: 'work', kind, textEnc: t.app.cipher.encrypt('x'), status: 'new', issueKind: null, createdAt, updatedAt: createdAt,
    });
    await t.app.dataSource.getRepository(InsightEntity).insert([
      insight(1, 'd1', 'routine', shanghai(2026, 2, 1)),
      insight(2, 'd1', 'routine', shanghai(2026, 5, 1)),
      insight(3, 'd1', 'immediate', shanghai(2026, 8, 1)),
      insight(4, 'd3', 'immediate', shanghai(2026, 8, 2)),
      insight(5, 'd3', 'immediate', shanghai(2026, 8, 3)),
      insight(6, 'd1', 'routine', shanghai(2025, 12, 31)), // the year before
    ]);
    const rows = await t.app.dataSource.getRepository(InsightEntity).find();
    const byNumber = new Map(rows.map((r) => [r.number, r]));
    const escalation = (n: number, minutes: number) => {
      const i = byNumber.get(`S-2026-${9000 + n}`)!;
      return { insightId: i.id, insightNumber: i.number, reporterId: 'zhangsan', state: 'acknowledged' as const, step: 1, nextDueAt: null, acknowledgedBy: 'wang', acknowledgedAt: i.createdAt + minutes * 60_000, ackMethod: 'ack' as const, instructionEnc: null, createdAt: i.createdAt, updatedAt: i.createdAt };
    };
    await t.app.dataSource.getRepository(EscalationEntity).insert([escalation(3, 5), escalation(4, 10), escalation(5, 30)]);
    clock.set(shanghai(2026, 11, 25));
    await chat.say('liu', '培训 记录 2026-11-20 信息收集 张三 周六');
    await chat.say('liu', '表扬 张三 认真负责');
  });
  afterEach(() => t.stop());

  it('the supervision facts are the known figures', async () => {
    const range = { start: shanghai(2026, 1, 1, 0), end: shanghai(2027, 1, 1, 0), label: '2026年' };
    const facts = await t.app.services.facts.supervision!(t.app.dataSource.manager, t.app.services, range);
    expect(facts.map((f) => f.departmentName).sort()).toEqual(['人事处', '办公室', '财务处']);
    for (const fact of facts) expect(fact).toMatchObject(EXPECTED[fact.departmentName]);
  });

  it('督查 2026 shows them; 督查 of one cycle counts only its reports; staff and liaisons are refused', async () => {
    const year = JSON.stringify(await chat.say('zhao', '督查 2026'));
    expect(year).toContain('按时 1，逾期 1（共 3 天），未报 3，零报告 1；信息 5 条，即时报告 3 条；培训 2 人次，表扬 1 次');
    expect(year).toContain('| 办公室 | 张三 | 1 | 1（3天） | 0 | 0 | 3 | 1 | 5 | 80% | 1 | 1 |');
    expect(year).toContain('| 人事处 | 周六 | 0 | 0 | 1 | 1 | 2 | 2 | 20 | 20% | 1 | 0 |');
    expect(year).toContain('| 财务处 | 未指定 | 0 | 0 | 2 | 0 | 0 | 0 | — | — | 0 | 0 |');
    const special = JSON.stringify(await chat.say('liu', '督查 R-2026-0001'));
    expect(special).toContain('按时 0，逾期 1（共 3 天），未报 1，零报告 1');
    expect(await chat.sayText('zhangsan', '督查')).toContain('仅限');
    expect(await chat.sayText('liu', '督查 明年')).toContain('用法');
  });

  it('督查 导出 gives the same figures as an .xlsx file', async () => {
    const [reply] = await chat.say('liu', '督查 导出 2026');
    if (!('file' in reply)) throw new Error(`expected a file, got ${JSON.stringify(reply)}`);
    const file = reply.file as { name: string; url: string };
    expect(file.name).toBe('督促检查-2026年.xlsx');
    const download = await t.request.get(new URL(file.url).pathname).buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(download.body as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('督促检查')!;
    const rows = (sheet.getSheetValues() as unknown[][]).slice(2).map((r) => Array.from(r.slice(1, 14), (v) => v ?? null));
    expect(rows).toContainEqual(['办公室', '张三', 1, 1, 3, 0, 0, 3, 1, 5, '80%', 1, 1]);
    expect(rows).toContainEqual(['财务处', '未指定', 0, 0, 0, 2, 0, 0, 0, null, '', 0, 0]);
  });
});

import JSZip from 'jszip';
import type { TestApp } from '../helpers/test-app';
import { InsightEntity, type Insight } from '../../src/db/entities/insight.entity';
import { EscalationEntity } from '../../src/db/entities/escalation.entity';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import type { DepartmentReportFact, FactSources, SurveyFact } from '../../src/domain/facts';
import type { OutboundContent } from '../../src/core/messages';

/**
 * 财务处 (d2) has 6 people and is named in excerpts; 办公室 (d1) has 2 — below MIN_GROUP_SIZE — and
 * shows as 其他部门. 王书记 secretary, 赵处长 deputy, 刘主任 office, 张三 liaison of d1, 钱五 liaison of d2.
 */
export const REPORT_ORG = {
  departments: [
    { id: 'root', name: '本单位' },
    { id: 'd1', name: '办公室', parentId: 'root' },
    { id: 'd2', name: '财务处', parentId: 'root' },
  ],
  people: [
    { id: 'wang', name: '王书记', departmentIds: ['root'], roles: ['secretary'] },
    { id: 'zhao', name: '赵处长', departmentIds: ['root'], roles: ['deputy'] },
    { id: 'liu', name: '刘主任', departmentIds: ['root'], roles: ['office'] },
    { id: 'zhangsan', name: '张三', departmentIds: ['d1'], roles: ['liaison'] },
    { id: 'lisi', name: '李四', departmentIds: ['d1'] },
    { id: 'qianwu', name: '钱五', departmentIds: ['d2'], roles: ['liaison'] },
    ...[1, 2, 3, 4, 5].map((n) => ({ id: `d2p${n}`, name: `孙${'甲乙丙丁戊'[n - 1]}`, departmentIds: ['d2'] })),
  ],
};

/** A moment in Shanghai time (UTC+8). */
export const shanghai = (year: number, month: number, day: number, hour = 10) => Date.UTC(year, month - 1, day, hour - 8);

let sequence = 0;
export function insightRow(testApp: TestApp, fields: Partial<Insight> & { createdAt: number; text?: string }): Omit<Insight, 'id'> {
  sequence++;
  const { text, ...rest } = fields;
  return {
    number: `S-2026-${String(8000 + sequence)}`,
    reporterId: 'qianwu',
    departmentId: 'd2',
    method: 'observation',
    category: 'work',
    kind: 'routine',
    textEnc: testApp.app.cipher.encrypt(text ?? '同志们工作积极主动'),
    status: 'new',
    issueKind: null,
    updatedAt: rest.createdAt,
    ...rest,
  };
}

/**
 * 2026Q4: 5 insights (3 工作状态, 1 利益诉求 classified 合理诉求, 1 immediate 政治思想 acknowledged after
 * 12 minutes) — 4 in 财务处, 1 in 办公室; 2026Q3: 2; 2025Q4: 1.
 */
export async function seedInsights(testApp: TestApp): Promise<void> {
  const em = testApp.app.dataSource.manager;
  const q4 = (day: number) => shanghai(2026, 10, day);
  const rows = [
    insightRow(testApp, { createdAt: q4(9), text: '财务处同志普遍反映工作积极主动，钱五带头加班完成决算' }),
    insightRow(testApp, { createdAt: q4(10), method: 'talk' }),
    insightRow(testApp, { createdAt: q4(11), departmentId: 'd1', reporterId: 'zhangsan', text: '办公室李四工作积极，但认为会议太多' }),
    insightRow(testApp, { createdAt: q4(12), category: 'interests', issueKind: 'demand', status: 'handled', text: '有同志反映职称评定标准不够透明' }),
    insightRow(testApp, { createdAt: q4(13), category: 'political', kind: 'immediate', status: 'classified', issueKind: 'warning', text: '网上出现涉及本单位的不实言论' }),
    insightRow(testApp, { createdAt: shanghai(2026, 8, 1) }),
    insightRow(testApp, { createdAt: shanghai(2026, 9, 1), category: 'wellbeing' }),
    insightRow(testApp, { createdAt: shanghai(2025, 11, 1) }),
  ];
  for (const row of rows) await em.insert(InsightEntity, row);
  const immediate = await em.findOneByOrFail(InsightEntity, { number: rows[4].number });
  await em.insert(EscalationEntity, {
    insightId: immediate.id,
    insightNumber: immediate.number,
    reporterId: immediate.reporterId,
    state: 'acknowledged',
    step: 1,
    nextDueAt: null,
    acknowledgedBy: 'wang',
    acknowledgedAt: immediate.createdAt + 12 * 60_000,
    ackMethod: 'ack',
    instructionEnc: null,
    createdAt: immediate.createdAt,
    updatedAt: immediate.createdAt,
  });
}

export const FAKE_SURVEY: SurveyFact = {
  number: 'Q-2026-0003',
  title: '职工工作满意度调查',
  anonymous: true,
  closedAt: shanghai(2026, 11, 20),
  recipients: 40,
  respondents: 30,
  responseRate: 0.75,
  questions: [
    {
      key: 'q1',
      text: '您对当前工作环境是否满意？',
      type: 'single',
      answered: 30,
      options: [
        { id: 'a', label: '满意', count: 18, percent: 60 },
        { id: 'b', label: '一般', count: 9, percent: 30 },
        { id: 'c', label: '不满意', count: 3, percent: 10 },
      ],
    },
  ],
  byDepartment: [],
};

export const FAKE_DEPARTMENT_REPORT: DepartmentReportFact = {
  cycleNumber: 'R-2026-0002',
  departmentId: 'd2',
  departmentName: '财务处',
  liaisonName: '钱五',
  status: 'on_time',
  submittedAt: shanghai(2026, 11, 25),
  lateDays: 0,
  sections: {
    overall: '本季度财务处思想总体稳定。',
    performance: '年终决算任务重，钱五等同志主动加班。',
    causes: '年底工作集中，人手紧张。',
    suggestions: '建议合理安排决算期间的工作量，加强人员调配。',
  },
};

/** Fakes of the other helpers' providers (their types are fixed in src/domain/facts.ts). */
export const FAKE_FACTS: Partial<FactSources> = {
  surveys: async (_em, _services, range) => (range.start <= FAKE_SURVEY.closedAt && FAKE_SURVEY.closedAt < range.end ? [FAKE_SURVEY] : []),
  departmentReports: async (_em, _services, selector) =>
    selector.cycleNumber === 'R-2026-0002' || (selector.range && selector.range.start <= FAKE_DEPARTMENT_REPORT.submittedAt! && FAKE_DEPARTMENT_REPORT.submittedAt! < selector.range.end) ? [FAKE_DEPARTMENT_REPORT, { ...FAKE_DEPARTMENT_REPORT, departmentId: 'd1', departmentName: '办公室', liaisonName: '张三', status: 'missing', sections: null, submittedAt: null }] : [],
  supervision: async () => [
    { departmentId: 'd2', departmentName: '财务处', liaisonName: '钱五', reportsOnTime: 2, reportsLate: 1, lateDays: 3, reportsMissing: 0, nilReports: 0, insights: 4, immediateReports: 1, medianAckMinutes: 12, surveyResponseRate: 0.75, trainings: 1, commendations: 0 },
  ],
  themes: async () => [{ word: '职称评定', insights: 1, departments: 1, previousInsights: 0, categories: ['interests'], spread: false }],
};

/** The files sent to a person, decoded from the outbox. */
export async function filesSentTo(testApp: TestApp, personId: string): Promise<{ fileName: string; data: Buffer }[]> {
  const rows = await testApp.app.dataSource.manager.find(OutboundMessageEntity, { where: { recipient: `user:${personId}` }, order: { id: 'ASC' } });
  return rows
    .map((r) => JSON.parse(testApp.app.cipher.decrypt(r.contentEnc)) as OutboundContent)
    .filter((c): c is Extract<OutboundContent, { kind: 'file' }> => c.kind === 'file')
    .map((c) => ({ fileName: c.fileName, data: Buffer.from(c.dataBase64, 'base64') }));
}

export async function docxParts(data: Buffer): Promise<{ document: string; files: string[]; read(name: string): Promise<string> }> {
  const zip = await JSZip.loadAsync(data);
  return { document: await zip.file('word/document.xml')!.async('string'), files: Object.keys(zip.files), read: (name) => zip.file(name)!.async('string') };
}

/** The document's visible text, paragraph by paragraph. */
export function paragraphs(documentXml: string): string[] {
  return [...documentXml.matchAll(/<w:p[ >][\s\S]*?<\/w:p>/g)].map((p) => [...p[0].matchAll(/<w:t(?: [^>]*)?>([^<]*)<\/w:t>/g)].map((t) => t[1]).join('')).filter(Boolean);
}

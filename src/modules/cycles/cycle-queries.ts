import type { EntityManager } from 'typeorm';
import { CATEGORIES, METHODS } from '../../db/entities/insight.entity';
import { ISSUE_KINDS } from '../../db/entities/case.entity';
import { CATEGORY_LABELS, METHOD_LABELS } from '../../domain/glossary';
import type { DepartmentReportFact, FactRange, FactServices, FactSources, SupervisionFact, SurveyFact } from '../../domain/facts';
import { ISSUE_KIND_LABELS } from '../cases/case-service';
import { countsBy, type SummaryScope } from '../summary/summary-queries';
import { SECTION_KEYS, type Sections } from './sections';

/*
 * The queries of the reporting cycle: the departments' data of a period (the task drafts), and the
 * facts other modules read (department reports, supervision). Every figure is one GROUP BY over all
 * departments at once, so opening a cycle for 2,000 departments is a handful of queries.
 */

type Row = Record<string, unknown>;

export interface DepartmentPeriodData {
  insights: number;
  byCategory: Map<string, number>;
  byMethod: Map<string, number>;
  byIssueKind: Map<string, number>;
  actions: number;
  immediate: number;
}

function emptyData(): DepartmentPeriodData {
  return { insights: 0, byCategory: new Map(), byMethod: new Map(), byIssueKind: new Map(), actions: 0, immediate: 0 };
}

function inList(column: string, ids: string[] | null): { sql: string; params: unknown[] } {
  if (ids === null) return { sql: '', params: [] };
  if (ids.length === 0) return { sql: ' AND 1 = 0', params: [] };
  return { sql: ` AND ${column} IN (${ids.map(() => '?').join(', ')})`, params: ids };
}

/** Each department's insights of [start, end) by category, method and Art. 14 kind, its actions and immediate reports. */
export async function departmentPeriodData(em: EntityManager, range: { start: number; end: number }, departmentIds: string[] | null): Promise<Map<string, DepartmentPeriodData>> {
  const result = new Map<string, DepartmentPeriodData>();
  const of = (id: unknown) => {
    const key = String(id);
    if (!result.has(key)) result.set(key, emptyData());
    return result.get(key)!;
  };
  const scope = inList('department_id', departmentIds);
  const where = `created_at >= ? AND created_at < ? AND department_id IS NOT NULL${scope.sql}`;
  const params = [range.start, range.end, ...scope.params];
  const rows: Row[] = await em.query(
    `SELECT department_id AS d, category AS c, method AS m, issue_kind AS k, kind AS t, COUNT(*) AS n FROM insights WHERE ${where}
     GROUP BY department_id, category, method, issue_kind, kind`,
    params,
  );
  for (const row of rows) {
    const data = of(row.d);
    const n = Number(row.n);
    data.insights += n;
    data.byCategory.set(String(row.c), (data.byCategory.get(String(row.c)) ?? 0) + n);
    data.byMethod.set(String(row.m), (data.byMethod.get(String(row.m)) ?? 0) + n);
    if (row.k) data.byIssueKind.set(String(row.k), (data.byIssueKind.get(String(row.k)) ?? 0) + n);
    if (row.t === 'immediate') data.immediate += n;
  }
  const iscope = inList('i.department_id', departmentIds);
  const actions: Row[] = await em.query(
    `SELECT i.department_id AS d, COUNT(*) AS n FROM insight_actions a JOIN insights i ON i.id = a.insight_id
     WHERE a.kind = 'action' AND a.created_at >= ? AND a.created_at < ? AND i.department_id IS NOT NULL${iscope.sql} GROUP BY i.department_id`,
    [range.start, range.end, ...iscope.params],
  );
  for (const row of actions) of(row.d).actions = Number(row.n);
  return result;
}

const line = (labels: Record<string, string>, order: readonly string[], counts: Map<string, number>) =>
  order.filter((k) => counts.get(k)).map((k) => `${labels[k]} ${counts.get(k)}`).join('，') || '无';

/** The reference data of a task card and `报告 查看` (markdown lines). */
export function draftMarkdown(data: DepartmentPeriodData | undefined, surveys: { title: string; recipients: number; respondents: number }[]): string {
  const d = data ?? emptyData();
  const lines = [
    `- 本期上报信息 ${d.insights} 条（按类别：${line(CATEGORY_LABELS, CATEGORIES, d.byCategory)}）`,
    `- 按收集方式：${line(METHOD_LABELS, METHODS, d.byMethod)}`,
    `- 已定性（第十四条）：${line(ISSUE_KIND_LABELS, ISSUE_KINDS, d.byIssueKind)}`,
    `- 处置措施 ${d.actions} 项；即时报告 ${d.immediate} 条`,
  ];
  for (const s of surveys) lines.push(`- 问卷「${s.title}」：应答 ${s.respondents}/${s.recipients} 人`);
  return lines.join('\n');
}

/** Closed questionnaires of the range, per department (already suppressed by their provider). */
export async function surveyParticipation(
  em: EntityManager,
  services: FactServices & { facts: FactSources },
  range: FactRange,
): Promise<{ surveys: SurveyFact[]; byDepartment: Map<string, { title: string; recipients: number; respondents: number }[]> }> {
  const surveys = (await services.facts.surveys?.(em, services, range)) ?? [];
  const byDepartment = new Map<string, { title: string; recipients: number; respondents: number }[]>();
  for (const s of surveys) {
    for (const d of s.byDepartment) {
      if (d.departmentId === null) continue;
      byDepartment.set(d.departmentId, [...(byDepartment.get(d.departmentId) ?? []), { title: s.title, recipients: d.recipients, respondents: d.respondents }]);
    }
  }
  return { surveys, byDepartment };
}

/** The unit's whole-period counts by category (reusing 汇总's query), for the office's overview. */
export async function unitCategoryCounts(em: EntityManager, range: { start: number; end: number }): Promise<Map<string, number>> {
  const scope: SummaryScope = { departmentIds: null, mergeSmall: false, minGroupSize: 1 };
  const rows = await countsBy(em, 'category', { period: { kind: 'quarter', year: 0, index: 1 }, label: '', start: range.start, end: range.end, previous: { label: '', start: range.start } }, scope);
  return new Map(rows.map((r) => [r.key, r.current]));
}

function decryptSections(services: FactServices, enc: string | null): Sections | null {
  if (!enc) return null;
  const parsed = JSON.parse(services.cipher.decrypt(enc)) as Partial<Sections>;
  return Object.fromEntries(SECTION_KEYS.map((k) => [k, parsed[k] ?? ''])) as unknown as Sections;
}

interface TaskRow {
  number: string;
  dueAt: number;
  departmentId: string;
  departmentName: string;
  liaisonName: string | null;
  status: string;
  submittedAt: number | null;
  lateDays: number;
  sectionsEnc: string | null;
  attachmentTextEnc: string | null;
}

/** Each department's liaison's name (one query for every department, not one per row). */
async function liaisonNames(em: EntityManager): Promise<Map<string, string>> {
  const rows: Row[] = await em.query(
    "SELECT g.scope AS d, MIN(p.name) AS name FROM role_grants g JOIN people p ON p.id = g.person_id WHERE g.role = 'liaison' AND p.active = 1 GROUP BY g.scope",
  );
  return new Map(rows.map((r) => [String(r.d), String(r.name)]));
}

/** The tasks of the cycles due in the range (or of one cycle), with the department and current liaison's name. */
async function taskRows(em: EntityManager, selector: { range?: { start: number; end: number }; cycleNumber?: string }, withText: boolean): Promise<TaskRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (selector.cycleNumber) {
    where.push('c.number = ?');
    params.push(selector.cycleNumber);
  }
  if (selector.range) {
    where.push('c.due_at >= ? AND c.due_at < ?');
    params.push(selector.range.start, selector.range.end);
  }
  const rows: Row[] = await em.query(
    `SELECT c.number, c.due_at, t.department_id, d.name AS department_name, t.status, t.submitted_at, t.late_days${withText ? ', v.sections_enc, t.attachment_text_enc' : ''}
     FROM cycle_tasks t JOIN cycles c ON c.id = t.cycle_id LEFT JOIN departments d ON d.id = t.department_id
     ${withText ? 'LEFT JOIN cycle_report_versions v ON v.task_id = t.id AND v.version = t.version' : ''}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.due_at, d.name`,
    params,
  );
  const liaisons = await liaisonNames(em);
  return rows.map((r) => ({
    number: String(r.number),
    dueAt: Number(r.due_at),
    departmentId: String(r.department_id),
    departmentName: String(r.department_name ?? r.department_id),
    liaisonName: liaisons.get(String(r.department_id)) ?? null,
    status: String(r.status),
    submittedAt: r.submitted_at === null || r.submitted_at === undefined ? null : Number(r.submitted_at),
    lateDays: Number(r.late_days ?? 0),
    sectionsEnc: (r.sections_enc as string | null) ?? null,
    attachmentTextEnc: (r.attachment_text_enc as string | null) ?? null,
  }));
}

/** A task's standing: on time, late, nil (on time by definition), or missing (past the deadline, nothing in; still open before it). */
function standing(task: { status: string; lateDays: number }): DepartmentReportFact['status'] {
  if (task.status === 'nil') return 'nil';
  if (task.status === 'submitted') return task.lateDays > 0 ? 'late' : 'on_time';
  return 'missing';
}

/**
 * Department reports (DepartmentReportFact) of one cycle or of the cycles due in a range, decrypted.
 * For readers with the right (the office, leaders, the unit report): callers check need-to-know.
 */
export async function departmentReportFacts(em: EntityManager, services: FactServices, selector: { range?: FactRange; cycleNumber?: string }): Promise<DepartmentReportFact[]> {
  const rows = await taskRows(em, selector, true);
  return rows.map((t) => {
    const status = standing(t);
    return {
      cycleNumber: t.number,
      departmentId: t.departmentId,
      departmentName: t.departmentName,
      liaisonName: t.liaisonName,
      status,
      submittedAt: status === 'missing' ? null : t.submittedAt,
      lateDays: status === 'late' ? t.lateDays : 0,
      sections: status === 'on_time' || status === 'late' ? decryptSections(services, t.sectionsEnc) : null,
      attachmentText: t.attachmentTextEnc ? services.cipher.decrypt(t.attachmentTextEnc) : null,
    };
  });
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Supervision (督促检查, Art. 18) per department: the reports of the cycles due in the range (or of
 * one cycle), insights and immediate reports of the range with how fast they were acknowledged,
 * questionnaire response rates, and the liaisons' training and recognition. `now` decides whether
 * an unsubmitted report of a cycle still open counts as missing (only once its deadline passed).
 */
export async function supervisionRows(
  em: EntityManager,
  services: FactServices & { facts?: FactSources },
  range: FactRange,
  options: { cycleNumber?: string; now?: number } = {},
): Promise<SupervisionFact[]> {
  const now = options.now ?? Date.now();
  const departments: Row[] = await em.query('SELECT d.id, d.name FROM departments d WHERE d.active = 1 AND d.parent_id IS NOT NULL ORDER BY d.name');
  const liaisons = await liaisonNames(em);
  const facts = new Map<string, SupervisionFact>();
  for (const d of departments) {
    facts.set(String(d.id), {
      departmentId: String(d.id),
      departmentName: String(d.name),
      liaisonName: liaisons.get(String(d.id)) ?? null,
      reportsOnTime: 0,
      reportsLate: 0,
      lateDays: 0,
      reportsMissing: 0,
      nilReports: 0,
      insights: 0,
      immediateReports: 0,
      medianAckMinutes: null,
      surveyResponseRate: null,
      trainings: 0,
      commendations: 0,
    });
  }
  const selector = options.cycleNumber ? { cycleNumber: options.cycleNumber } : { range };
  for (const t of await taskRows(em, selector, false)) {
    const f = facts.get(t.departmentId);
    if (!f) continue;
    const s = standing(t);
    if (s === 'nil') f.nilReports++;
    else if (s === 'on_time') f.reportsOnTime++;
    else if (s === 'late') {
      f.reportsLate++;
      f.lateDays += t.lateDays;
    } else if (t.dueAt <= now) f.reportsMissing++;
  }
  // Two queries each covered by an index (idx_insights_period; idx_insights_kind_created for the
  // few immediate reports): one with SUM(CASE kind …) read every row on MariaDB (1.7 s for 200,000).
  const counts: Row[] = await em.query(
    'SELECT department_id AS d, COUNT(*) AS n FROM insights WHERE created_at >= ? AND created_at < ? AND department_id IS NOT NULL GROUP BY department_id',
    [range.start, range.end],
  );
  for (const row of counts) {
    const f = facts.get(String(row.d));
    if (f) f.insights = Number(row.n);
  }
  const immediate: Row[] = await em.query(
    "SELECT department_id AS d, COUNT(*) AS n FROM insights WHERE kind = 'immediate' AND created_at >= ? AND created_at < ? AND department_id IS NOT NULL GROUP BY department_id",
    [range.start, range.end],
  );
  for (const row of immediate) {
    const f = facts.get(String(row.d));
    if (f) f.immediateReports = Number(row.n);
  }
  const acks: Row[] = await em.query(
    `SELECT i.department_id AS d, e.acknowledged_at - i.created_at AS ms FROM escalations e JOIN insights i ON i.id = e.insight_id
     WHERE i.created_at >= ? AND i.created_at < ? AND e.acknowledged_at IS NOT NULL AND i.department_id IS NOT NULL`,
    [range.start, range.end],
  );
  const ackMinutes = new Map<string, number[]>();
  for (const row of acks) ackMinutes.set(String(row.d), [...(ackMinutes.get(String(row.d)) ?? []), Number(row.ms) / 60_000]);
  for (const [id, values] of ackMinutes) {
    const f = facts.get(id);
    const m = median(values);
    if (f && m !== null) f.medianAckMinutes = Math.round(m * 10) / 10;
  }
  if (services.facts?.surveys) {
    const { byDepartment } = await surveyParticipation(em, { ...services, facts: services.facts }, range);
    for (const [id, list] of byDepartment) {
      const f = facts.get(id);
      const recipients = list.reduce((a, s) => a + s.recipients, 0);
      if (f && recipients > 0) f.surveyResponseRate = list.reduce((a, s) => a + s.respondents, 0) / recipients;
    }
  }
  await addLiaisonRecords(em, services, range, facts);
  return [...facts.values()];
}

/** Training attendances and commendations of the range, counted for the department(s) the person is liaison of. */
async function addLiaisonRecords(em: EntityManager, services: FactServices, range: FactRange, facts: Map<string, SupervisionFact>): Promise<void> {
  const first = localDay(services.timeZone, range.start);
  const last = localDay(services.timeZone, range.end - 1);
  const rows: Row[] = await em.query(
    `SELECT g.scope AS d, r.kind AS k, COUNT(*) AS n FROM liaison_records r JOIN role_grants g ON g.person_id = r.person_id AND g.role = 'liaison'
     WHERE r.day >= ? AND r.day <= ? GROUP BY g.scope, r.kind`,
    [first, last],
  );
  for (const row of rows) {
    const f = facts.get(String(row.d));
    if (!f) continue;
    if (row.k === 'training') f.trainings = Number(row.n);
    else f.commendations = Number(row.n);
  }
}

function localDay(timeZone: string, at: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** The supervision facts provider (FactSources.supervision): reports of cycles due in the range. */
export async function supervisionFacts(em: EntityManager, services: FactServices, range: FactRange): Promise<SupervisionFact[]> {
  return supervisionRows(em, services as FactServices & { facts?: FactSources }, range);
}

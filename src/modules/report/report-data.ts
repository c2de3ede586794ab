import type { EntityManager } from 'typeorm';
import { CATEGORIES, METHODS, type Category } from '../../db/entities/insight.entity';
import { LedgerEntryEntity } from '../../db/entities/ledger.entity';
import { ISSUE_KINDS } from '../../db/entities/case.entity';
import { CATEGORY_LABELS, METHOD_LABELS, STATUS_LABELS } from '../../domain/glossary';
import type { DepartmentReportFact, FactRange, FactSources, FactServices, SurveyFact, ThemeFact } from '../../domain/facts';
import { GENESIS_HASH } from '../../core/ledger';
import { ISSUE_KIND_LABELS } from '../cases/case-service';
import { countsBy, countsByDepartment, lateDepartments, totals, type CountRow, type SummaryScope } from '../summary/summary-queries';
import { periodBounds, previousPeriod, type Period, type PeriodBounds } from '../summary/period';
import { immediateReportStats, type ImmediateReportStats } from '../escalation/escalation-queries';
import { insightSamples, measuresByKindAndStatus, type MeasureCount } from '../insights/insight-queries';
import { departmentSizes, personNames } from '../org/org-queries';
import type { ReportTarget } from './report-target';

/*
 * Everything the unit report (思想动态分析报告) prints, read once, with every figure recorded as it
 * is read: the annex lists each figure with the query, period and count that produced it, so an
 * auditor can recompute it, beside the ledger's head hash at generation time.
 */

/** One printed figure and where it came from. */
export interface TracedFigure {
  label: string;
  /** The query function and its arguments, e.g. countsBy(category). */
  source: string;
  period: string;
  value: number;
}

export interface Excerpt {
  text: string;
  /** A department of at least MIN_GROUP_SIZE people, or 其他部门. */
  where: string;
}

export interface AreaPerformance {
  category: Category;
  label: string;
  count: number;
  positive: Excerpt[];
  concern: Excerpt[];
}

export interface ReportData {
  target: ReportTarget;
  unitName: string;
  generatedAt: number;
  total: CountRow;
  yearAgoTotal: number | null;
  byCategory: CountRow[];
  yearAgoByCategory: Map<string, number>;
  byMethod: CountRow[];
  byDepartment: CountRow[];
  departmentsWithLiaison: number;
  departmentsSilent: number;
  immediate: ImmediateReportStats;
  /** Four quarters ending with the report's, oldest first: label and counts per category. */
  trend: { label: string; counts: Record<string, number> }[];
  areas: AreaPerformance[];
  measures: MeasureCount[];
  departmentReports: DepartmentReportFact[];
  surveys: SurveyFact[];
  themes: ThemeFact[];
  figures: TracedFigure[];
  ledgerHead: { id: number; hash: string };
  minGroupSize: number;
}

export interface ReportOptions {
  unitName: string;
  now: number;
  /** Excerpts per area and direction (positive / of concern). */
  excerptsPerArea?: number;
}

const EXCERPT_CHARS = 60;
/** Words that mark an unclassified insight as a positive attitude (积极向上的思想表现, Art. 11(二)). */
const POSITIVE = /积极|主动|认可|满意|支持|拥护|点赞|好评|感谢|提升|进步|担当|团结|热情|信心|踏实|奉献/;
const UNIT_SCOPE = (minGroupSize: number): SummaryScope => ({ departmentIds: null, mergeSmall: true, minGroupSize });

/** The ledger's last entry when the report is generated (the genesis hash for an empty ledger). */
export async function ledgerHead(em: EntityManager): Promise<{ id: number; hash: string }> {
  const [last] = await em.find(LedgerEntryEntity, { order: { id: 'DESC' }, take: 1 });
  return last ? { id: last.id, hash: last.hash } : { id: 0, hash: GENESIS_HASH };
}

function quarterOf(bounds: PeriodBounds): Period {
  return bounds.period.kind === 'quarter' ? bounds.period : { kind: 'quarter', year: bounds.period.year, index: Math.ceil(bounds.period.index / 3) };
}

/**
 * Replaces every name in `names` (longest first at each position) with `replacement`, in one pass:
 * a unit has thousands of people, so testing each name against each text would not scale.
 */
export function createScrubber(names: string[], replacement: string): (text: string) => string {
  // By first character: most characters start no name, and are copied at once.
  const byFirst = new Map<string, Set<string>>();
  for (const name of names) if (name.length >= 2) byFirst.set(name[0], (byFirst.get(name[0]) ?? new Set()).add(name));
  const lengths = new Map([...byFirst].map(([first, set]) => [first, [...new Set([...set].map((n) => n.length))].sort((a, b) => b - a)]));
  return (text) => {
    if (byFirst.size === 0) return text;
    const parts: string[] = [];
    let copied = 0;
    for (let i = 0; i < text.length; i++) {
      const candidates = byFirst.get(text[i]);
      if (!candidates) continue;
      const length = lengths.get(text[i])!.find((l) => candidates.has(text.slice(i, i + l)));
      if (!length) continue;
      parts.push(text.slice(copied, i), replacement);
      i += length - 1;
      copied = i + 1;
    }
    parts.push(text.slice(copied));
    return parts.join('');
  };
}

/** Names of people (某同志) and of departments below MIN_GROUP_SIZE (某部门) taken out of a text. */
export interface Scrubbers {
  people: (text: string) => string;
  smallDepartments: (text: string) => string;
}

/** An excerpt that names nobody, cut short. */
export function anonymize(text: string, scrub: Scrubbers): string {
  const out = scrub.smallDepartments(scrub.people(text.replace(/\s+/g, ' ').trim()));
  return [...out].length > EXCERPT_CHARS ? `${[...out].slice(0, EXCERPT_CHARS).join('')}……` : out;
}

export async function loadScrubbers(em: EntityManager, minGroupSize: number): Promise<Scrubbers> {
  const sizes = await departmentSizes(em);
  return {
    people: createScrubber(await personNames(em), '某同志'),
    smallDepartments: createScrubber([...sizes.values()].filter((d) => d.size < minGroupSize).map((d) => d.name), '某部门'),
  };
}

export async function collectReportData(
  em: EntityManager,
  services: FactServices & { facts: FactSources },
  target: ReportTarget,
  options: ReportOptions,
): Promise<ReportData> {
  const figures: TracedFigure[] = [];
  const bounds = target.bounds;
  const scope = UNIT_SCOPE(services.minGroupSize);
  const record = (label: string, source: string, period: string, value: number) => {
    figures.push({ label, source, period, value });
    return value;
  };
  const range: FactRange = { start: bounds.start, end: bounds.end, label: target.label };

  const total = await totals(em, bounds, scope);
  record('信息总数', 'totals()', bounds.label, total.current);
  record('上期信息总数', 'totals()', bounds.previous.label, total.previous);

  // The same quarter a year before (a month report compares with the same month).
  const yearAgoPeriod: Period = { ...bounds.period, year: bounds.period.year - 1 };
  const yearAgo = periodBounds(yearAgoPeriod, services.timeZone);
  const yearAgoTotal = (await totals(em, yearAgo, scope)).current;
  record('上年同期信息总数', 'totals()', yearAgo.label, yearAgoTotal);

  const byCategory = await countsBy(em, 'category', bounds, scope);
  const yearAgoByCategory = new Map((await countsBy(em, 'category', yearAgo, scope)).map((r) => [r.key, r.current]));
  for (const key of CATEGORIES) {
    const row = byCategory.find((r) => r.key === key);
    record(`类别：${CATEGORY_LABELS[key]}`, 'countsBy(category)', bounds.label, row?.current ?? 0);
    record(`类别：${CATEGORY_LABELS[key]}（上期）`, 'countsBy(category)', bounds.previous.label, row?.previous ?? 0);
    record(`类别：${CATEGORY_LABELS[key]}（上年同期）`, 'countsBy(category)', yearAgo.label, yearAgoByCategory.get(key) ?? 0);
  }
  const byMethod = await countsBy(em, 'method', bounds, scope);
  for (const key of METHODS) record(`方式：${METHOD_LABELS[key]}`, 'countsBy(method)', bounds.label, byMethod.find((r) => r.key === key)?.current ?? 0);
  const byDepartment = await countsByDepartment(em, bounds, scope);
  for (const row of byDepartment) if (row.current > 0) record(`部门：${row.label ?? row.key}`, 'countsByDepartment(mergeSmall)', bounds.label, row.current);

  const [{ n: withLiaison }] = await em.query(
    `SELECT COUNT(DISTINCT g.scope) AS n FROM role_grants g JOIN departments d ON d.id = g.scope WHERE g.role = 'liaison' AND d.active = 1`,
  );
  const departmentsWithLiaison = record('已有联络员的部门', 'role_grants(liaison)', '当前', Number(withLiaison));
  const departmentsSilent = record('本期无上报的部门（已有联络员）', 'lateDepartments()', bounds.label, (await lateDepartments(em, bounds, { ...scope, mergeSmall: false })).length);

  const immediate = await immediateReportStats(em, bounds);
  record('即时报告', 'immediateReportStats()', bounds.label, immediate.reports);
  record('即时报告：已确认', 'immediateReportStats()', bounds.label, immediate.acknowledged);
  if (immediate.medianAckMinutes !== null) record('即时报告：确认用时中位数（分钟）', 'immediateReportStats()', bounds.label, immediate.medianAckMinutes);

  // The last four quarters in two queries (each gives a quarter and the one before it); a quarterly
  // report's own pair is the category counts already read.
  const trend: ReportData['trend'] = [];
  const last = quarterOf(bounds);
  const secondLast = previousPeriod(previousPeriod(last));
  for (const q of [secondLast, last]) {
    const qb = periodBounds(q, services.timeZone);
    const rows = q === last && bounds.period.kind === 'quarter' ? byCategory : await countsBy(em, 'category', qb, scope);
    const before = previousPeriod(q);
    const halves: [Period, string, (r: CountRow) => number][] = [
      [before, qb.previous.label, (r) => r.previous],
      [q, qb.label, (r) => r.current],
    ];
    for (const [period, label, pick] of halves) {
      const counts = Object.fromEntries(CATEGORIES.map((c) => [c, pick(rows.find((r) => r.key === c) ?? { key: c, label: null, current: 0, previous: 0 })]));
      trend.push({ label: `${period.year}Q${period.index}`, counts });
      record(`趋势：${label}合计`, 'countsBy(category)', label, Object.values(counts).reduce((x, y) => x + y, 0));
    }
  }

  const sizes = await departmentSizes(em);
  const scrub = await loadScrubbers(em, services.minGroupSize);
  const perArea = options.excerptsPerArea ?? 3;
  const areas: AreaPerformance[] = [];
  for (const category of CATEGORIES) {
    const excerpts = async (concern: boolean): Promise<Excerpt[]> =>
      (await insightSamples(em, bounds, category, concern, concern ? perArea : perArea * 5))
        .map((s) => ({ s, text: services.cipher.decrypt(s.textEnc) }))
        .filter(({ text }) => concern || POSITIVE.test(text))
        .slice(0, perArea)
        .map(({ s, text }) => {
        const department = s.departmentId ? sizes.get(s.departmentId) : undefined;
        const where = department && department.size >= services.minGroupSize ? department.name : '其他部门';
        return { text: anonymize(text, scrub), where };
        });
    areas.push({ category, label: CATEGORY_LABELS[category], count: byCategory.find((r) => r.key === category)?.current ?? 0, positive: await excerpts(false), concern: await excerpts(true) });
  }

  const measures = await measuresByKindAndStatus(em, bounds);
  for (const kind of ISSUE_KINDS) {
    for (const status of ['classified', 'handled', 'closed'] as const) {
      const n = measures.find((m) => m.issueKind === kind && m.status === status)?.count ?? 0;
      if (n) record(`${ISSUE_KIND_LABELS[kind]}：${STATUS_LABELS[status]}`, 'measuresByKindAndStatus()', bounds.label, n);
    }
  }

  const departmentReports = services.facts.departmentReports
    ? await services.facts.departmentReports(em, services, target.cycleNumber ? { cycleNumber: target.cycleNumber } : { range })
    : [];
  if (services.facts.departmentReports) {
    record('部门报告：按时', 'facts.departmentReports()', target.label, departmentReports.filter((r) => r.status === 'on_time').length);
    record('部门报告：逾期', 'facts.departmentReports()', target.label, departmentReports.filter((r) => r.status === 'late').length);
    record('部门报告：未报', 'facts.departmentReports()', target.label, departmentReports.filter((r) => r.status === 'missing').length);
    record('部门报告：零报告', 'facts.departmentReports()', target.label, departmentReports.filter((r) => r.status === 'nil').length);
  }
  const surveys = services.facts.surveys ? await services.facts.surveys(em, services, range) : [];
  for (const s of surveys) {
    record(`问卷 ${s.number}：发放`, 'facts.surveys()', target.label, s.recipients);
    record(`问卷 ${s.number}：回收`, 'facts.surveys()', target.label, s.respondents);
  }
  const themes = services.facts.themes ? await services.facts.themes(em, services, range) : [];
  for (const t of themes.slice(0, 10)) record(`主题「${t.word}」`, 'facts.themes()', target.label, t.insights);

  return {
    target,
    unitName: options.unitName,
    generatedAt: options.now,
    total,
    yearAgoTotal,
    byCategory,
    yearAgoByCategory,
    byMethod,
    byDepartment,
    departmentsWithLiaison,
    departmentsSilent,
    immediate,
    trend,
    areas,
    measures,
    departmentReports,
    surveys,
    themes,
    figures,
    ledgerHead: await ledgerHead(em),
    minGroupSize: services.minGroupSize,
  };
}

/** True when the period has nothing to report on (a short report says so). */
export function isEmptyReport(data: ReportData): boolean {
  return data.total.current === 0 && data.departmentReports.every((r) => r.sections === null) && data.surveys.length === 0;
}

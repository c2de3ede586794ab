import type { EntityManager } from 'typeorm';
import { UserFacingError, type BotModule, type Command, type DepartmentReportSubmission, type TurnContext } from '../../bot/turn-context';
import { AnalysisTermEntity } from '../../db/entities/analysis.entity';
import type { Insight } from '../../db/entities/insight.entity';
import { CATEGORY_LABELS } from '../../domain/glossary';
import { splitCommand, words } from '../../domain/text';
import type { Category } from '../../db/entities/insight.entity';
import { isUnitWide } from '../cases/case-access';
import { parsePeriod, periodBounds, type PeriodBounds } from '../summary/period';
import { formatZonedDate } from '../../lib/zoned-time';
import { otherDepartmentsRaising, themesForPeriod, type ThemeFact } from './analysis-queries';
import { checkTerm } from './dictionary';
import { addTerm, createKeywordIds, officeTerms, recategorize, removeSourceKeywords, reportSourceId, REPORT_CATEGORY, storeInsightKeywords, type AnalysisDeps } from './keyword-store';
import { createKeywordExtractor, type KeywordExtractor } from './segmenter';
import { analysisRotationSteps } from './keyword-rotation';
import { monthKey } from './months';
import { classifyWarning, createWarningChecker, currentQuarter, describeWarning, quarterKey, readWarning, warningsOf, WARNING_TEMPLATE } from './warnings';

/** How often an instance looks for words another instance's office added (a COUNT on a tiny table). */
const TERMS_REFRESH_MS = 60_000;

function delta(current: number, previous: number | null): string {
  if (previous === null) return '—';
  const d = current - previous;
  return d > 0 ? `+${d}` : d < 0 ? `${d}` : '持平';
}

function themeTable(themes: ThemeFact[], unitWide: boolean): string {
  const header = unitWide ? '| 话题 | 信息 | 部门 | 上期 | 变化 | 类别 | 研判 |\n|---|---:|---:|---:|---:|---|---|' : '| 话题 | 信息 | 上期 | 变化 | 类别 |\n|---|---:|---:|---:|---|';
  const rows = themes.map((t) => {
    const categories = t.categories.map((c) => CATEGORY_LABELS[c as Category] ?? c).join('、');
    const previous = t.previousInsights === null ? '—' : String(t.previousInsights);
    if (!unitWide) return `| ${t.word} | ${t.insights} | ${previous} | ${delta(t.insights, t.previousInsights)} | ${categories} |`;
    const judgement = t.spread ? '**倾向性**，建议按普遍性问题研判' : '';
    return `| ${t.word} | ${t.insights} | ${t.departments} | ${previous} | ${delta(t.insights, t.previousInsights)} | ${categories} | ${judgement} |`;
  });
  return [header, ...rows].join('\n');
}

export function createAnalysis(deps: AnalysisDeps, extractor: KeywordExtractor = createKeywordExtractor()) {
  const keywordIds = createKeywordIds();
  const warnings = createWarningChecker(deps);
  let termsKnown = -1;
  let termsCheckedAt = -Infinity;

  /** Teaches the segmenter the office's words, at first use and then once a minute (other instances may add some). */
  async function refreshTerms(em: EntityManager, now: number): Promise<void> {
    if (now - termsCheckedAt < TERMS_REFRESH_MS) return;
    termsCheckedAt = now;
    const count = await em.count(AnalysisTermEntity);
    if (count === termsKnown) return;
    extractor.addTerms(await officeTerms(em, deps.cipher));
    termsKnown = count;
  }

  /**
   * Runs in the transaction that records an insight (BotServices.onInsightRecorded): its keywords
   * are stored as hashes, the warning rules are checked, and the reporter's card is told how many
   * other departments raised the same theme this quarter.
   */
  async function onInsightRecorded(ctx: TurnContext, insight: Insight, text: string): Promise<Record<string, string>> {
    await refreshTerms(ctx.em, ctx.now);
    const found = extractor.keywords(text);
    const ids = await keywordIds.idsFor(ctx.em, deps, found, ctx.now);
    await storeInsightKeywords(ctx.em, insight, ids, deps.timeZone);
    await warnings.check(ctx, insight, ids);
    if (ids.length === 0) return {};
    const others = await otherDepartmentsRaising(ctx.em, ids, monthKey(deps.timeZone, currentQuarter(deps.timeZone, ctx.now).start), insight.departmentId);
    return { themeContext: others > 0 ? `本季度另有 ${others} 个部门反映过相同话题` : '本季度其他部门暂未反映相同话题' };
  }

  /**
   * A submitted department report (BotServices.onDepartmentReportSubmitted) counts as one source of
   * its department, like one insight: the keywords of each text it has, each keyword once, so that a
   * theme is never shown on the strength of one report alone (MIN_THEME_COUNT counts sources). A
   * later version replaces the previous one's keywords. No warning is checked here: the rules judge
   * insights, and the report's keywords count in them from now on.
   */
  async function onDepartmentReportSubmitted(ctx: TurnContext, report: DepartmentReportSubmission): Promise<void> {
    await refreshTerms(ctx.em, ctx.now);
    const sourceId = reportSourceId(report.taskId);
    await removeSourceKeywords(ctx.em, sourceId, deps.timeZone);
    const found = [...new Set(report.texts.flatMap((text) => extractor.keywords(text)))];
    const ids = await keywordIds.idsFor(ctx.em, deps, found, ctx.now);
    await storeInsightKeywords(ctx.em, { id: sourceId, departmentId: report.departmentId, category: REPORT_CATEGORY, createdAt: report.countedAt }, ids, deps.timeZone);
  }

  async function dictionary(ctx: TurnContext, rest: string): Promise<void> {
    if (!ctx.actor.roles.has('office')) throw new UserFacingError('研判词典由机关党委维护。');
    const [verb, word, extra] = words(rest);
    if (!verb) {
      const terms = await officeTerms(ctx.em, deps.cipher);
      await ctx.replyText(terms.length ? `机关党委添加的词条（${terms.length} 个）：${terms.join('、')}` : '机关党委尚未添加词条。添加：研判 词典 添加 职工书屋');
      return;
    }
    if (verb !== '添加' || !word || extra) throw new UserFacingError('用法：研判 词典 添加 词，例如：研判 词典 添加 职工书屋');
    const problem = checkTerm(word);
    if (problem) throw new UserFacingError(problem);
    const added = await addTerm(ctx.em, deps, word, ctx.actor.person.id, ctx.now);
    if (!added) {
      await ctx.replyText(`词典里已有「${word}」。`);
      return;
    }
    // Known to this instance at once (others within a minute); the ledger keeps no word, only that one was added.
    ctx.defer(async () => extractor.addTerms([word]));
    await ctx.ledger({ kind: 'analysis.term.added', subjectType: 'analysis-term', data: {} });
    await ctx.replyText(`已将「${word}」加入研判词典，此后上报的信息会把它作为一个词识别（已记录的信息不重新提取）。`);
  }

  async function review(ctx: TurnContext, args: string): Promise<void> {
    const period = parsePeriod(args, deps.timeZone, ctx.now);
    if (!period) throw new UserFacingError('不认识这个时段。可用：研判（本季度）、研判 上季度、研判 2026Q4；维护词典：研判 词典 添加 词。');
    const bounds = periodBounds(period, deps.timeZone);
    if (bounds.start > ctx.now) throw new UserFacingError(`${bounds.label}还没有开始。`);
    const unitWide = isUnitWide(ctx.actor);
    const departmentIds = unitWide ? null : ctx.actor.liaisonOf;
    const themes = await themesForPeriod(ctx.em, deps, bounds, { departmentIds, limit: 10, previousStart: bounds.previous.start });
    const title = `分析研判 · ${bounds.label}`;
    const markdown = [
      `## ${title}`,
      `范围：${unitWide ? '全单位' : '本部门'}　时段：${formatZonedDate(deps.timeZone, bounds.start)} 至 ${formatZonedDate(deps.timeZone, bounds.end - 1)}`,
      '### 主要话题',
      themes.length ? themeTable(themes, unitWide) : `本期没有被至少 ${deps.minThemeCount} 条信息提到的话题。`,
      themes.some((t) => t.spread)
        ? `_被至少 ${deps.themeSpread} 个部门提到的话题标为倾向性，按办法第十四条（一）建议作为普遍性问题研判，通过加强教育引导、完善制度机制等方式统筹解决。_`
        : '',
      unitWide ? await warningSection(ctx, bounds) : '',
      `_话题至少有 ${deps.minThemeCount} 条信息才显示；只显示${unitWide ? '条数和部门数' : '条数'}，不显示原文。上期：${bounds.previous.label}。_`,
    ]
      .filter(Boolean)
      .join('\n\n');
    await ctx.ledger({ kind: 'analysis.viewed', subjectType: 'analysis', subjectId: bounds.label, data: { scope: departmentIds ?? 'unit', themes: themes.length } });
    await ctx.reply({ kind: 'markdown', title, markdown });
  }

  async function warningSection(ctx: TurnContext, bounds: PeriodBounds): Promise<string> {
    if (bounds.period.kind !== 'quarter') return '';
    const list = await warningsOf(ctx.em, quarterKey(bounds.period));
    if (list.length === 0) return '### 预警\n本期没有触发预警。';
    const lines = await Promise.all(list.map(async (w) => `- ${await describeWarning(ctx.em, deps, w)}`));
    return ['### 预警', ...lines].join('\n');
  }

  const reviewCommand: Command = {
    name: '研判',
    aliases: ['/analysis', 'analysis'],
    roles: ['office', 'deputy', 'secretary', 'liaison'],
    summary: '某一季度的主要话题、涉及部门和预警（联络员限本部门）',
    example: '研判 上季度（也可：研判、研判 2026Q4；机关党委：研判 词典 添加 职工书屋）',
    async run(ctx, args) {
      const { word, rest } = splitCommand(args.trim());
      if (word === '词典') return dictionary(ctx, rest);
      return review(ctx, args);
    },
  };

  const module: BotModule = {
    commands: [reviewCommand],
    keyRotation: analysisRotationSteps(deps.timeZone),
    cardActions: [
      { template: WARNING_TEMPLATE, action: 'read', run: (ctx, cardId) => readWarning(ctx, cardId) },
      { template: WARNING_TEMPLATE, action: 'classify', run: classifyWarning },
    ],
  };
  const onInsightCorrected = (ctx: TurnContext, insight: Insight) => recategorize(ctx.em, insight.id, insight.category);
  return { module, onInsightRecorded, onInsightCorrected, onDepartmentReportSubmitted };
}

export type Analysis = ReturnType<typeof createAnalysis>;

import type { EntityManager } from 'typeorm';
import { UserFacingError, type TurnContext } from '../../bot/turn-context';
import { peopleWithRole } from '../../core/actor';
import { AnalysisWarningEntity, type AnalysisWarning, type WarningKind } from '../../db/entities/analysis.entity';
import { ISSUE_KINDS, type IssueKind } from '../../db/entities/case.entity';
import type { Category, Insight } from '../../db/entities/insight.entity';
import { CATEGORY_LABELS } from '../../domain/glossary';
import { isUnitWide } from '../cases/case-access';
import { ISSUE_KIND_GUIDANCE, ISSUE_KIND_LABELS } from '../cases/case-service';
import { formatTime } from '../insights/insight-service';
import { departmentNames } from '../org/org-service';
import { parsePeriod, periodBounds, previousPeriod, type Period, type PeriodBounds } from '../summary/period';
import { formatZonedDate } from '../../lib/zoned-time';
import {
  countsInRanges,
  departmentsOfKeyword,
  departmentSizes,
  firstInsightAt,
  keywordSpread,
  keywordsSeenBetween,
  themesForPeriod,
} from './analysis-queries';
import type { AnalysisDeps } from './keyword-store';
import { wordsOf } from './keyword-store';
import { HISTORY_QUARTERS, judgeSpike, MIN_SPIKE_COUNT, SPIKE_P, SPIKE_RATIO } from './spike-rule';

export const WARNING_TEMPLATE = 'analysis-warning';
export const WARNING_SUBJECT = 'analysis-warning';
/** A theme spreads "fast" when it reaches THEME_SPREAD departments within this window … */
export const SPREAD_WINDOW_MS = 14 * 24 * 3600 * 1000;
/** … and is "new" when no insight carried it in this long before the window. */
export const NEW_THEME_QUIET_MS = 180 * 24 * 3600 * 1000;

const KIND_LABELS: Record<WarningKind, string> = { department: '部门信息数量异常增多', category: '类别信息数量异常增多', spread: '新话题多部门扩散' };

export function quarterKey(period: Period): string {
  return `${period.year}Q${period.index}`;
}

export function currentQuarter(timeZone: string, now: number): PeriodBounds {
  return periodBounds(parsePeriod('', timeZone, now)!, timeZone);
}

function previousQuarters(current: PeriodBounds, timeZone: string, count: number): PeriodBounds[] {
  const quarters: PeriodBounds[] = [];
  let period = current.period;
  for (let i = 0; i < count; i++) {
    period = previousPeriod(period);
    quarters.push(periodBounds(period, timeZone));
  }
  return quarters;
}

async function alreadyWarned(em: EntityManager, kind: WarningKind, subject: string, period: string): Promise<boolean> {
  return (await em.countBy(AnalysisWarningEntity, { kind, subject, period })) > 0;
}

/**
 * Checks, in the transaction that records an insight, whether it tips its department, its category
 * or one of its themes over a warning rule (README "研判"), and sends each warning once per quarter.
 * Each check is a few indexed counts; past quarters' counts are remembered (they no longer change).
 */
export function createWarningChecker(deps: AnalysisDeps) {
  const histories = new Map<string, number[]>();
  let historiesQuarter = '';
  let firstAt: number | null = null;

  async function historyOf(em: EntityManager, column: 'department_id' | 'category', value: string, current: PeriodBounds): Promise<number[]> {
    const quarter = quarterKey(current.period);
    // A new quarter: last quarter's histories are of no more use.
    if (quarter !== historiesQuarter) histories.clear();
    historiesQuarter = quarter;
    const key = `${column}:${value}`;
    const cached = histories.get(key);
    if (cached) return cached;
    firstAt ??= await firstInsightAt(em);
    // Quarters before the first insight was recorded are no history (the bot was not yet in use).
    const quarters = previousQuarters(current, deps.timeZone, HISTORY_QUARTERS).filter((q) => firstAt !== null && q.end > firstAt);
    const counts = quarters.length ? await countsInRanges(em, column, value, quarters) : [];
    histories.set(key, counts);
    return counts;
  }

  async function checkSpike(ctx: TurnContext, kind: 'department' | 'category', value: string, current: PeriodBounds): Promise<void> {
    const period = quarterKey(current.period);
    if (await alreadyWarned(ctx.em, kind, value, period)) return;
    const column = kind === 'department' ? 'department_id' : 'category';
    const [observed] = await countsInRanges(ctx.em, column, value, [{ start: current.start, end: ctx.now + 1 }]);
    if (observed < MIN_SPIKE_COUNT) return;
    const history = await historyOf(ctx.em, column, value, current);
    const verdict = judgeSpike(observed, history);
    if (!verdict.spike) return;
    const vars = await spikeCard(ctx, kind, value, current, observed, history, verdict.p);
    await sendWarning(ctx, { kind, subject: value, period, observed, expectedMilli: Math.round(verdict.expected * 1000), departments: kind === 'department' ? 1 : 0 }, vars);
  }

  async function spikeCard(ctx: TurnContext, kind: 'department' | 'category', value: string, current: PeriodBounds, observed: number, history: number[], p: number) {
    const mean = history.reduce((a, b) => a + b, 0) / history.length;
    const until = formatZonedDate(deps.timeZone, ctx.now);
    const evidence = `${current.label}（截至 ${until}）${observed} 条；此前 ${history.length} 个季度平均 ${mean.toFixed(1)} 条（由近及远：${history.join('、')}）；泊松检验 p ${p < 0.0001 ? '< 0.0001' : `= ${p.toFixed(4)}`}`;
    const rule = `本季度至少 ${MIN_SPIKE_COUNT} 条、至少为此前季度平均的 ${SPIKE_RATIO} 倍，且按泊松分布出现这么多的概率不超过 ${SPIKE_P}`;
    if (kind === 'category') {
      const label = CATEGORY_LABELS[value as Category] ?? value;
      return { title: `「${label}」类信息明显增多`, label, evidence, rule, departments: '', themes: '' };
    }
    const name = (await departmentNames(ctx.em, [value])).get(value) ?? value;
    const size = (await departmentSizes(ctx.em, [value])).get(value) ?? 0;
    // Never words from a department below MIN_GROUP_SIZE: its themes could be read back to a person.
    const themes =
      size >= deps.minGroupSize
        ? (await themesForPeriod(ctx.em, deps, { start: current.start, end: ctx.now + 1 }, { departmentIds: [value], limit: 3 }))
            .map((t) => `${t.word}（${t.insights} 条）`)
            .join('、')
        : '';
    return { title: `${name}本季度信息明显增多`, label: name, evidence, rule, departments: name, themes };
  }

  async function checkSpread(ctx: TurnContext, keywordIds: number[], current: PeriodBounds): Promise<void> {
    const windowStart = ctx.now - SPREAD_WINDOW_MS;
    // "New" needs the whole quiet period on record: in the bot's first half-year every theme is new.
    firstAt ??= await firstInsightAt(ctx.em);
    if (firstAt === null || firstAt > windowStart - NEW_THEME_QUIET_MS) return;
    // Newness first (one index probe per keyword): a usual theme is never counted here.
    const seenBefore = await keywordsSeenBetween(ctx.em, keywordIds, windowStart - NEW_THEME_QUIET_MS, windowStart);
    const fresh = keywordIds.filter((id) => !seenBefore.has(id));
    const spreading = (await keywordSpread(ctx.em, fresh, windowStart)).filter((k) => k.departments >= deps.themeSpread && k.insights >= deps.minThemeCount);
    const period = quarterKey(current.period);
    for (const theme of spreading) {
      const subject = String(theme.keywordId);
      if (await alreadyWarned(ctx.em, 'spread', subject, period)) continue;
      const word = (await wordsOf(ctx.em, deps.cipher, [theme.keywordId])).get(theme.keywordId) ?? '';
      const departments = await describeDepartments(ctx.em, (await departmentsOfKeyword(ctx.em, theme.keywordId, windowStart)).map((d) => d.departmentId));
      const vars = {
        title: `新话题「${word}」在 ${theme.departments} 个部门出现`,
        label: word,
        evidence: `近 14 天 ${theme.insights} 条信息、${theme.departments} 个部门提到；此前 180 天没有`,
        rule: `近 14 天内至少 ${deps.themeSpread} 个部门、至少 ${deps.minThemeCount} 条信息提到，且此前 180 天未出现的话题`,
        departments,
        themes: word,
      };
      await sendWarning(ctx, { kind: 'spread', subject, period, observed: theme.insights, expectedMilli: 0, departments: theme.departments }, vars);
    }
  }

  /** Department names, those below MIN_GROUP_SIZE folded into a count (其他部门). */
  async function describeDepartments(em: EntityManager, ids: string[]): Promise<string> {
    const sizes = await departmentSizes(em, ids);
    const names = await departmentNames(em, ids);
    const named = ids.filter((id) => (sizes.get(id) ?? 0) >= deps.minGroupSize).map((id) => names.get(id) ?? id);
    const others = ids.length - named.length;
    return [...named, ...(others ? [`其他部门 ${others} 个`] : [])].join('、');
  }

  async function sendWarning(
    ctx: TurnContext,
    row: Pick<AnalysisWarning, 'kind' | 'subject' | 'period' | 'observed' | 'expectedMilli' | 'departments'>,
    vars: { title: string; label: string; evidence: string; rule: string; departments: string; themes: string },
  ): Promise<void> {
    const { identifiers } = await ctx.em.insert(AnalysisWarningEntity, {
      ...row,
      cardId: null,
      state: 'open',
      issueKind: null,
      handledBy: null,
      handledAt: null,
      createdAt: ctx.now,
    });
    const id = Number(identifiers[0].id);
    const card = await ctx.services.cards.create(
      ctx.em,
      WARNING_TEMPLATE,
      {
        ...vars,
        kindLabel: KIND_LABELS[row.kind],
        periodLabel: periodLabelOf(row.period),
        summary:
          row.kind === 'spread'
            ? '按办法第三条（二）早发现、早预警：该话题可能具有倾向性，请研判是否属于普遍性问题（第十四条（一））。'
            : '按办法第三条（二）早发现、早预警：请关注并研判原因，必要时定性处置。',
      },
      { type: WARNING_SUBJECT, id: String(id) },
      ctx.now,
    );
    await ctx.em.update(AnalysisWarningEntity, { id }, { cardId: card.cardId });
    const recipients = [...(await peopleWithRole(ctx.em, 'office')), ...(await peopleWithRole(ctx.em, 'secretary'))].map((p) => p.id);
    await ctx.notify([...new Set(recipients)], { kind: 'card', card }, { priority: 'alert' });
    if (recipients.length === 0) ctx.services.log.warn({ warning: id }, 'analysis warning: no office and no secretary to tell');
    await ctx.ledger({
      kind: 'analysis.warning',
      actorId: null,
      subjectType: WARNING_SUBJECT,
      subjectId: String(id),
      data: { warningKind: row.kind, subject: row.subject, period: row.period, observed: row.observed, expected: row.expectedMilli / 1000, departments: row.departments, recipients: new Set(recipients).size },
    });
  }

  return {
    async check(ctx: TurnContext, insight: Pick<Insight, 'departmentId' | 'category'>, keywordIds: number[]): Promise<void> {
      const current = currentQuarter(deps.timeZone, ctx.now);
      if (insight.departmentId) await checkSpike(ctx, 'department', insight.departmentId, current);
      await checkSpike(ctx, 'category', insight.category, current);
      await checkSpread(ctx, keywordIds, current);
    },
  };
}

function periodLabelOf(key: string): string {
  const [year, quarter] = key.split('Q');
  return `${year}年第${quarter}季度`;
}

/** Warnings of a quarter, for 研判 (the whole unit's view). */
export async function warningsOf(em: EntityManager, period: string): Promise<AnalysisWarning[]> {
  return em.find(AnalysisWarningEntity, { where: { period }, order: { id: 'ASC' } });
}

const STATE_LABELS = { open: '待阅', read: '已阅', classified: '已定性' } as const;

export async function describeWarning(em: EntityManager, deps: AnalysisDeps, warning: AnalysisWarning): Promise<string> {
  let subject: string;
  if (warning.kind === 'department') subject = (await departmentNames(em, [warning.subject])).get(warning.subject) ?? warning.subject;
  else if (warning.kind === 'category') subject = `「${CATEGORY_LABELS[warning.subject as Category] ?? warning.subject}」类`;
  else subject = `话题「${(await wordsOf(em, deps.cipher, [Number(warning.subject)])).get(Number(warning.subject)) ?? ''}」`;
  const evidence =
    warning.kind === 'spread'
      ? `${warning.observed} 条、${warning.departments} 个部门`
      : `${warning.observed} 条，此前季度平均 ${(warning.expectedMilli / 1000).toFixed(1)} 条`;
  const state = warning.issueKind ? `已定性为${ISSUE_KIND_LABELS[warning.issueKind as IssueKind]}` : STATE_LABELS[warning.state];
  return `${KIND_LABELS[warning.kind]}：${subject}（${evidence}；${formatTime(deps.timeZone, warning.createdAt)}，${state}）`;
}

async function warningOfCard(ctx: TurnContext, cardId: string): Promise<AnalysisWarning> {
  if (!isUnitWide(ctx.actor)) throw new UserFacingError('预警卡片由机关党委和党组领导处理。');
  const loaded = await ctx.services.cards.load(ctx.em, cardId);
  const warning = loaded?.subject?.type === WARNING_SUBJECT ? await ctx.em.findOneBy(AnalysisWarningEntity, { id: Number(loaded.subject.id) }) : null;
  if (!warning) throw new UserFacingError('找不到这条预警。');
  return warning;
}

/** 已阅: the first reader is recorded; every copy of the card shows who and when. */
export async function readWarning(ctx: TurnContext, cardId: string): Promise<void> {
  const warning = await warningOfCard(ctx, cardId);
  if (warning.state !== 'open') {
    await ctx.replyText(`这条预警已由他人处理（${STATE_LABELS[warning.state]}）。`);
    return;
  }
  await ctx.em.update(AnalysisWarningEntity, { id: warning.id }, { state: 'read', handledBy: ctx.actor.person.id, handledAt: ctx.now });
  await ctx.services.cards.update(ctx.em, cardId, { state: `${ctx.actor.person.name} 已阅 ${formatTime(ctx.services.timeZone, ctx.now)}` }, ctx.now);
  await ctx.ledger({ kind: 'analysis.warning.read', subjectType: WARNING_SUBJECT, subjectId: String(warning.id), data: { warningKind: warning.kind, period: warning.period } });
  await ctx.replyText('已阅。可在卡片上选择定性（普遍性、个别性、合理诉求、苗头性）后点「定性」。');
}

/** 定性: classifies the warning as one of Art. 14's kinds. */
export async function classifyWarning(ctx: TurnContext, cardId: string, values: Record<string, string | string[]>): Promise<void> {
  const warning = await warningOfCard(ctx, cardId);
  const chosen = Array.isArray(values.issueKind) ? values.issueKind[0] : values.issueKind;
  if (!chosen || !ISSUE_KINDS.includes(chosen as IssueKind)) throw new UserFacingError('请先在卡片上选择定性（普遍性、个别性、合理诉求、苗头性），再点「定性」。');
  const issueKind = chosen as IssueKind;
  if (warning.issueKind === issueKind) {
    await ctx.replyText(`这条预警已定性为「${ISSUE_KIND_LABELS[issueKind]}」，没有变化。`);
    return;
  }
  await ctx.em.update(AnalysisWarningEntity, { id: warning.id }, { state: 'classified', issueKind, handledBy: ctx.actor.person.id, handledAt: ctx.now });
  const label = ISSUE_KIND_LABELS[issueKind];
  await ctx.services.cards.update(ctx.em, cardId, { state: `已定性为「${label}」（${ctx.actor.person.name} ${formatTime(ctx.services.timeZone, ctx.now)}）` }, ctx.now);
  await ctx.ledger({
    kind: 'analysis.warning.classified',
    subjectType: WARNING_SUBJECT,
    subjectId: String(warning.id),
    data: { warningKind: warning.kind, period: warning.period, issueKind, previous: warning.issueKind },
  });
  await ctx.replyText(`已将这条预警定性为「${label}」。按办法第十四条，${ISSUE_KIND_GUIDANCE[issueKind]}`);
}

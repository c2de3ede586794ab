import { CATEGORIES, METHODS } from '../../db/entities/insight.entity';
import { CATEGORY_LABELS, METHOD_LABELS } from '../../domain/glossary';
import { UserFacingError, type BotModule, type Command, type TurnContext } from '../../bot/turn-context';
import { isUnitWide } from '../cases/case-access';
import { formatZonedDate } from '../../lib/zoned-time';
import { surveySummarySection } from '../surveys/survey-queries';
import { parsePeriod, periodBounds, type PeriodBounds } from './period';
import {
  backlog,
  countsBy,
  countsByDepartment,
  departmentsWithoutLiaison,
  lateDepartments,
  openImmediate,
  suggestionCounts,
  totals,
  unacknowledgedAlerts,
  type CountRow,
  type SummaryScope,
} from './summary-queries';

function delta(row: { current: number; previous: number }): string {
  const d = row.current - row.previous;
  return d > 0 ? `+${d}` : d < 0 ? `${d}` : '持平';
}

/** A table of fixed rows (all categories, all methods) so that zeros show too. */
function fixedTable(title: string, header: string, labels: Record<string, string>, order: readonly string[], rows: CountRow[]): string {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const lines = order.map((key) => {
    const row = byKey.get(key) ?? { current: 0, previous: 0 };
    return `| ${labels[key]} | ${row.current} | ${row.previous} | ${delta(row)} |`;
  });
  return [`### ${title}`, `| ${header} | 本期 | 上期 | 变化 |`, '|---|---:|---:|---:|', ...lines].join('\n');
}

function departmentTable(rows: CountRow[]): string {
  if (rows.length === 0) return '### 按部门\n本期和上期均无信息。';
  const lines = rows.map((r) => `| ${r.label ?? r.key} | ${r.current} | ${r.previous} | ${delta(r)} |`);
  return ['### 按部门', '| 部门 | 本期 | 上期 | 变化 |', '|---|---:|---:|---:|', ...lines].join('\n');
}

/** The biggest rise and fall among categories: "what changed" in one line. */
function changeNote(rows: CountRow[]): string | null {
  const moves = rows.map((r) => ({ label: CATEGORY_LABELS[r.key as keyof typeof CATEGORY_LABELS] ?? r.key, d: r.current - r.previous })).filter((m) => m.d !== 0);
  if (moves.length === 0) return null;
  moves.sort((a, b) => b.d - a.d);
  const parts: string[] = [];
  if (moves[0].d > 0) parts.push(`「${moves[0].label}」增加最多（+${moves[0].d}）`);
  const last = moves[moves.length - 1];
  if (last.d < 0) parts.push(`「${last.label}」减少最多（${last.d}）`);
  return parts.length ? `与上期相比：${parts.join('，')}。` : null;
}

/**
 * What is open now, whatever the period asked for: a summary of 上季度 still shows the immediate
 * reports open today (the heading says so), since that is what the office has to act on.
 */
async function backlogSection(ctx: TurnContext, scope: SummaryScope): Promise<string> {
  const open = await backlog(ctx.em, scope);
  const immediate = await openImmediate(ctx.em, scope);
  const unacknowledged = await unacknowledgedAlerts(ctx.em, scope);
  const listed = immediate.length ? `（${immediate.join('、')}${open.immediate > immediate.length ? ' 等' : ''}）` : '';
  const oldest = open.oldestUnclassified === null ? '' : `，最早一条记录于 ${formatZonedDate(ctx.services.timeZone, open.oldestUnclassified)}`;
  return [
    `### 待办事项（当前状态，截至 ${formatZonedDate(ctx.services.timeZone, ctx.now)}，不限于本时段）`,
    `- 未处置的即时报告：${open.immediate} 条${listed}`,
    `- 领导尚未确认的即时报告预警：${unacknowledged} 条`,
    `- 待定性：${open.unclassified} 条${oldest}`,
    `- 已定性、待处置：${open.unhandled} 条`,
  ].join('\n');
}

async function supervisionSection(ctx: TurnContext, bounds: PeriodBounds, scope: SummaryScope): Promise<string> {
  const late = await lateDepartments(ctx.em, bounds, scope);
  const allReported = scope.departmentIds === null ? '- 已有联络员的部门本期均已上报。' : '- 本部门本期已有上报。';
  const lines = ['### 督促检查', late.length ? `- 本期尚无上报的部门（已有联络员）：${late.join('、')}` : allReported];
  if (scope.departmentIds === null) {
    const missing = await departmentsWithoutLiaison(ctx.em);
    if (missing.count) lines.push(`- 未指定联络员的部门：${missing.count} 个（${missing.names.join('、')}${missing.count > missing.names.length ? ' 等' : ''}）`);
  }
  return lines.join('\n');
}

/** Suggestions belong to no department: only the whole-unit view shows them. */
async function suggestionSection(ctx: TurnContext, bounds: PeriodBounds, scope: SummaryScope): Promise<string | null> {
  if (scope.departmentIds !== null) return null;
  const box = await suggestionCounts(ctx.em, bounds);
  return `### 意见信箱\n- 本期收到 ${box.current} 条，上期 ${box.previous} 条，${delta(box)}；目前待答复 ${box.waiting} 条。`;
}

async function scopeFor(ctx: TurnContext): Promise<{ scope: SummaryScope; label: string }> {
  const minGroupSize = ctx.services.minGroupSize;
  if (isUnitWide(ctx.actor)) return { scope: { departmentIds: null, mergeSmall: false, minGroupSize }, label: '全单位' };
  // A liaison sees only the own departments, whose insights the liaison reported: they are never
  // merged away into 其他部门 in this view, however small.
  return { scope: { departmentIds: ctx.actor.liaisonOf, mergeSmall: false, minGroupSize }, label: '本部门' };
}

const summaryCommand: Command = {
  name: '汇总',
  aliases: ['/summary', 'summary'],
  roles: ['office', 'deputy', 'secretary', 'liaison'],
  summary: '某一时段的思想动态汇总（联络员限本部门）',
  example: '汇总 上季度（也可：汇总、汇总 2026Q3、汇总 2026-11）',
  async run(ctx, args) {
    const period = parsePeriod(args, ctx.services.timeZone, ctx.now);
    if (!period) throw new UserFacingError('不认识这个时段。可用：汇总（本季度）、汇总 上季度、汇总 本月、汇总 上月、汇总 2026Q3、汇总 2026-11。');
    const bounds = periodBounds(period, ctx.services.timeZone);
    if (bounds.start > ctx.now) throw new UserFacingError(`${bounds.label}还没有开始。`);
    const { scope, label } = await scopeFor(ctx);
    const total = await totals(ctx.em, bounds, scope);
    const byCategory = await countsBy(ctx.em, 'category', bounds, scope);
    const byMethod = await countsBy(ctx.em, 'method', bounds, scope);
    const byDepartment = await countsByDepartment(ctx.em, bounds, scope);
    const note = changeNote(byCategory);
    const title = `思想动态汇总 · ${bounds.label}`;
    const markdown = [
      `## ${title}`,
      `范围：${label}　时段：${formatZonedDate(ctx.services.timeZone, bounds.start)} 至 ${formatZonedDate(ctx.services.timeZone, bounds.end - 1)}`,
      `本期共 **${total.current}** 条信息，上期（${bounds.previous.label}）${total.previous} 条，${delta(total)}。${note ?? ''}`,
      fixedTable('按类别', '类别', CATEGORY_LABELS, CATEGORIES, byCategory),
      fixedTable('按收集方式', '方式', METHOD_LABELS, METHODS, byMethod),
      departmentTable(byDepartment),
      await backlogSection(ctx, scope),
      await suggestionSection(ctx, bounds, scope),
      await surveySummarySection(ctx.em, ctx.services, { start: bounds.start, end: bounds.end, label: bounds.label }, scope.departmentIds?.[0]),
      await supervisionSection(ctx, bounds, scope),
      scope.mergeSmall ? `_人数少于 ${scope.minGroupSize} 人的部门合并显示为「其他部门」。_` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
    await ctx.ledger({ kind: 'summary.viewed', subjectType: 'summary', subjectId: bounds.label, data: { scope: scope.departmentIds ?? 'unit' } });
    await ctx.reply({ kind: 'markdown', title, markdown });
  },
};

export const summaryModule: BotModule = { commands: [summaryCommand] };

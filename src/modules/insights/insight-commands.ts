import { InsightEntity, type Category, type Method } from '../../db/entities/insight.entity';
import { CATEGORY_LABELS, METHOD_LABELS, STATUS_LABELS } from '../../domain/glossary';
import { suggestCategory } from '../../domain/category-suggester';
import { excerpt } from '../../domain/text';
import { UserFacingError, type BotModule, type Command, type TurnContext } from '../../bot/turn-context';
import { departmentNames } from '../org/org-service';
import { officeContact } from '../../core/actor';
import { formatTime, recordInsight } from './insight-service';
import type { Insight } from '../../db/entities/insight.entity';
import { parseReport } from './report-parser';

const REPORTERS = ['liaison', 'office', 'deputy', 'secretary'] as const;

async function confirmationVars(ctx: TurnContext, insight: Insight, text: string, suggested: boolean) {
  const names = await departmentNames(ctx.em, insight.departmentId ? [insight.departmentId] : []);
  return {
    number: insight.number,
    excerpt: excerpt(text, 60),
    method: insight.method,
    methodLabel: METHOD_LABELS[insight.method],
    category: insight.category,
    categoryLabel: CATEGORY_LABELS[insight.category],
    categoryNote: suggested ? '（根据内容自动建议，可更正）' : '',
    departmentName: insight.departmentId ? (names.get(insight.departmentId) ?? insight.departmentId) : '未归属部门',
    time: formatTime(ctx.services.timeZone, insight.createdAt),
  };
}

const reportCommand: Command = {
  name: '上报',
  aliases: ['/report', 'report'],
  roles: [...REPORTERS],
  summary: '记录一条思想动态信息，可用 #方式 #类别 标注',
  example: '上报 #谈心 #利益诉求 近期有同志反映职称评定标准不够透明',
  async refusal(ctx) {
    return `「上报」由各部门联络员、机关党委和党组领导使用。您目前是干部职工，如需上报，可联系${await officeContact(ctx.em, ctx.actor.person.id)}将您指定为本部门联络员（联络员 部门 人员）；有意见建议也可以直接发送「意见 内容」。`;
  },
  async run(ctx, args) {
    const parsed = parseReport(args);
    if (!parsed.ok) throw new UserFacingError(parsed.problem);
    if (!parsed.text) throw new UserFacingError('请在「上报」后写明信息内容，例如：上报 #谈心 #利益诉求 近期有同志反映职称评定标准不够透明');
    const suggested = !parsed.category;
    const insight = await recordInsight(ctx, {
      text: parsed.text,
      method: parsed.method ?? 'observation',
      category: parsed.category ?? suggestCategory(parsed.text),
      kind: 'routine',
      categorySuggested: suggested,
    });
    const card = await ctx.services.cards.create(
      ctx.em,
      'insight-confirm',
      { ...(await confirmationVars(ctx, insight, parsed.text, suggested)), ...insight.cardNotes },
      { type: 'insight', id: insight.number },
      ctx.now,
    );
    await ctx.reply({ kind: 'card', card });
  },
};

/**
 * A card select's value: absent keeps the current one; a value that is not one of the options
 * (a forged or stale card) is refused with the choices, never taken as "no change".
 */
function chosen<T extends string>(value: string | string[] | undefined, labels: Record<T, string>, noun: string, current: T): T {
  const word = Array.isArray(value) ? value[0] : value;
  if (word === undefined || word === '') return current;
  if (Object.hasOwn(labels, word)) return word as T;
  throw new UserFacingError(`不认识的${noun}「${excerpt(word, 20)}」，没有更正。可选：${Object.values<string>(labels).join('、')}。`);
}

/** The confirmation card's 更正 action: the reporter corrects method and category, until the insight is closed. */
async function correctInsight(ctx: TurnContext, cardId: string, values: Record<string, string | string[]>): Promise<void> {
  const loaded = await ctx.services.cards.load(ctx.em, cardId);
  const insight = loaded?.subject ? await ctx.em.findOneBy(InsightEntity, { number: loaded.subject.id }) : null;
  if (!insight) throw new UserFacingError('找不到这条信息。');
  if (insight.reporterId !== ctx.actor.person.id) throw new UserFacingError('只有上报人本人可以更正这条信息。');
  if (insight.status === 'closed') throw new UserFacingError(`${insight.number} 已办结，不能再更改。`);
  const method: Method = chosen(values.method, METHOD_LABELS, '收集方式', insight.method);
  const category: Category = chosen(values.category, CATEGORY_LABELS, '信息类别', insight.category);
  if (method === insight.method && category === insight.category) {
    await ctx.replyText(`${insight.number} 的方式和类别没有变化：${METHOD_LABELS[method]}、${CATEGORY_LABELS[category]}。`);
    return;
  }
  await ctx.em.update(InsightEntity, { id: insight.id }, { method, category, updatedAt: ctx.now });
  await ctx.ledger({
    kind: 'insight.corrected',
    subjectType: 'insight',
    subjectId: insight.number,
    data: { from: { method: insight.method, category: insight.category }, to: { method, category } },
  });
  const text = ctx.services.cipher.decrypt(insight.textEnc);
  const updated = { ...insight, method, category };
  await ctx.services.onInsightCorrected?.(ctx, updated);
  await ctx.services.cards.update(ctx.em, cardId, { vars: await confirmationVars(ctx, updated, text, false), state: `已更正：${METHOD_LABELS[method]}、${CATEGORY_LABELS[category]}` }, ctx.now);
  await ctx.replyText(`已更正 ${insight.number}：收集方式「${METHOD_LABELS[method]}」，信息类别「${CATEGORY_LABELS[category]}」。`);
}

/** `我的`: the person's ten latest insights. */
async function mySubmissions(ctx: TurnContext): Promise<string | null> {
  const recent = await ctx.em.find(InsightEntity, { where: { reporterId: ctx.actor.person.id }, order: { id: 'DESC' }, take: 10 });
  if (recent.length === 0) return null;
  const lines = recent.map(
    (i) =>
      `• ${i.number} ${formatTime(ctx.services.timeZone, i.createdAt)} ${METHOD_LABELS[i.method]}/${CATEGORY_LABELS[i.category]}${i.kind === 'immediate' ? ' 【即时】' : ''} ${STATUS_LABELS[i.status]}\n  ${excerpt(ctx.services.cipher.decrypt(i.textEnc), 30)}`,
  );
  return `我上报的信息（最近 ${recent.length} 条）：\n${lines.join('\n')}`;
}

export const insightModule: BotModule = {
  commands: [reportCommand],
  cardActions: [{ template: 'insight-confirm', action: 'correct', run: correctInsight }],
  mine: [mySubmissions],
};

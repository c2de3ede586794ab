import { InsightEntity, type Insight } from '../../db/entities/insight.entity';
import { PersonEntity } from '../../db/entities/org.entity';
import type { InsightAction } from '../../db/entities/case.entity';
import { CATEGORY_LABELS, METHOD_LABELS } from '../../domain/glossary';
import { splitCommand, words } from '../../domain/text';
import { In } from 'typeorm';
import { UserFacingError, type BotModule, type Command, type TurnContext } from '../../bot/turn-context';
import { formatTime } from '../insights/insight-service';
import { departmentNames } from '../org/org-service';
import { recordRead } from '../ledger/ledger-reads';
import { canRecordAction, isUnitWide, UNIT_WIDE_ROLES } from './case-access';
import { normalizeSuggestionNumber, showSuggestion } from '../suggestions/suggestion-service';
import {
  addAction,
  advance,
  findVisibleInsight,
  history,
  ISSUE_KIND_GUIDANCE,
  ISSUE_KIND_LABELS,
  ISSUE_KIND_WORDS,
} from './case-service';
import { STATUS_LABELS } from '../../domain/glossary';
import { promptSpecialMeeting } from '../report/review-meetings';

function refuseIfClosed(insight: Insight): void {
  if (insight.status === 'closed') throw new UserFacingError(`${insight.number} 已办结，不能再更改。`);
}

/** The reporter hears about each step on their insight (their own submission, §2). */
async function tellReporter(ctx: TurnContext, insight: Insight, text: string): Promise<void> {
  if (insight.reporterId !== ctx.actor.person.id) await ctx.notify([insight.reporterId], { kind: 'text', text });
}

const classifyCommand: Command = {
  name: '定性',
  aliases: ['/classify', 'classify'],
  roles: UNIT_WIDE_ROLES,
  summary: '对信息定性：普遍性、个别性、合理诉求、苗头性',
  example: '定性 S-2026-0042 合理诉求',
  async run(ctx, args) {
    const usage = '例如：定性 S-2026-0042 合理诉求（可选：普遍性、个别性、合理诉求、苗头性）';
    const [numberWord, kindWord, extra] = words(args);
    const issueKind = kindWord ? ISSUE_KIND_WORDS[kindWord] : undefined;
    const insight = await findVisibleInsight(ctx, numberWord, usage);
    if (!issueKind || extra) throw new UserFacingError(`请写明定性，${usage}`);
    refuseIfClosed(insight);
    const label = ISSUE_KIND_LABELS[issueKind];
    if (insight.issueKind === issueKind) {
      await ctx.replyText(`${insight.number} 已定性为「${label}」，没有变化。`);
      return;
    }
    const status = advance(insight.status, 'classified');
    await addAction(ctx, insight, { kind: 'classify', issueKind });
    await ctx.em.update(InsightEntity, { id: insight.id }, { issueKind, status, updatedAt: ctx.now });
    await ctx.ledger({ kind: 'insight.classified', subjectType: 'insight', subjectId: insight.number, data: { issueKind, previous: insight.issueKind } });
    await tellReporter(ctx, insight, `您上报的 ${insight.number} 已定性为「${label}」。`);
    if (issueKind === 'warning') await promptSpecialMeeting(ctx, insight);
    await ctx.replyText(`已将 ${insight.number} 定性为「${label}」（${STATUS_LABELS[status]}）。\n按办法第十四条，${ISSUE_KIND_GUIDANCE[issueKind]}\n记录处置措施：处置 ${insight.number} 措施`);
  },
};

const actionCommand: Command = {
  name: '处置',
  aliases: ['/action', 'action'],
  roles: ['liaison', ...UNIT_WIDE_ROLES],
  summary: '记录对一条信息采取的处置措施（联络员限本部门）',
  example: '处置 S-2026-0042 已与本人谈心谈话，解释了职称评定政策',
  async run(ctx, args) {
    const usage = '例如：处置 S-2026-0042 已与本人谈心谈话，解释了职称评定政策';
    const insight = await findVisibleInsight(ctx, words(args)[0], usage);
    if (!canRecordAction(ctx.actor, insight)) throw new UserFacingError(`联络员只能处置本部门的信息，${insight.number} 不属于您联系的部门。`);
    const measure = splitCommand(args).rest;
    if (!measure) throw new UserFacingError(`请写明处置措施，${usage}`);
    refuseIfClosed(insight);
    const status = advance(insight.status, 'handled');
    const action = await addAction(ctx, insight, { kind: 'action', text: measure });
    await ctx.em.update(InsightEntity, { id: insight.id }, { status, updatedAt: ctx.now });
    await ctx.ledger({ kind: 'insight.action', subjectType: 'insight', subjectId: insight.number, data: { actionId: action.id, status } });
    await tellReporter(ctx, insight, `您上报的 ${insight.number} 已记录处置措施。发送「查看 ${insight.number}」可查看处理记录。`);
    await ctx.replyText(`已记录 ${insight.number} 的处置措施（${STATUS_LABELS[status]}）。处置完毕后可由机关党委或领导「办结 ${insight.number}」。`);
  },
};

const closeCommand: Command = {
  name: '办结',
  aliases: ['/close', 'close'],
  roles: UNIT_WIDE_ROLES,
  summary: '处置完毕后办结一条信息，可附说明',
  example: '办结 S-2026-0042 已解释到位，本人表示理解',
  async run(ctx, args) {
    const usage = '例如：办结 S-2026-0042 已解释到位';
    const insight = await findVisibleInsight(ctx, words(args)[0], usage);
    refuseIfClosed(insight);
    if (insight.status !== 'handled') {
      throw new UserFacingError(`${insight.number} 还没有处置措施（${STATUS_LABELS[insight.status]}），请先「处置 ${insight.number} 措施」再办结。`);
    }
    const note = splitCommand(args).rest;
    await addAction(ctx, insight, { kind: 'close', text: note || undefined });
    await ctx.em.update(InsightEntity, { id: insight.id }, { status: 'closed', updatedAt: ctx.now });
    await ctx.ledger({ kind: 'insight.closed', subjectType: 'insight', subjectId: insight.number, data: { withNote: Boolean(note) } });
    await tellReporter(ctx, insight, `您上报的 ${insight.number} 已办结。`);
    await ctx.replyText(`${insight.number} 已办结。`);
  },
};

function describeStep(ctx: TurnContext, step: InsightAction, names: Map<string, string>): string {
  const who = step.actorId ? (names.get(step.actorId) ?? step.actorId) : '—';
  const when = formatTime(ctx.services.timeZone, step.createdAt);
  const text = step.textEnc ? ctx.services.cipher.decrypt(step.textEnc) : '';
  switch (step.kind) {
    case 'classify':
      return `• ${when} ${who} 定性为「${ISSUE_KIND_LABELS[step.issueKind!]}」`;
    case 'action':
      return `• ${when} ${who} 处置：${text}`;
    case 'close':
      return `• ${when} ${who} 办结${text ? `：${text}` : ''}`;
  }
}

const showCommand: Command = {
  name: '查看',
  aliases: ['/show', 'show'],
  roles: ['staff'],
  summary: '查看一条信息的内容、状态和处理记录（限本人提交的；联络员可看本部门的）',
  example: '查看 S-2026-0042',
  async run(ctx, args) {
    if (normalizeSuggestionNumber(words(args)[0])) return showSuggestion(ctx, words(args)[0]);
    const insight = await findVisibleInsight(ctx, words(args)[0], '例如：查看 S-2026-0042');
    const steps = await history(ctx.em, insight.id);
    const people = await ctx.em.findBy(PersonEntity, { id: In([insight.reporterId, ...steps.flatMap((s) => (s.actorId ? [s.actorId] : []))]) });
    const names = new Map(people.map((p) => [p.id, p.name]));
    const departments = await departmentNames(ctx.em, insight.departmentId ? [insight.departmentId] : []);
    await recordRead(ctx.em, { actorId: ctx.actor.person.id, subjectType: 'insight', subjectId: insight.number }, ctx.now);
    const lines = [
      `${insight.number}${insight.kind === 'immediate' ? '【即时报告】' : ''}  ${STATUS_LABELS[insight.status]}${insight.issueKind ? ` · ${ISSUE_KIND_LABELS[insight.issueKind as keyof typeof ISSUE_KIND_LABELS]}` : ''}`,
      `部门：${insight.departmentId ? (departments.get(insight.departmentId) ?? insight.departmentId) : '未归属部门'}`,
      `方式/类别：${METHOD_LABELS[insight.method]}、${CATEGORY_LABELS[insight.category]}`,
      `上报：${names.get(insight.reporterId) ?? insight.reporterId} ${formatTime(ctx.services.timeZone, insight.createdAt)}`,
      `内容：${ctx.services.cipher.decrypt(insight.textEnc)}`,
      '',
      '处理记录：',
      ...(steps.length ? steps.map((s) => describeStep(ctx, s, names)) : ['（尚无）']),
    ];
    await ctx.replyText(lines.join('\n'));
  },
};

/** `我的` for liaisons and the office: what still waits for follow-up. */
async function openCases(ctx: TurnContext): Promise<string | null> {
  const scope = isUnitWide(ctx.actor) ? null : ctx.actor.liaisonOf;
  if (scope !== null && scope.length === 0) return null;
  const query = ctx.em
    .getRepository(InsightEntity)
    .createQueryBuilder('i')
    .where('i.status IN (:...open)', { open: ['new', 'classified'] });
  if (scope) query.andWhere('i.department_id IN (:...scope)', { scope });
  const open = await query.orderBy('i.id', 'ASC').take(10).getMany();
  if (open.length === 0) return null;
  // Numbers and status only: the text is read with 查看, which is a ledger entry.
  const lines = open.map((i) => `• ${i.number} ${STATUS_LABELS[i.status]}${i.kind === 'immediate' ? '【即时】' : ''}`);
  // The footer offers only what this person may do: a liaison cannot 定性 (classifyCommand.roles).
  const hints = ['查看：查看 编号'];
  if (classifyCommand.roles.some((role) => ctx.actor.roles.has(role))) hints.push('定性：定性 编号 普遍性/个别性/合理诉求/苗头性');
  hints.push('处置：处置 编号 措施');
  return `待跟进的信息（最早 ${open.length} 条）：\n${lines.join('\n')}\n${hints.join('；')}`;
}

export const caseModule: BotModule = {
  commands: [showCommand, classifyCommand, actionCommand, closeCommand],
  mine: [openCases],
};

import { UserFacingError, type BotModule, type Command, type TurnContext } from '../../bot/turn-context';
import type { AckMethod, Escalation } from '../../db/entities/escalation.entity';
import { EscalationEntity } from '../../db/entities/escalation.entity';
import { suggestCategory } from '../../domain/category-suggester';
import { splitCommand } from '../../domain/text';
import { formatTime, recordInsight } from '../insights/insight-service';
import { parseReport } from '../insights/report-parser';
import { officeContact, peopleWithRole } from '../../core/actor';
import {
  ACK_LABELS,
  acknowledge,
  createEscalation,
  describeAcknowledgement,
  findEscalation,
  forwardToDeputy,
  isLeader,
  openEscalations,
  recordInstruction,
} from './escalation-service';

const REPORTERS = ['liaison', 'office', 'deputy', 'secretary'] as const;

const names = (people: { name: string }[]) => people.map((p) => p.name).join('、');

/** 即时: stored (encrypted) with its escalation in one transaction; the step worker alerts right after commit. */
const urgentCommand: Command = {
  name: '即时',
  aliases: ['/urgent', 'urgent'],
  roles: [...REPORTERS],
  summary: '即时报告可能影响稳定的重大思想动态，立即报告党组(党委)书记',
  example: '即时 #工作 某科室多名同志酝酿集体反映绩效分配问题',
  async refusal(ctx) {
    return `「即时」由各部门联络员、机关党委和党组领导使用。发现可能影响稳定的重大情况，请立即告知本部门联络员或${await officeContact(ctx.em, ctx.actor.person.id)}；也可发送「意见 内容」反映。`;
  },
  async run(ctx, args) {
    const parsed = parseReport(args);
    if (!parsed.ok) throw new UserFacingError(parsed.problem);
    if (!parsed.text) throw new UserFacingError('请在「即时」后写明情况，例如：即时 某科室多名同志酝酿集体反映绩效分配问题');
    const insight = await recordInsight(ctx, {
      text: parsed.text,
      method: parsed.method ?? 'observation',
      category: parsed.category ?? suggestCategory(parsed.text),
      kind: 'immediate',
      categorySuggested: !parsed.category,
    });
    await createEscalation(ctx, insight);
    await ctx.replyText(await receipt(ctx, insight.number));
  },
};

async function receipt(ctx: TurnContext, number: string): Promise<string> {
  const secretaries = await peopleWithRole(ctx.em, 'secretary');
  const office = await peopleWithRole(ctx.em, 'office');
  const time = formatTime(ctx.services.timeZone, ctx.now);
  if (secretaries.length > 0) {
    return `已记录即时报告 ${number}（${time}），正在报告党组(党委)书记（${names(secretaries)}）${office.length ? '，并抄送机关党委' : ''}。领导确认后会通知您。`;
  }
  if (office.length > 0) {
    return `已记录即时报告 ${number}（${time}）。本单位尚未指定党组(党委)书记，已转报机关党委（${names(office)}）。领导确认后会通知您。`;
  }
  return `已记录即时报告 ${number}（${time}）。本单位尚未指定党组(党委)书记和机关党委，请立即电话报告党组(党委)。`;
}

/** `确认 编号 [部署内容]`: acknowledges; text after the number is recorded as the leader's instruction. */
const ackCommand: Command = {
  name: '确认',
  aliases: ['/ack', 'ack'],
  roles: ['secretary', 'deputy'],
  summary: '确认收到即时报告（可附部署要求）',
  example: '确认 S-2026-0001 请机关党委今天约谈了解情况',
  async run(ctx, args) {
    const { word, rest } = splitCommand(args.trim());
    if (!word) throw new UserFacingError('用法：确认 编号 [部署内容]，例如：确认 S-2026-0001');
    const escalation = await findEscalation(ctx, word);
    const instruction = rest.trim();
    const fresh = await acknowledge(ctx, escalation, instruction ? 'instruct' : 'command');
    const lines = [fresh ? `已确认即时报告 ${escalation.insightNumber}，提醒已停止，上报人将收到通知。` : await describeAcknowledgement(ctx, escalation)];
    if (instruction) lines.push(await recordInstruction(ctx, escalation, instruction));
    await ctx.replyText(lines.join('\n'));
  },
};

async function escalationOfCard(ctx: TurnContext, cardId: string): Promise<Escalation> {
  const loaded = await ctx.services.cards.load(ctx.em, cardId);
  const escalation = loaded?.subject ? await ctx.em.findOneBy(EscalationEntity, { insightNumber: loaded.subject.id }) : null;
  if (!escalation) throw new UserFacingError('找不到这条即时报告。');
  return escalation;
}

function instructionValue(values: Record<string, string | string[]>): string {
  const value = values.instruction;
  return (Array.isArray(value) ? value.join('；') : (value ?? '')).trim().slice(0, 2000);
}

/** The alert card's three buttons: each acknowledges, then does its own part. */
function cardAction(action: AckMethod) {
  return async (ctx: TurnContext, cardId: string, values: Record<string, string | string[]>) => {
    const escalation = await escalationOfCard(ctx, cardId);
    const fresh = await acknowledge(ctx, escalation, action);
    const lines = [fresh ? `已确认即时报告 ${escalation.insightNumber}（${ACK_LABELS[action]}），提醒已停止，上报人将收到通知。` : await describeAcknowledgement(ctx, escalation)];
    if (action === 'instruct') {
      const instruction = instructionValue(values);
      lines.push(
        instruction
          ? await recordInstruction(ctx, escalation, instruction)
          : `请发送「确认 ${escalation.insightNumber} 部署内容」写下您的部署要求，将转机关党委跟进落实。`,
      );
    }
    if (action === 'forward' && fresh) lines.push(await forwardToDeputy(ctx, escalation));
    await ctx.replyText(lines.join('\n'));
  };
}

/** `我的` for the secretary and deputies: immediate reports nobody has acknowledged yet. */
async function awaitingAcknowledgement(ctx: TurnContext): Promise<string | null> {
  if (!isLeader(ctx)) return null;
  const open = await openEscalations(ctx.em);
  if (open.length === 0) return null;
  const lines = open.map((e) => `• ${e.insightNumber} ${formatTime(ctx.services.timeZone, e.createdAt)} 上报，待确认`);
  return `待确认的即时报告（${open.length} 条，发送「确认 编号」确认）：\n${lines.join('\n')}`;
}

export const escalationModule: BotModule = {
  commands: [urgentCommand, ackCommand],
  cardActions: [
    { template: 'immediate-alert', action: 'ack', run: cardAction('ack') },
    { template: 'immediate-alert', action: 'instruct', run: cardAction('instruct') },
    { template: 'immediate-alert', action: 'forward', run: cardAction('forward') },
  ],
  mine: [awaitingAcknowledgement],
};

import { SuggestionEntity, type Suggestion, type SuggestionKind } from '../../db/entities/suggestion.entity';
import { PersonEntity } from '../../db/entities/org.entity';
import { enqueueOutbound } from '../../core/outbox';
import { nextCounterValue } from '../../core/counters';
import type { OutboundContent } from '../../core/messages';
import { excerpt, splitCommand, words } from '../../domain/text';
import { UserFacingError, type BotModule, type Command, type TurnContext } from '../../bot/turn-context';
import { appendLedger } from '../../core/ledger';
import { yearIn } from '../insights/insight-service';
import { peopleWithRole } from '../../core/actor';
import { formatZonedDate } from '../../lib/zoned-time';
import { forgetSender, purgeDeliveredSealedReplies } from './anonymity';
import { newReceiptCode, normalizeReceiptCode, receiptHash } from './receipt';
import { findSuggestion, SUGGESTION_KIND_LABELS } from './suggestion-service';

const HOUR = 3_600_000;

/**
 * Tells the office (or, with no office appointed yet, the secretary) about a new suggestion. Written
 * straight to the outbox with each recipient's usual platform (not the sender's), so that nothing
 * about the notice points at the turn that caused it.
 */
async function tellOffice(ctx: TurnContext, content: OutboundContent): Promise<void> {
  const office = await peopleWithRole(ctx.em, 'office');
  const recipients = office.length ? office : await peopleWithRole(ctx.em, 'secretary');
  for (const person of recipients) {
    await enqueueOutbound(ctx.em, ctx.services.cipher, { platform: ctx.services.platformFor(person), recipients: [{ kind: 'user', userId: person.id }], content }, ctx.now);
  }
}

/** Records a suggestion: text encrypted, the receipt code's hash, and the sealed sender or none. */
async function storeSuggestion(ctx: TurnContext, kind: SuggestionKind, text: string, at: number): Promise<{ suggestion: Suggestion; code: string }> {
  const year = yearIn(ctx.services.timeZone, ctx.now);
  const sequence = await nextCounterValue(ctx.em, `suggestion-${year}`);
  const code = newReceiptCode();
  const suggestion: Omit<Suggestion, 'id'> = {
    number: `Y-${year}-${String(sequence).padStart(4, '0')}`,
    kind,
    receiptHash: receiptHash(code),
    senderEnc: kind === 'confidential' ? ctx.services.cipher.encrypt(ctx.actor.person.id) : null,
    textEnc: ctx.services.cipher.encrypt(text),
    status: 'received',
    answerEnc: null,
    answeredBy: null,
    answeredAt: null,
    unsealedBy: null,
    unsealedAt: null,
    createdAt: at,
  };
  const { identifiers } = await ctx.em.insert(SuggestionEntity, suggestion);
  // Never ctx.ledger here: it would name the sender as the actor.
  await appendLedger(ctx.em, { kind: 'suggestion.received', actorId: null, subjectType: 'suggestion', subjectId: suggestion.number, data: { kind } }, at);
  return { suggestion: { ...suggestion, id: Number(identifiers[0].id) }, code };
}

async function announce(ctx: TurnContext, suggestion: Suggestion, text: string): Promise<void> {
  await tellOffice(ctx, {
    kind: 'text',
    text: `意见信箱收到${SUGGESTION_KIND_LABELS[suggestion.kind]} ${suggestion.number}：\n${text}\n\n答复：答复 ${suggestion.number} 内容（答复会送达提交人，不透露其身份）`,
  });
}

const suggestCommand: Command = {
  name: '意见',
  aliases: ['/suggest', 'suggest'],
  roles: ['staff'],
  summary: '向意见信箱提交意见建议（实名保密：身份密封，机关党委看不到是谁）',
  example: '意见 建议食堂延长晚餐供应时间',
  async run(ctx, args) {
    if (!args) throw new UserFacingError('请在「意见」后写明内容，例如：意见 建议食堂延长晚餐供应时间。不愿留下身份请用「匿名意见 内容」。');
    const { suggestion, code } = await storeSuggestion(ctx, 'confidential', args, ctx.now);
    await announce(ctx, suggestion, args);
    await ctx.replyText(
      `您的意见已收到，回执码：${code}\n请妥善保存，发送「查询 ${code}」可查看办理情况和答复。\n您的身份已密封，机关党委看不到是谁提交的；只有党组(党委)书记经登记理由才能解封，届时会通知您。`,
    );
  },
};

const anonymousCommand: Command = {
  name: '匿名意见',
  aliases: ['/anon', 'anon'],
  roles: ['staff'],
  summary: '提交匿名意见：不保存任何身份信息，凭回执码查询答复',
  example: '匿名意见 希望公开职称评审打分细则',
  forgetSender,
  async run(ctx, args) {
    await forgetSender(ctx);
    if (!args) {
      await ctx.replyText('请在「匿名意见」后写明内容，例如：匿名意见 希望公开职称评审打分细则。');
      return;
    }
    // Only the hour is kept, so the time does not single out the sender among the day's messages.
    const at = Math.floor(ctx.now / HOUR) * HOUR;
    const { suggestion, code } = await storeSuggestion(ctx, 'anonymous', args, at);
    await announce(ctx, suggestion, args);
    await ctx.replyText(
      `匿名意见已收到，回执码：${code}\n系统不保存您的身份，这条回复送达后也会删除。请自行记下回执码：发送「查询 ${code}」可查看答复，遗失无法找回。`,
    );
  },
};

function describeStatus(ctx: TurnContext, suggestion: Suggestion): string {
  const lines = [`${SUGGESTION_KIND_LABELS[suggestion.kind]}，提交于 ${formatZonedDate(ctx.services.timeZone, suggestion.createdAt)}`];
  if (suggestion.status === 'answered' && suggestion.answerEnc) {
    lines.push(`状态：已答复（${formatZonedDate(ctx.services.timeZone, suggestion.answeredAt!)}）`, `答复：${ctx.services.cipher.decrypt(suggestion.answerEnc)}`);
  } else {
    lines.push('状态：已收到，机关党委正在办理，尚未答复。');
  }
  if (suggestion.unsealedAt) lines.push(`注意：提交人身份已于 ${formatZonedDate(ctx.services.timeZone, suggestion.unsealedAt)} 由党组(党委)书记登记理由后解封。`);
  return lines.join('\n');
}

const statusCommand: Command = {
  name: '查询',
  aliases: ['/status', 'status'],
  roles: ['staff'],
  summary: '凭回执码查询自己提交的意见的办理情况和答复',
  example: '查询 K7QM-4TZP-9XWA',
  forgetSender,
  async run(ctx, args) {
    // A receipt code in a stored message would tie its sender to the suggestion: forget this turn too.
    await forgetSender(ctx);
    if (!args.trim()) {
      await ctx.replyText('请在「查询」后写上提交意见时收到的回执码，例如：查询 K7QM-4TZP-9XWA。');
      return;
    }
    const code = normalizeReceiptCode(args);
    const suggestion = code ? await ctx.em.findOneBy(SuggestionEntity, { receiptHash: receiptHash(code) }) : null;
    await ctx.replyText(suggestion ? describeStatus(ctx, suggestion) : '没有找到这个回执码。回执码形如 K7QM-4TZP-9XWA，请核对后再试。');
  },
};

/** Reaches the sender of a confidential suggestion without telling anyone who that is. */
async function tellSealedSender(ctx: TurnContext, suggestion: Suggestion, text: string): Promise<void> {
  if (!suggestion.senderEnc) return;
  await ctx.notify([ctx.services.cipher.decrypt(suggestion.senderEnc)], { kind: 'text', text });
}

const answerCommand: Command = {
  name: '答复',
  aliases: ['/reply', 'reply'],
  roles: ['office'],
  summary: '答复意见信箱的意见（送达提交人，不透露其身份）',
  example: '答复 Y-2026-0001 已协调食堂，晚餐供应延长至19:30',
  async run(ctx, args) {
    const usage = '例如：答复 Y-2026-0001 已协调食堂，晚餐供应延长至19:30';
    const suggestion = await findSuggestion(ctx, words(args)[0], usage);
    const answer = splitCommand(args).rest;
    if (!answer) throw new UserFacingError(`请写明答复内容，${usage}`);
    await ctx.em.update(SuggestionEntity, { id: suggestion.id }, { status: 'answered', answerEnc: ctx.services.cipher.encrypt(answer), answeredBy: ctx.actor.person.id, answeredAt: ctx.now });
    await ctx.ledger({ kind: 'suggestion.answered', subjectType: 'suggestion', subjectId: suggestion.number, data: { again: suggestion.status === 'answered' } });
    await tellSealedSender(ctx, suggestion, `您提交的意见已有答复：\n${answer}\n（也可凭回执码「查询」查看）`);
    const reach = suggestion.kind === 'anonymous' ? '匿名提交人可凭回执码「查询」看到答复。' : '答复已送达提交人，其身份仍然密封。';
    const replaced =
      suggestion.status === 'answered' && suggestion.answeredAt
        ? `注意：${suggestion.number} 已于 ${formatZonedDate(ctx.services.timeZone, suggestion.answeredAt)} 答复过，新的答复已替换原答复。`
        : '';
    await ctx.replyText(`已答复 ${suggestion.number}。${reach}${replaced}`);
  },
};

const unsealCommand: Command = {
  name: '解封',
  aliases: ['/unseal', 'unseal'],
  roles: ['secretary'],
  summary: '登记理由后解封实名保密意见的提交人身份（记入工作台账，并通知提交人）',
  example: '解封 Y-2026-0001 反映问题涉及安全隐患，需当面核实',
  async run(ctx, args) {
    const usage = '例如：解封 Y-2026-0001 反映问题涉及安全隐患，需当面核实';
    const suggestion = await findSuggestion(ctx, words(args)[0], usage);
    const reason = splitCommand(args).rest;
    if (suggestion.kind === 'anonymous' || !suggestion.senderEnc) throw new UserFacingError(`${suggestion.number} 是匿名意见，系统没有保存提交人身份，无法解封。`);
    if (!reason) throw new UserFacingError(`解封必须登记理由，${usage}`);
    const senderId = ctx.services.cipher.decrypt(suggestion.senderEnc);
    const sender = await ctx.em.findOneBy(PersonEntity, { id: senderId });
    await ctx.em.update(SuggestionEntity, { id: suggestion.id }, { unsealedBy: ctx.actor.person.id, unsealedAt: ctx.now });
    // The reason is the audit record; the identity itself stays out of the ledger (the office exports it).
    await ctx.ledger({ kind: 'suggestion.unsealed', subjectType: 'suggestion', subjectId: suggestion.number, data: { reason: reason.slice(0, 500) } });
    await tellSealedSender(ctx, suggestion, `党组(党委)书记已解封您提交的一条实名保密意见的身份。登记的理由：${reason}`);
    await ctx.replyText(`${suggestion.number} 的提交人：${sender?.name ?? senderId}（${senderId}）。\n解封及理由已记入工作台账，提交人已收到通知。`);
  },
};

/** `我的` for the office: suggestions still waiting for an answer (numbers only). */
async function unansweredSuggestions(ctx: TurnContext): Promise<string | null> {
  if (!ctx.actor.roles.has('office')) return null;
  const waiting = await ctx.em.find(SuggestionEntity, { where: { status: 'received' }, order: { id: 'ASC' }, take: 10 });
  if (waiting.length === 0) return null;
  return `意见信箱待答复（${waiting.length} 条）：${waiting.map((s) => s.number).join('、')}\n答复：答复 编号 内容`;
}

const OWN_SUGGESTIONS_SCANNED = 2000;

/**
 * `我的` for everyone: the person's own confidential suggestions (实名保密). The sender is stored only
 * encrypted (no column to search by), so the latest confidential suggestions are decrypted and
 * compared in memory. Anonymous ones have no sender anywhere and can never be listed.
 */
async function myConfidentialSuggestions(ctx: TurnContext): Promise<string | null> {
  const me = ctx.actor.person.id;
  const mine: Suggestion[] = [];
  for (let skip = 0; mine.length < 10 && skip < OWN_SUGGESTIONS_SCANNED; skip += 200) {
    const batch = await ctx.em.find(SuggestionEntity, { where: { kind: 'confidential' }, order: { id: 'DESC' }, skip, take: 200 });
    mine.push(...batch.filter((s) => s.senderEnc && ctx.services.cipher.decrypt(s.senderEnc) === me));
    if (batch.length < 200) break;
  }
  if (mine.length === 0) return null;
  const lines = mine.slice(0, 10).map(
    (s) =>
      `• ${s.number} ${formatZonedDate(ctx.services.timeZone, s.createdAt)} ${s.status === 'answered' ? '已答复' : '办理中'}\n  ${excerpt(ctx.services.cipher.decrypt(s.textEnc), 30)}`,
  );
  return `我提交的实名保密意见（最近 ${lines.length} 条，凭回执码「查询」可看答复；匿名意见不保存身份，不在此列出）：\n${lines.join('\n')}`;
}

export const suggestionModule: BotModule = {
  beforeEachTurn: purgeDeliveredSealedReplies,
  commands: [suggestCommand, anonymousCommand, statusCommand, answerCommand, unsealCommand],
  mine: [myConfidentialSuggestions, unansweredSuggestions],
};

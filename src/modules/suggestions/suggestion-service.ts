import { SuggestionEntity, type Suggestion, type SuggestionKind } from '../../db/entities/suggestion.entity';
import { UserFacingError, type TurnContext } from '../../bot/turn-context';
import { isUnitWide } from '../cases/case-access';
import { recordRead } from '../ledger/ledger-reads';
import { formatZonedDate } from '../../lib/zoned-time';
import { normalizeRecordNumber } from '../../domain/record-number';

export const SUGGESTION_KIND_LABELS: Record<SuggestionKind, string> = { confidential: '实名保密意见', anonymous: '匿名意见' };

export function normalizeSuggestionNumber(word: string | undefined): string | null {
  return normalizeRecordNumber('Y', word);
}

export async function findSuggestion(ctx: TurnContext, word: string | undefined, usage: string): Promise<Suggestion> {
  const number = normalizeSuggestionNumber(word);
  if (!number) throw new UserFacingError(`请写明意见编号，${usage}`);
  const suggestion = await ctx.em.findOneBy(SuggestionEntity, { number });
  if (!suggestion) throw new UserFacingError(`找不到意见 ${number}。`);
  return suggestion;
}

/**
 * `查看 Y-…`: the office and leaders re-read a suggestion (what was said, its status and answer),
 * never who sent it — that takes 解封. The read is a ledger entry, like any read of individual data.
 */
export async function showSuggestion(ctx: TurnContext, word: string): Promise<void> {
  if (!isUnitWide(ctx.actor)) throw new UserFacingError('意见信箱的意见由机关党委和党组领导查看。提交人请用「查询 回执码」查看办理情况。');
  const suggestion = await findSuggestion(ctx, word, '例如：查看 Y-2026-0001');
  await recordRead(ctx.em, { actorId: ctx.actor.person.id, subjectType: 'suggestion', subjectId: suggestion.number }, ctx.now);
  const tz = ctx.services.timeZone;
  const lines = [
    `${suggestion.number} ${SUGGESTION_KIND_LABELS[suggestion.kind]}，提交于 ${formatZonedDate(tz, suggestion.createdAt)}`,
    `内容：${ctx.services.cipher.decrypt(suggestion.textEnc)}`,
    suggestion.answerEnc ? `答复（${formatZonedDate(tz, suggestion.answeredAt!)}）：${ctx.services.cipher.decrypt(suggestion.answerEnc)}` : `尚未答复。答复：答复 ${suggestion.number} 内容`,
  ];
  if (suggestion.unsealedAt) lines.push(`提交人身份已于 ${formatZonedDate(tz, suggestion.unsealedAt)} 由党组(党委)书记解封。`);
  await ctx.replyText(lines.join('\n'));
}

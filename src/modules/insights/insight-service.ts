import { InsightEntity, type Category, type Insight, type InsightKind, type Method } from '../../db/entities/insight.entity';
import { nextCounterValue } from '../../core/counters';
import type { TurnContext } from '../../bot/turn-context';
import { reportingDepartment } from '../org/org-service';

/** The calendar year in the unit's time zone, for insight numbers. */
export function yearIn(timeZone: string, at: number): number {
  return Number(new Intl.DateTimeFormat('en', { timeZone, year: 'numeric' }).format(at));
}

export function formatTime(timeZone: string, at: number): string {
  return new Intl.DateTimeFormat('zh-CN', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(at);
}

/** A recorded insight, with what the analysis hook adds to the reporter's card. */
export type RecordedInsight = Insight & { cardNotes: Record<string, string> };

/** Records an insight (text encrypted) with its S-YYYY-NNNN number and a ledger entry, and runs the analysis hook. */
export async function recordInsight(
  ctx: TurnContext,
  input: { text: string; method: Method; category: Category; kind: InsightKind; categorySuggested: boolean },
): Promise<RecordedInsight> {
  const year = yearIn(ctx.services.timeZone, ctx.now);
  const sequence = await nextCounterValue(ctx.em, `insight-${year}`);
  const insight: Omit<Insight, 'id'> = {
    number: `S-${year}-${String(sequence).padStart(4, '0')}`,
    reporterId: ctx.actor.person.id,
    departmentId: reportingDepartment(ctx.actor),
    method: input.method,
    category: input.category,
    kind: input.kind,
    textEnc: ctx.services.cipher.encrypt(input.text),
    status: 'new',
    issueKind: null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
  const { identifiers } = await ctx.em.insert(InsightEntity, insight);
  const saved = { ...insight, id: Number(identifiers[0].id) };
  await ctx.ledger({
    kind: input.kind === 'immediate' ? 'insight.immediate' : 'insight.created',
    subjectType: 'insight',
    subjectId: saved.number,
    data: { method: saved.method, category: saved.category, departmentId: saved.departmentId, categorySuggested: input.categorySuggested },
  });
  const cardNotes = (await ctx.services.onInsightRecorded?.(ctx, saved, input.text)) ?? {};
  return { ...saved, cardNotes };
}

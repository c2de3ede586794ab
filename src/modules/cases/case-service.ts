import type { EntityManager } from 'typeorm';
import { InsightEntity, type Insight, type InsightStatus } from '../../db/entities/insight.entity';
import { InsightActionEntity, type InsightAction, type InsightActionKind, type IssueKind } from '../../db/entities/case.entity';
import { UserFacingError, type TurnContext } from '../../bot/turn-context';
import { canSeeInsight } from './case-access';
import { normalizeRecordNumber } from '../../domain/record-number';
import { yearIn } from '../insights/insight-service';

/** Chinese words accepted for an issue kind (seed Art. 14), and the code names. */
export const ISSUE_KIND_WORDS: Record<string, IssueKind> = {
  普遍性: 'common', 普遍: 'common', common: 'common',
  个别性: 'individual', 个别: 'individual', individual: 'individual',
  合理诉求: 'demand', 诉求: 'demand', demand: 'demand',
  苗头性: 'warning', 苗头: 'warning', warning: 'warning',
};

export const ISSUE_KIND_LABELS: Record<IssueKind, string> = { common: '普遍性', individual: '个别性', demand: '合理诉求', warning: '苗头性' };

/** What Art. 14 asks for each kind; shown when an insight is classified, as a reminder. */
export const ISSUE_KIND_GUIDANCE: Record<IssueKind, string> = {
  common: '普遍性思想问题：通过加强教育引导、完善制度机制等方式统筹解决。',
  individual: '个别性思想问题：通过谈心谈话、心理疏导等方式有针对性地做好工作。',
  demand: '涉及切身利益的合理诉求：及时研究解决或做好解释说明工作。',
  warning: '可能影响稳定的苗头性问题：及时预警并采取有效措施化解。',
};


const STATUS_ORDER: InsightStatus[] = ['new', 'classified', 'handled', 'closed'];

/** Status only moves forward: re-classifying a handled insight keeps it handled. */
export function advance(current: InsightStatus, to: InsightStatus): InsightStatus {
  return STATUS_ORDER.indexOf(to) > STATUS_ORDER.indexOf(current) ? to : current;
}

/**
 * Finds an insight the actor may see. An insight that exists but is out of reach gets the same answer
 * as one that does not exist, so that numbers do not reveal what others reported.
 */
export async function findVisibleInsight(ctx: TurnContext, word: string | undefined, usage: string): Promise<Insight> {
  const number = normalizeRecordNumber('S', word, yearIn(ctx.services.timeZone, ctx.now));
  if (!number) throw new UserFacingError(`请写明信息编号，${usage}`);
  const insight = await ctx.em.findOneBy(InsightEntity, { number });
  if (!insight || !canSeeInsight(ctx.actor, insight)) throw new UserFacingError(`找不到 ${number}，或您无权查看这条信息。`);
  return insight;
}

export async function addAction(
  ctx: TurnContext,
  insight: Insight,
  step: { kind: InsightActionKind; issueKind?: IssueKind; text?: string },
): Promise<InsightAction> {
  const row: Omit<InsightAction, 'id'> = {
    insightId: insight.id,
    kind: step.kind,
    issueKind: step.issueKind ?? null,
    textEnc: step.text ? ctx.services.cipher.encrypt(step.text) : null,
    actorId: ctx.actor.person.id,
    createdAt: ctx.now,
  };
  const { identifiers } = await ctx.em.insert(InsightActionEntity, row);
  return { ...row, id: Number(identifiers[0].id) };
}

export async function history(em: EntityManager, insightId: number): Promise<InsightAction[]> {
  return em.find(InsightActionEntity, { where: { insightId }, order: { id: 'ASC' } });
}

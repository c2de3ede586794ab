import type { Insight } from '../../db/entities/insight.entity';
import type { Role } from '../../db/entities/org.entity';
import type { Actor } from '../../core/actor';

/** Roles that see and follow up every department's insights (PRODUCT.md §2). */
export const UNIT_WIDE_ROLES: Role[] = ['office', 'deputy', 'secretary'];

export function isUnitWide(actor: Actor): boolean {
  return UNIT_WIDE_ROLES.some((role) => actor.roles.has(role));
}

function isLiaisonOf(actor: Actor, insight: Insight): boolean {
  return insight.departmentId !== null && actor.liaisonOf.includes(insight.departmentId);
}

/** §2: own submissions; a liaison, the own department's; the office and leaders, all. */
export function canSeeInsight(actor: Actor, insight: Insight): boolean {
  return insight.reporterId === actor.person.id || isUnitWide(actor) || isLiaisonOf(actor, insight);
}

/** §3 处置: the office and leaders, and a liaison for the own department. */
export function canRecordAction(actor: Actor, insight: Insight): boolean {
  return isUnitWide(actor) || isLiaisonOf(actor, insight);
}

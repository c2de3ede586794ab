import type { EntityManager } from 'typeorm';
import { appendLedger } from '../../core/ledger';

/**
 * Reads of individual-level data (an insight's text and history, the identity behind a suggestion)
 * are ledger entries too (PRODUCT.md §5 "Traceable"): who read what, and when.
 */
export async function recordRead(
  em: EntityManager,
  read: { actorId: string; subjectType: string; subjectId: string; data?: Record<string, unknown> },
  now: number,
): Promise<void> {
  await appendLedger(em, { kind: `${read.subjectType}.read`, actorId: read.actorId, subjectType: read.subjectType, subjectId: read.subjectId, data: read.data }, now);
}

import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

export const ISSUE_KINDS = ['common', 'individual', 'demand', 'warning'] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];

/** A step in an insight's follow-up: 定性 (classify), 处置 (action) or 办结 (close). */
export type InsightActionKind = 'classify' | 'action' | 'close';

export interface InsightAction {
  id: number;
  insightId: number;
  kind: InsightActionKind;
  /** For classify: the issue kind chosen (seed Art. 14). */
  issueKind: IssueKind | null;
  /** For action/close: the measure taken, AES-256-GCM ciphertext. */
  textEnc: string | null;
  actorId: string | null;
  createdAt: number;
}

export const InsightActionEntity = new EntitySchema<InsightAction>({
  name: 'InsightAction',
  tableName: 'insight_actions',
  columns: {
    id: increment(),
    insightId: { name: 'insight_id', type: 'int' },
    kind: { type: 'varchar', length: 16 },
    issueKind: { name: 'issue_kind', type: 'varchar', length: 16, nullable: true },
    textEnc: { name: 'text_enc', type: 'text', nullable: true },
    actorId: { name: 'actor_id', type: 'varchar', length: 64, nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

/**
 * open: steps remain; acknowledged: a leader confirmed (the chain stopped); exhausted: every step
 * ran and nobody confirmed (it can still be acknowledged).
 */
export type EscalationState = 'open' | 'acknowledged' | 'exhausted';
export type AckMethod = 'ack' | 'instruct' | 'forward' | 'command';

/** One immediate report's escalation chain. The timer is `nextDueAt`, so a restart keeps it. */
export interface Escalation {
  id: number;
  insightId: number;
  insightNumber: string;
  reporterId: string;
  state: EscalationState;
  /** Index of the next step to run (steps before it have run). */
  step: number;
  nextDueAt: number | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  ackMethod: AckMethod | null;
  /** Encrypted text of the leader's instruction (部署处置), if any. */
  instructionEnc: string | null;
  createdAt: number;
  updatedAt: number;
}

export type EscalationEventKind =
  | 'created'
  | 'sent'
  | 'delivered'
  | 'escalated'
  | 'acknowledged'
  | 'instructed'
  | 'forwarded'
  | 'no_recipient'
  | 'exhausted';

/** One step of the chain, with its time: who was alerted with which card, who confirmed. */
export interface EscalationEvent {
  id: number;
  escalationId: number;
  kind: EscalationEventKind;
  step: number | null;
  personId: string | null;
  cardId: string | null;
  /** A code: the ack method, the role nobody holds (no_recipient), the platform of a send. */
  detail: string | null;
  at: number;
}

export const EscalationEntity = new EntitySchema<Escalation>({
  name: 'Escalation',
  tableName: 'escalations',
  columns: {
    id: increment(),
    insightId: { name: 'insight_id', type: 'int' },
    insightNumber: { name: 'insight_number', type: 'varchar', length: 20, unique: true },
    reporterId: { name: 'reporter_id', type: 'varchar', length: 64 },
    state: { type: 'varchar', length: 16 },
    step: { type: 'int', default: 0 },
    nextDueAt: { name: 'next_due_at', ...epochMs(true) },
    acknowledgedBy: { name: 'acknowledged_by', type: 'varchar', length: 64, nullable: true },
    acknowledgedAt: { name: 'acknowledged_at', ...epochMs(true) },
    ackMethod: { name: 'ack_method', type: 'varchar', length: 16, nullable: true },
    instructionEnc: { name: 'instruction_enc', type: 'text', nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
    updatedAt: { name: 'updated_at', ...epochMs() },
  },
});

export const EscalationEventEntity = new EntitySchema<EscalationEvent>({
  name: 'EscalationEvent',
  tableName: 'escalation_events',
  columns: {
    id: increment(),
    escalationId: { name: 'escalation_id', type: 'int' },
    kind: { type: 'varchar', length: 24 },
    step: { type: 'int', nullable: true },
    personId: { name: 'person_id', type: 'varchar', length: 64, nullable: true },
    cardId: { name: 'card_id', type: 'varchar', length: 36, nullable: true },
    detail: { type: 'varchar', length: 64, nullable: true },
    at: { ...epochMs() },
  },
});

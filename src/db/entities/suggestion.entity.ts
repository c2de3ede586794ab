import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

export type SuggestionKind = 'confidential' | 'anonymous';
export type SuggestionStatus = 'received' | 'answered';

/**
 * One entry of the suggestion box (意见信箱, seed Art. 9(六)). The receipt code itself is never stored,
 * only its hash. `senderEnc` holds the sealed identity of a confidential suggestion; an anonymous one
 * has none, anywhere.
 */
export interface Suggestion {
  id: number;
  /** Human-facing number for the office, e.g. Y-2026-0007. */
  number: string;
  kind: SuggestionKind;
  receiptHash: string;
  senderEnc: string | null;
  textEnc: string;
  status: SuggestionStatus;
  answerEnc: string | null;
  answeredBy: string | null;
  answeredAt: number | null;
  unsealedBy: string | null;
  unsealedAt: number | null;
  createdAt: number;
}

/** Inbound events of anonymous turns: their replies are deleted from the outbox once delivered. */
export interface SealedReply {
  eventId: string;
}

export const SuggestionEntity = new EntitySchema<Suggestion>({
  name: 'Suggestion',
  tableName: 'suggestions',
  columns: {
    id: increment(),
    number: { type: 'varchar', length: 20, unique: true },
    kind: { type: 'varchar', length: 16 },
    receiptHash: { name: 'receipt_hash', type: 'varchar', length: 64, unique: true },
    senderEnc: { name: 'sender_enc', type: 'text', nullable: true },
    textEnc: { name: 'text_enc', type: 'text' },
    status: { type: 'varchar', length: 16, default: 'received' },
    answerEnc: { name: 'answer_enc', type: 'text', nullable: true },
    answeredBy: { name: 'answered_by', type: 'varchar', length: 64, nullable: true },
    answeredAt: { name: 'answered_at', ...epochMs(true) },
    unsealedBy: { name: 'unsealed_by', type: 'varchar', length: 64, nullable: true },
    unsealedAt: { name: 'unsealed_at', ...epochMs(true) },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

export const SealedReplyEntity = new EntitySchema<SealedReply>({
  name: 'SealedReply',
  tableName: 'sealed_replies',
  columns: { eventId: { name: 'event_id', type: 'varchar', length: 191, primary: true } },
});

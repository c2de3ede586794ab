import { EntitySchema } from 'typeorm';
import { epochMs, idColumn, increment } from '../columns';

export type InboundStatus = 'received' | 'processed' | 'failed';

/** Every inbound event, stored before it is acknowledged; the primary key de-duplicates redeliveries. */
export interface InboundEventRow {
  id: string;
  platform: string;
  senderId: string;
  /** Encrypted JSON of the BotEvent. */
  payloadEnc: string;
  status: InboundStatus;
  attempts: number;
  /** Unused since processing claims an event inside its own transaction; kept for the schema. */
  leaseOwner: string | null;
  /** After a failed attempt: not retried before this time (backoff). */
  leaseUntil: number | null;
  lastError: string | null;
  receivedAt: number;
  processedAt: number | null;
}

/**
 * `batch_update`: one update of many copies of a card delivered together (a CardBatchRow).
 * `fanout`: a large fan-out group as one row (its recipients inside the encrypted content), which
 * the dispatcher replaces by the group's `send` rows, one per recipient, before sending it.
 */
export type OutboundKind = 'send' | 'card_update' | 'batch_update' | 'fanout';
/** `expired`: a batch update whose platform ref was too old to use; nothing was sent. */
export type OutboundStatus = 'pending' | 'sent' | 'dead' | 'invalid' | 'expired';

/**
 * The outbox: one row per recipient, written in the transaction of the change that caused it (a
 * large fan-out group is first one `fanout` row, expanded into its recipients' rows by the dispatcher).
 */
export interface OutboundMessageRow {
  id: number;
  /** Rows of one message to several recipients share a group id, so a platform can batch them. */
  groupId: string;
  platform: string;
  /** recipientKey(): `user:ID` or `group:ID`; a batch_update row: `batch:<card batch id>`; a fanout row: `fanout:<group id>`. */
  recipient: string;
  kind: OutboundKind;
  /** Encrypted JSON of the OutboundContent (card_update rows: of the Card; batch_update rows: BatchUpdateContent; fanout rows: FanOutContent). */
  contentEnc: string;
  cardId: string | null;
  /** The inbound event this is a reply to, if any (the console returns these as `replies`). */
  eventId: string | null;
  /** 0 alert, 1 reply, 2 bulk (OutboundPriority): claimed lowest first. */
  priority: number;
  status: OutboundStatus;
  attempts: number;
  nextAttemptAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
  createdAt: number;
  sentAt: number | null;
}

/** One card instance; its state is what every delivered copy shows. */
export interface CardRow {
  id: string;
  template: string;
  /** Encrypted JSON of the rendered Card (without state). */
  contentEnc: string;
  state: string | null;
  subjectType: string | null;
  subjectId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Where a card copy went and the platform reference needed to update it. */
export interface CardDeliveryRow {
  id: number;
  cardId: string;
  platform: string;
  recipient: string;
  ref: string;
  createdAt: number;
}

/**
 * Copies of a card that one platform call delivered together, and the ref that updates them in one
 * call (WeCom: task id + the send's response_code). `recipients` are recipient keys, one a line.
 * `usedAt` is set once the ref was spent (it is single-use).
 */
export interface CardBatchRow {
  id: string;
  cardId: string;
  platform: string;
  ref: string;
  recipients: string;
  createdAt: number;
  usedAt: number | null;
}

export const InboundEventEntity = new EntitySchema<InboundEventRow>({
  name: 'InboundEvent',
  tableName: 'inbound_events',
  columns: {
    id: idColumn(191),
    platform: { type: 'varchar', length: 16 },
    senderId: { name: 'sender_id', type: 'varchar', length: 64 },
    payloadEnc: { name: 'payload_enc', type: 'text' },
    status: { type: 'varchar', length: 16 },
    attempts: { type: 'int', default: 0 },
    leaseOwner: { name: 'lease_owner', type: 'varchar', length: 128, nullable: true },
    leaseUntil: { name: 'lease_until', ...epochMs(true) },
    lastError: { name: 'last_error', type: 'varchar', length: 500, nullable: true },
    receivedAt: { name: 'received_at', ...epochMs() },
    processedAt: { name: 'processed_at', ...epochMs(true) },
  },
});

export const OutboundMessageEntity = new EntitySchema<OutboundMessageRow>({
  name: 'OutboundMessage',
  tableName: 'outbound_messages',
  columns: {
    id: increment(),
    groupId: { name: 'group_id', type: 'varchar', length: 36 },
    platform: { type: 'varchar', length: 16 },
    recipient: { type: 'varchar', length: 191 },
    kind: { type: 'varchar', length: 16 },
    contentEnc: { name: 'content_enc', type: 'text' },
    cardId: { name: 'card_id', type: 'varchar', length: 36, nullable: true },
    eventId: { name: 'event_id', type: 'varchar', length: 191, nullable: true },
    status: { type: 'varchar', length: 16 },
    attempts: { type: 'int', default: 0 },
    nextAttemptAt: { name: 'next_attempt_at', ...epochMs() },
    leaseOwner: { name: 'lease_owner', type: 'varchar', length: 128, nullable: true },
    leaseUntil: { name: 'lease_until', ...epochMs(true) },
    lastError: { name: 'last_error', type: 'varchar', length: 500, nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
    sentAt: { name: 'sent_at', ...epochMs(true) },
    priority: { type: 'int', default: 1 },
  },
});

export const CardEntity = new EntitySchema<CardRow>({
  name: 'Card',
  tableName: 'cards',
  columns: {
    id: idColumn(36),
    template: { type: 'varchar', length: 64 },
    contentEnc: { name: 'content_enc', type: 'text' },
    state: { type: 'varchar', length: 255, nullable: true },
    subjectType: { name: 'subject_type', type: 'varchar', length: 32, nullable: true },
    subjectId: { name: 'subject_id', type: 'varchar', length: 64, nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
    updatedAt: { name: 'updated_at', ...epochMs() },
  },
});

export const CardDeliveryEntity = new EntitySchema<CardDeliveryRow>({
  name: 'CardDelivery',
  tableName: 'card_deliveries',
  columns: {
    id: increment(),
    cardId: { name: 'card_id', type: 'varchar', length: 36 },
    platform: { type: 'varchar', length: 16 },
    recipient: { type: 'varchar', length: 191 },
    ref: { type: 'text' },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

export const CardBatchEntity = new EntitySchema<CardBatchRow>({
  name: 'CardBatch',
  tableName: 'card_batches',
  columns: {
    id: idColumn(36),
    cardId: { name: 'card_id', type: 'varchar', length: 36 },
    platform: { type: 'varchar', length: 16 },
    ref: { type: 'text' },
    recipients: { type: 'text' },
    createdAt: { name: 'created_at', ...epochMs() },
    usedAt: { name: 'used_at', ...epochMs(true) },
  },
});

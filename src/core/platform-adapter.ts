import type Router from '@koa/router';
import type { BotEvent } from './events';
import type { Card, OutboundContent, PlatformName, Recipient } from './messages';
import type { ConnectionLease } from './connection-lease';

/**
 * Where a platform hands inbound events. `accept` stores the event durably (de-duplicated by
 * `event.id`) and schedules its processing; it resolves as soon as the record is committed, so the
 * adapter can acknowledge the platform quickly. It returns false for a duplicate.
 */
export interface InboundSink {
  accept(event: BotEvent): Promise<boolean>;
}

/** One delivery the outbox asks a platform to make: the same content to one or more recipients. */
export interface DeliveryRequest {
  recipients: Recipient[];
  content: OutboundContent;
}

/**
 * What happened to each recipient. Recipients in neither list count as delivered.
 * `cardRefs` holds what the platform needs later to update a card copy (WeCom response_code,
 * DingTalk outTrackId …), keyed by `recipientKey(recipient)`; it is stored and handed back to
 * `updateCard`.
 */
export interface DeliveryOutcome {
  cardRefs?: Record<string, string>;
  /**
   * Copies one platform call delivered together, with the ref that updates them together (WeCom:
   * a shared card's task id and the send's response_code, usable once, for up to 1,000 people).
   * Stored by the card store; handed back to `updateCardBatch`.
   */
  cardBatches?: CardBatch[];
  /** Throttled per recipient (DingTalk flowControlledStaffIdList): try these again later. */
  retryLater?: Recipient[];
  /** When to try `retryLater` again (default a minute); 0 when this instance merely cannot send now (another may). */
  retryAfterMs?: number;
  /** Unknown to the platform (invalidStaffIdList, WeCom invaliduser): reported, never retried. */
  invalid?: Recipient[];
}

export interface CardBatch {
  recipients: Recipient[];
  ref: string;
}

/** What updateCardBatch did: `expired` means the batch ref is too old to use, so nothing was sent. */
export type CardBatchUpdateResult = 'updated' | 'expired';

export interface DirectorySnapshot {
  departments: { id: string; name: string; parentId?: string | null }[];
  people: { id: string; name: string; departmentIds: string[] }[];
}

/** A message the outbox sent on a platform (for limits that must survive a change of sender). */
export interface SentMessage {
  recipient: Recipient;
  sentAt: number;
  /** What was sent; null for a card copy sent by reference (a shared card: one message). */
  content: OutboundContent | null;
}

/** Kernel services a transport may use, handed over by the composition root at start. */
export interface AdapterServices {
  /** A lease in the database on a connection only one instance may hold (see core/connection-lease.ts). */
  connectionLease(name: string, timing?: { leaseMs?: number; renewMs?: number }): ConnectionLease;
  /** Messages sent on `platform` since `since` (epoch ms), oldest first. */
  sentSince(platform: PlatformName, since: number): Promise<SentMessage[]>;
}

export interface PlatformAdapter {
  readonly name: PlatformName;
  /** Connect (stream transports) or keep the sink for HTTP routes. */
  start(sink: InboundSink, services?: AdapterServices): Promise<void>;
  /** Leave nothing running: sockets, timers, intervals. */
  stop(): Promise<void>;
  /** HTTP transports mount their callback routes here. */
  routes?(): Router;
  /** Deliver one message; throw PlatformApiError for a failure of the whole call. */
  deliver(request: DeliveryRequest): Promise<DeliveryOutcome>;
  /** Show a card's new state on a copy already delivered; `ref` is what deliver() returned. */
  updateCard?(recipient: Recipient, ref: string, card: Card): Promise<void>;
  /**
   * Shows a card's new state on some copies of one delivered batch at once (`cardBatches`), those of
   * `recipients`; `sentAt` is when the batch was delivered (its ref may have a limited life).
   */
  updateCardBatch?(batch: { ref: string; sentAt: number }, recipients: Recipient[], card: Card): Promise<CardBatchUpdateResult>;
  /** Downloads a file a person sent (FileEvent.file.ref); throw PlatformApiError when it cannot be had. */
  downloadFile?(file: { ref: string; name: string }): Promise<{ data: Buffer; name: string; mimeType?: string }>;
  /** Read the platform's directory (departments and people) for `同步通讯录`. */
  fetchDirectory?(): Promise<DirectorySnapshot>;
  /** Problems a deployer must fix (bad credentials …), reported by /readyz. */
  configurationProblems?(): string[];
  /** Transports that hold a connection (WeCom robot): its state and last error, shown by /readyz. */
  connectionStatus?(): { state: string; lastError?: string };
  /**
   * False while this instance cannot send on this platform but another may (WeCom robot: another
   * instance holds the connection, or ours is not up): the dispatcher does not claim its messages.
   */
  canDeliver?(): boolean;
  /** Maximum calls per second the dispatcher should make to this platform. */
  readonly sendRateLimitPerSecond?: number;
}

export function recipientKey(recipient: Recipient): string {
  return recipient.kind === 'user' ? `user:${recipient.userId}` : `group:${recipient.groupId}`;
}

import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { CardBatchEntity, CardDeliveryEntity, CardEntity, OutboundMessageEntity, type OutboundMessageRow } from '../db/entities/messaging.entity';
import type { Transact } from '../db/data-source';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { Card, OutboundContent, OutboundPriority, PlatformName, Recipient } from './messages';
import { createCoalescingPoller } from '../lib/coalescing-poller';
import { insertRows, insertSharedRows } from '../db/bulk-insert';
import { PlatformApiError } from './errors';
import { recipientKey, type DeliveryOutcome, type PlatformAdapter, type SentMessage } from './platform-adapter';
import { recordCardBatches } from './card-store';

/*
 * The transactional outbox (PRODUCT.md §5 "nothing is lost").
 *
 * Writing: enqueueOutbound / enqueueCardUpdates insert rows in the caller's transaction, so a
 * message exists exactly when the change that caused it committed.
 *
 * Sending: the dispatcher claims due rows with a conditional UPDATE that sets a lease (owner token
 * + expiry); of several instances on one database only one UPDATE matches a row, so a row is sent
 * by one instance at a time. It then calls the platform and marks the row sent. Crash windows:
 *  - killed after commit, before or during the claim/send: the row is still `pending`; it is sent
 *    after restart (at once when the instance restarts with the same INSTANCE_ID, since it
 *    releases its own old leases; by another instance once the lease, OUTBOX_LEASE, expires);
 *  - killed after the platform accepted the message but before the row was marked sent: the row
 *    is sent again after restart. This duplicate window is the time between the platform's answer
 *    and the `sent` UPDATE (one local write, milliseconds), for the calls in flight (at most
 *    `concurrency`): each row is settled as soon as its own call returns, never at the end of a batch.
 *  - a call that outlasts the lease (renewed before each call; 60 s by default) could see its row
 *    taken over and sent again by another instance: the lease must stay well above the longest
 *    platform call including an adapter's own retries (WeCom: 3 × 10 s timeouts).
 * Within an instance one recipient's rows are sent in id order (never two calls to one recipient at
 * once). Each platform is paced at its adapter's sendRateLimitPerSecond. Failures retry with
 * exponential backoff and jitter up to maxAttempts, then become `dead` and onDeadLetter tells a
 * person; a rate-limit answer pauses the platform and is not counted as an attempt.
 */

export interface OutboundDraft {
  platform: PlatformName;
  recipients: Recipient[];
  content: OutboundContent;
  /** The inbound event this answers, if any. */
  eventId?: string | null;
  /** Default 'reply'; alerts go ahead of replies, bulk fan-outs after them (see OutboundPriority). */
  priority?: OutboundPriority;
}

export function parseRecipientKey(key: string): Recipient {
  return key.startsWith('group:') ? { kind: 'group', groupId: key.slice(6) } : { kind: 'user', userId: key.replace(/^user:/, '') };
}

const PRIORITY_RANK: Record<OutboundPriority, number> = { alert: 0, reply: 1, bulk: 2 };

/** The outbox rows of one draft, one per recipient, as values in OUTBOUND_COLUMNS order. */
function outboundRowValues(cipher: DataCipher, draft: OutboundDraft, now: number): unknown[][] {
  const groupId = randomUUID();
  const priority = PRIORITY_RANK[draft.priority ?? 'reply'];
  const delivered = draft.platform === 'console';
  const contentEnc = cipher.encrypt(JSON.stringify(storedContent(draft)));
  const status = delivered ? 'sent' : 'pending';
  const eventId = draft.eventId ?? null;
  const cardId = draft.content.kind === 'card' ? draft.content.card.cardId : null;
  return draft.recipients.map((recipient) => [groupId, draft.platform, recipientKey(recipient), 'send', contentEnc, cardId, eventId, priority, status, 0, now, null, null, null, now, delivered ? now : null]);
}

/**
 * A fan-out group of at least this many people is written as one `fanout` row, which the
 * dispatcher expands into the group's rows (one per person) just before sending it. 确认发布 of a
 * questionnaire to 100,000 people then writes 100 rows rather than 100,000 (on MySQL, InnoDB
 * maintaining the outbox's indexes for 100,000 rows took ~1.7 s of the 2 s budget), and the
 * expansion, one transaction per group, happens as the platform's rate lets the calls go anyway.
 */
export const FAN_OUT_ROW_MIN_RECIPIENTS = 100;
const MAX_FAN_OUTS_PER_CLAIM = 2;

/** A fanout row's content: what each recipient gets (as stored, see storedContent) and who they are. */
interface FanOutContent {
  kind: 'fanout';
  content: OutboundContent | SharedCardRef;
  recipients: string[];
}

/**
 * Writes outbound messages in the caller's transaction (the transactional outbox). Console messages
 * are delivered by being stored: the console inbox reads them, so they are written as sent. A
 * large fan-out group is one `fanout` row (see FAN_OUT_ROW_MIN_RECIPIENTS); a smaller group is
 * one INSERT … SELECT over the list of recipients (the ORM's insert costs more per row than the
 * database, and binding every value of every row cost more than the writes).
 */
export async function enqueueOutbound(em: EntityManager, cipher: DataCipher, draft: OutboundDraft, now: number): Promise<void> {
  if (draft.platform !== 'console' && draft.recipients.length >= FAN_OUT_ROW_MIN_RECIPIENTS) {
    await insertRows(em, 'outbound_messages', OUTBOUND_COLUMNS, [fanOutRowValues(cipher, draft, now)]);
    return;
  }
  const values = outboundRowValues(cipher, draft, now);
  if (values.length === 1) {
    await insertRows(em, 'outbound_messages', OUTBOUND_COLUMNS, values);
    return;
  }
  await insertGroupRows(em, values[0], values.map((row) => row[RECIPIENT_AT] as string));
}

const RECIPIENT_AT = 2;

/** Rows that differ only in their recipient (`template` gives the others, in OUTBOUND_COLUMNS order). */
async function insertGroupRows(em: EntityManager, template: unknown[], recipients: string[]): Promise<void> {
  const shared = Object.fromEntries(OUTBOUND_COLUMNS.map((column, i) => [column, template[i]]).filter(([column]) => column !== 'recipient'));
  await insertSharedRows(em, 'outbound_messages', shared, [{ name: 'recipient', mysqlType: 'VARCHAR(191)' }], recipients.map((recipient) => [recipient]));
}

function fanOutRowValues(cipher: DataCipher, draft: OutboundDraft, now: number): unknown[] {
  const groupId = randomUUID();
  const content: FanOutContent = { kind: 'fanout', content: storedContent(draft), recipients: draft.recipients.map(recipientKey) };
  const cardId = draft.content.kind === 'card' ? draft.content.card.cardId : null;
  const priority = PRIORITY_RANK[draft.priority ?? 'reply'];
  return [groupId, draft.platform, `fanout:${groupId}`, 'fanout', cipher.encrypt(JSON.stringify(content)), cardId, draft.eventId ?? null, priority, 'pending', 0, now, null, null, null, now, null];
}

/**
 * Replaces a claimed fanout row by its group's rows, one per recipient, in one transaction: the
 * row is deleted only while this round's lease holds it, so two instances never both expand it,
 * and a crash leaves either the fanout row or all of its rows.
 */
async function expandFanOutRow(em: EntityManager, cipher: DataCipher, row: OutboundMessageRow, leaseOwner: string): Promise<number> {
  const taken = await em.createQueryBuilder().delete().from(OutboundMessageEntity).where('id = :id AND lease_owner = :leaseOwner', { id: row.id, leaseOwner }).execute();
  if (!taken.affected) return 0;
  const { content, recipients } = JSON.parse(cipher.decrypt(row.contentEnc)) as FanOutContent;
  // Due a millisecond before the group was: the claims, which go by due time, send the rows of a
  // group already expanded before they expand the next group, so calls start after one expansion.
  const dueAt = row.nextAttemptAt - 1;
  const template = [row.groupId, row.platform, null, 'send', cipher.encrypt(JSON.stringify(content)), row.cardId, row.eventId, row.priority, 'pending', 0, dueAt, null, null, null, row.createdAt, null];
  await insertGroupRows(em, template, recipients);
  return recipients.length;
}

/** How many people the pending messages about a card are for (a fanout row counts its recipients). */
export async function pendingRecipientsOfCard(em: EntityManager, cipher: DataCipher, cardId: string): Promise<{ people: number; calls: number }> {
  const rows = (await em.query(
    "SELECT group_id, kind, CASE WHEN kind = 'fanout' THEN content_enc END AS content_enc FROM outbound_messages WHERE card_id = ? AND status = 'pending'",
    [cardId],
  )) as { group_id: string; kind: string; content_enc: string | null }[];
  let people = 0;
  for (const row of rows) people += row.content_enc ? (JSON.parse(cipher.decrypt(row.content_enc)) as FanOutContent).recipients.length : 1;
  return { people, calls: new Set(rows.map((r) => r.group_id)).size };
}

/** Writes many drafts at once (a fan-out of different contents, such as one task card per department). */
export async function enqueueOutboundMany(em: EntityManager, cipher: DataCipher, drafts: OutboundDraft[], now: number): Promise<void> {
  await insertRows(em, 'outbound_messages', OUTBOUND_COLUMNS, drafts.flatMap((draft) => outboundRowValues(cipher, draft, now)));
}

/**
 * A shared card sent to many people (a questionnaire page) is stored once, in the cards table: each
 * outbox row names it instead of carrying a copy (100,000 copies of a 2 KB card are 200 MB of
 * writes). Console rows keep the card itself: the console inbox reads them.
 */
interface SharedCardRef {
  kind: 'card';
  sharedCardId: string;
}

function storedContent(draft: OutboundDraft): OutboundContent | SharedCardRef {
  const { content } = draft;
  if (content.kind === 'card' && content.card.shared && draft.platform !== 'console' && draft.recipients.length > 1) return { kind: 'card', sharedCardId: content.card.cardId };
  return content;
}

/** The content to send: a shared card reference is read from the cards table. */
async function resolveContent(em: EntityManager, cipher: DataCipher, stored: OutboundContent | SharedCardRef): Promise<OutboundContent> {
  if (!('sharedCardId' in stored)) return stored;
  const row = await em.findOneByOrFail(CardEntity, { id: stored.sharedCardId });
  const { card } = JSON.parse(cipher.decrypt(row.contentEnc)) as { card: Card };
  return { kind: 'card', card: { ...card, state: row.state } };
}

/**
 * What was sent on a platform since `since`, oldest first: a new holder of the WeCom robot's
 * connection counts it against the per-conversation limits (the previous holder's counts were in
 * its memory). A shared card reference is one message: its content is not read.
 */
export async function sentSince(em: EntityManager, cipher: DataCipher, platform: PlatformName, since: number): Promise<SentMessage[]> {
  const rows = (await em.query('SELECT recipient, sent_at, content_enc FROM outbound_messages WHERE platform = ? AND sent_at >= ? ORDER BY sent_at', [platform, since])) as {
    recipient: string;
    sent_at: number | string;
    content_enc: string;
  }[];
  return rows.map((row) => {
    const stored = JSON.parse(cipher.decrypt(row.content_enc)) as OutboundContent | SharedCardRef;
    return { recipient: parseRecipientKey(row.recipient), sentAt: Number(row.sent_at), content: 'sharedCardId' in stored ? null : stored };
  });
}

const OUTBOUND_COLUMNS = [
  'group_id',
  'platform',
  'recipient',
  'kind',
  'content_enc',
  'card_id',
  'event_id',
  'priority',
  'status',
  'attempts',
  'next_attempt_at',
  'lease_owner',
  'lease_until',
  'last_error',
  'created_at',
  'sent_at',
];

/** Queues an update of every copy of a card already delivered on a platform that shows updates. */
export async function enqueueCardUpdates(em: EntityManager, cipher: DataCipher, card: Card, now: number, only?: { recipient: string }): Promise<void> {
  const deliveries = await em.findBy(CardDeliveryEntity, only ? { cardId: card.cardId, recipient: only.recipient } : { cardId: card.cardId });
  const targets = new Map(deliveries.map((d) => [`${d.platform} ${d.recipient}`, d]));
  const groupId = randomUUID();
  const contentEnc = cipher.encrypt(JSON.stringify({ kind: 'card', card } satisfies OutboundContent));
  const rows = [...targets.values()].map((delivery) => ({
    groupId,
    platform: delivery.platform,
    recipient: delivery.recipient,
    kind: 'card_update' as const,
    contentEnc,
    cardId: card.cardId,
    eventId: null,
    priority: PRIORITY_RANK.reply,
    status: 'pending' as const,
    attempts: 0,
    nextAttemptAt: now,
    leaseOwner: null,
    leaseUntil: null,
    lastError: null,
    createdAt: now,
    sentAt: null,
  }));
  if (rows.length > 0) await em.insert(OutboundMessageEntity, rows);
}

/** A batch_update row's content: the card's new state for some copies of one delivered batch. */
export interface BatchUpdateContent {
  kind: 'card';
  card: Card;
  /** Recipient keys of the copies to update (those of the batch the caller chose). */
  recipients: string[];
}

/**
 * Queues updates of chosen copies: each copy with a ref of its own (`copies`), and for each
 * delivered batch one update of the listed copies (`batches`), as a bulk change (a questionnaire's
 * deadline reaching 100,000 copies must not hold up replies).
 */
export async function enqueueCopyUpdates(
  em: EntityManager,
  cipher: DataCipher,
  card: Card,
  change: { copies: { platform: string; recipient: string }[]; batches: { id: string; platform: string; recipients: string[] }[] },
  now: number,
): Promise<void> {
  const row = (recipient: string, platform: string, kind: 'card_update' | 'batch_update', groupId: string, contentEnc: string) =>
    [groupId, platform, recipient, kind, contentEnc, card.cardId, null, PRIORITY_RANK.bulk, 'pending', 0, now, null, null, null, now, null];
  const cardEnc = cipher.encrypt(JSON.stringify({ kind: 'card', card } satisfies OutboundContent));
  const values = change.copies.map((copy) => row(copy.recipient, copy.platform, 'card_update', randomUUID(), cardEnc));
  for (const batch of change.batches) {
    const content: BatchUpdateContent = { kind: 'card', card, recipients: batch.recipients };
    values.push(row(`batch:${batch.id}`, batch.platform, 'batch_update', randomUUID(), cipher.encrypt(JSON.stringify(content))));
  }
  await insertRows(em, 'outbound_messages', OUTBOUND_COLUMNS, values);
}

export interface DispatcherOptions {
  cipher: DataCipher;
  log: Logger;
  adapters: PlatformAdapter[];
  instanceId: string;
  /**
   * The app's transaction runner. On SQLite every statement shares one connection, so the
   * dispatcher's reads and writes must queue behind other transactions rather than run inside them.
   */
  transact: Transact;
  now?: () => number;
  /** How long a claimed row stays reserved for this instance; renewed while a round runs. */
  leaseMs?: number;
  maxAttempts?: number;
  pollIntervalMs?: number;
  /** Rows one claim takes (fan-out groups are claimed whole); default twice `concurrency`. */
  batchSize?: number;
  /** Platform calls in flight at once (each platform is still paced by its rate limit); default 8. */
  concurrency?: number;
  /** Pause after a platform answered "too many requests". */
  rateLimitPauseMs?: number;
  /** Builds each platform's pacer (default: this instance alone, createPacer); shared across instances on MySQL. */
  pacerFor?: (platform: string, ratePerSecond: number | undefined) => Pacer;
  random?: () => number;
  /** Called once when a message is given up on (dead letter). */
  onDeadLetter?: (row: OutboundMessageRow) => Promise<void>;
  /** Called after rows were marked sent (the platform accepted them). */
  onSent?: (rows: OutboundMessageRow[]) => Promise<void>;
}

export interface OutboxBacklog {
  /** Pending rows (a fan-out group not yet expanded into its people's rows counts once). */
  pending: number;
  /** Age of the oldest message not yet delivered. */
  oldestAgeMs: number | null;
  dead: number;
}

export interface OutboxDispatcher {
  start(): void;
  stop(): Promise<void>;
  /** Asks for a delivery round soon (after a commit that queued messages). */
  kick(): void;
  /** One delivery round; resolves when the claimed rows are settled. Returns how many rows it handled. */
  runOnce(): Promise<number>;
  backlog(): Promise<OutboxBacklog>;
}

export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(2 ** attempts * 1000, 10 * 60_000);
  return Math.round(base / 2 + random() * (base / 2));
}

/** A platform's "slow down" answer: HTTP 429, WeCom 45009, DingTalk's QPS-limit error codes. */
export function isRateLimitAnswer(error: unknown): boolean {
  if (!(error instanceof PlatformApiError)) return false;
  const { status, errcode } = error.details;
  return status === 429 || errcode === 45009 || (typeof errcode === 'string' && /qps|throttl|ratelimit|flowcontrol/i.test(errcode));
}

/**
 * Paces calls to one platform so that it never sees more than `rate` calls in any rolling second
 * (with a 2% margin for the calls' transit jitter), the way platforms count QPS limits; calls are
 * also spread out (at least 70% of an interval apart) rather than sent in bursts, and the 30% of
 * slack lets a call delayed by a late timer be caught up, so the rate does not sag. `pause` holds
 * every call after a 429.
 */
export interface Pacer {
  take(): Promise<void>;
  pause(ms: number): void;
}

const WINDOW_MARGIN = 1.02;

export function createPacer(
  ratePerSecond: number | undefined,
  clock: () => number = Date.now,
  sleep: (ms: number) => Promise<unknown> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Pacer {
  const limited = Boolean(ratePerSecond && ratePerSecond > 0);
  const perWindow = limited ? Math.max(1, Math.floor(ratePerSecond!)) : 0;
  const windowMs = limited ? ((perWindow * 1000) / ratePerSecond!) * WINDOW_MARGIN : 0;
  const spacing = limited ? 700 / ratePerSecond! : 0;
  const grants: number[] = [];
  let pausedUntil = 0;
  return {
    async take() {
      // Every waiter re-checks after waking: lanes woken together take turns, never a burst.
      for (;;) {
        const at = clock();
        const windowOpen = !limited || grants.length < perWindow ? 0 : grants[grants.length - perWindow] + windowMs;
        const spaced = grants.length ? grants[grants.length - 1] + spacing : 0;
        const due = Math.max(pausedUntil, windowOpen, spaced);
        if (at >= due) {
          if (limited) grants.push(at);
          if (grants.length > perWindow) grants.shift();
          return;
        }
        await sleep(Math.max(1, due - at));
      }
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, clock() + ms);
    },
  };
}

/** A worker's pacer slot given to a more urgent call (see the dispatcher's send()). */
class SlotHandedOver extends Error {
  constructor(readonly urgent: unknown) {
    super('pacer slot handed to a more urgent call');
  }
}

export function createOutboxDispatcher(options: DispatcherOptions): OutboxDispatcher {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const concurrency = options.concurrency ?? 8;
  // Rows a claim takes (a fan-out group is then claimed whole): about what the workers send next,
  // so an unsent row is not held under a lease while others could send it.
  const batchSize = options.batchSize ?? 2 * concurrency;
  const rateLimitPauseMs = options.rateLimitPauseMs ?? 1000;
  const { transact } = options;
  const adapters = new Map(options.adapters.map((a) => [a.name as string, a]));
  // Pacing uses the real clock: it sleeps, and an injected test clock does not advance by itself.
  const pacerFor = options.pacerFor ?? ((_platform: string, rate: number | undefined) => createPacer(rate));
  const pacers = new Map(options.adapters.map((a) => [a.name as string, pacerFor(a.name, a.sendRateLimitPerSecond)]));
  // Lease owners are `<instanceId>/<boot>-<round>`: unique per round, and recognisable as ours after a restart.
  const ownerPrefix = `${options.instanceId.slice(0, 90)}/`;
  const boot = randomUUID().slice(0, 8);
  let roundNumber = 0;
  const hooks = new Set<Promise<unknown>>();

  interface Round {
    token: string;
    leaseUntil: number;
  }

  /** `below`: only rows more urgent than that priority (a kick while calls of that priority are queued). */
  async function claimDueRows(round: Round, below?: number): Promise<OutboundMessageRow[]> {
    // A platform this instance cannot send on now (another instance holds its connection) is left to the others.
    const unavailable = options.adapters.filter((a) => a.canDeliver && !a.canDeliver()).map((a) => a.name as string);
    return transact(async (em) => {
      const at = now();
      const query = em
        .getRepository(OutboundMessageEntity)
        .createQueryBuilder('m')
        .select(['m.id', 'm.groupId', 'm.kind'])
        .where(below === undefined ? 'm.status = :status' : 'm.status = :status AND m.priority < :below', { status: 'pending', below })
        .andWhere('m.next_attempt_at <= :at', { at })
        .andWhere('(m.lease_until IS NULL OR m.lease_until < :at)', { at });
      if (unavailable.length) query.andWhere('m.platform NOT IN (:...unavailable)', { unavailable });
      const due = await query
        // Alerts first, then replies, then bulk fan-outs; within each, by due time, then in order of
        // writing. This is the order of idx_outbound_priority (status, priority, next_attempt_at, id):
        // no sort of the 100,000 rows a fan-out leaves pending, at every claim.
        .orderBy('m.priority', 'ASC')
        .addOrderBy('m.next_attempt_at', 'ASC')
        .addOrderBy('m.id', 'ASC')
        .take(batchSize)
        .getMany();
      const candidates = withFewFanOuts(due);
      if (candidates.length === 0) return [];
      // The conditional UPDATE is the claim: a row another instance leased in the meantime no longer matches.
      round.leaseUntil = at + leaseMs;
      // A fan-out (batch) group is one platform call for up to 1,000 people. Rows of a group are
      // written together and share a priority, so only the last group of the claim can be cut off
      // by its size: that group is claimed whole, and a batch is not split into calls of 100.
      // Two statements rather than one with OR, which no index serves (a scan of every row at each claim).
      const claim = (where: string, parameters: object) =>
        em
          .createQueryBuilder()
          .update(OutboundMessageEntity)
          .set({ leaseOwner: round.token, leaseUntil: round.leaseUntil })
          .where(`${where} AND status = :status AND (lease_until IS NULL OR lease_until < :at)`, { ...parameters, status: 'pending', at })
          .execute();
      await claim('id IN (:...ids)', { ids: candidates.map((c) => c.id) });
      await claim('group_id = :group AND next_attempt_at <= :at', { group: candidates[candidates.length - 1].groupId });
      // By lease owner alone (a settled row has none): with `status` too SQLite may walk the status index instead.
      const rows = await em.getRepository(OutboundMessageEntity).findBy({ leaseOwner: round.token });
      return rows.sort((a, b) => a.priority - b.priority || a.id - b.id);
    });
  }

  /**
   * A claim expands at most MAX_FAN_OUTS_PER_CLAIM fan-out groups: the rest stay unclaimed (another
   * instance may take them), and their rows are not written long before the platform's rate lets
   * them go.
   */
  function withFewFanOuts(due: OutboundMessageRow[]): OutboundMessageRow[] {
    let fanOuts = 0;
    return due.filter((row) => row.kind !== 'fanout' || ++fanOuts <= MAX_FAN_OUTS_PER_CLAIM);
  }

  /**
   * Keeps the round's rows reserved while a slow round (rate limits, slow platform) goes on: before
   * each call the lease is renewed once a tenth of it has passed, so a call always starts with at
   * least 90% of the lease ahead of it.
   */
  async function renewLeaseIfNeeded(round: Round): Promise<void> {
    if (round.leaseUntil - now() > leaseMs * 0.9) return;
    const until = now() + leaseMs;
    await transact((em) => em.update(OutboundMessageEntity, { leaseOwner: round.token }, { leaseUntil: until }));
    round.leaseUntil = until;
  }

  async function settle(round: Round, row: OutboundMessageRow, patch: Partial<OutboundMessageRow>): Promise<void> {
    await transact((em) => em.update(OutboundMessageEntity, { id: row.id, leaseOwner: round.token }, { leaseOwner: null, leaseUntil: null, ...patch }));
  }

  async function markSent(round: Round, rows: OutboundMessageRow[]): Promise<void> {
    const at = now();
    // One UPDATE per 500 rows: a fan-out call of 1,000 people is settled in two statements, not
    // 1,000 transactions queued ahead of an alert's.
    for (let i = 0; i < rows.length; i += 500) {
      const ids = rows.slice(i, i + 500).map((r) => r.id);
      await transact((em) =>
        em
          .createQueryBuilder()
          .update(OutboundMessageEntity)
          .set({ status: 'sent', sentAt: at, attempts: () => 'attempts + 1', lastError: null, leaseOwner: null, leaseUntil: null })
          .where('id IN (:...ids) AND lease_owner = :token', { ids, token: round.token })
          .execute(),
      );
    }
    if (options.onSent && rows.length) {
      // Bookkeeping after the fact (e.g. an escalation's 'delivered' step): it does not hold up the next send.
      const hook = options.onSent(rows.map((r) => ({ ...r, status: 'sent' as const, sentAt: at }))).catch((error) =>
        options.log.error({ err: error }, 'outbox onSent hook failed'),
      );
      hooks.add(hook);
      void hook.finally(() => hooks.delete(hook));
    }
  }

  async function fail(round: Round, rows: OutboundMessageRow[], error: unknown): Promise<void> {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    if (isRateLimitAnswer(error)) {
      // The platform asked us to slow down: hold the platform and try again soon, without counting an attempt.
      pacers.get(rows[0].platform)?.pause(rateLimitPauseMs);
      for (const row of rows) await settle(round, row, { lastError: message, nextAttemptAt: now() + rateLimitPauseMs + Math.round(random() * rateLimitPauseMs) });
      options.log.warn({ platform: rows[0].platform, count: rows.length }, 'platform rate limit answer, pausing');
      return;
    }
    // A configuration error (a refused secret, a missing trusted IP) goes away when the deployer
    // fixes the setting, so it is retried like a transient failure; only a refusal of the message
    // itself is given up at once.
    const retryable = error instanceof PlatformApiError ? error.details.retryable || !!error.details.configuration : true;
    for (const row of rows) {
      const attempts = row.attempts + 1;
      const dead = !retryable || attempts >= maxAttempts;
      await settle(round, row, { attempts, lastError: message, status: dead ? 'dead' : 'pending', nextAttemptAt: now() + backoffMs(attempts, random) });
      if (dead) {
        options.log.error({ outboundId: row.id, platform: row.platform, attempts, err: message }, 'outbound message given up (dead letter)');
        await options.onDeadLetter?.({ ...row, attempts, lastError: message, status: 'dead' }).catch((hookError) =>
          options.log.error({ err: hookError, outboundId: row.id }, 'dead-letter alert failed'),
        );
      } else {
        options.log.warn({ outboundId: row.id, platform: row.platform, attempts, err: message }, 'outbound delivery failed, will retry');
      }
    }
  }

  /**
   * `sentFrom` is when the delivery began: a copy's ref is recorded as of then, so a click on that copy
   * that was processed before the delivery finished (a fan-out of one call per person takes a while)
   * keeps its newer ref, and the copy's update answers the click (the WeCom robot's 5 s window).
   */
  async function recordOutcome(round: Round, rows: OutboundMessageRow[], outcome: DeliveryOutcome, sentFrom: number): Promise<void> {
    const retryLater = new Set((outcome.retryLater ?? []).map(recipientKey));
    const invalid = new Set((outcome.invalid ?? []).map(recipientKey));
    const delivered: OutboundMessageRow[] = [];
    for (const row of rows) {
      if (invalid.has(row.recipient)) {
        options.log.warn({ outboundId: row.id, platform: row.platform }, 'recipient unknown to the platform');
        await settle(round, row, { status: 'invalid', lastError: 'recipient unknown to the platform' });
      } else if (retryLater.has(row.recipient)) {
        const later = outcome.retryAfterMs ?? 60_000;
        await settle(round, row, { nextAttemptAt: now() + later, lastError: later ? 'throttled for this recipient' : 'not sendable by this instance now' });
      } else {
        const ref = outcome.cardRefs?.[row.recipient];
        if (row.kind === 'send' && row.cardId && ref) {
          await transact((em) => em.insert(CardDeliveryEntity, { cardId: row.cardId!, platform: row.platform, recipient: row.recipient, ref, createdAt: sentFrom }));
        }
        delivered.push(row);
      }
    }
    if (rows[0].kind === 'send' && rows[0].cardId && outcome.cardBatches?.length) {
      const cardId = rows[0].cardId;
      const batches = outcome.cardBatches.map((b) => ({ ref: b.ref, recipients: b.recipients.map(recipientKey) }));
      await transact((em) => recordCardBatches(em, cardId, rows[0].platform, batches, now()));
    }
    await markSent(round, delivered);
  }

  /**
   * `takeSlot` waits for the platform's pacer right before the call (the worker's own, see send():
   * it may hand the slot to a more urgent call by throwing SlotHandedOver, and this call is not made).
   */
  async function deliverGroup(round: Round, rows: OutboundMessageRow[], takeSlot?: () => Promise<void>): Promise<void> {
    const adapter = adapters.get(rows[0].platform);
    if (!adapter) {
      await fail(round, rows, new PlatformApiError(rows[0].platform, `platform ${rows[0].platform} is not configured`, { retryable: true }));
      return;
    }
    try {
      const stored = JSON.parse(options.cipher.decrypt(rows[0].contentEnc)) as OutboundContent | SharedCardRef;
      const content = 'sharedCardId' in stored ? await transact((em) => resolveContent(em, options.cipher, stored)) : stored;
      if (rows[0].kind === 'card_update') {
        await updateCardCopies(round, adapter, rows, content);
      } else if (rows[0].kind === 'batch_update') {
        for (const row of rows) await updateCardBatch(round, adapter, row, content as BatchUpdateContent);
      } else {
        await renewLeaseIfNeeded(round);
        await (takeSlot ? takeSlot() : pacers.get(adapter.name)!.take());
        const sentFrom = now();
        const outcome = await adapter.deliver({ recipients: rows.map((r) => parseRecipientKey(r.recipient)), content });
        await recordOutcome(round, rows, outcome, sentFrom);
      }
    } catch (error) {
      if (error instanceof SlotHandedOver) throw error;
      await fail(round, rows, error);
    }
  }

  /**
   * One expansion at a time in this instance: on MySQL an INSERT … SELECT holds the table's
   * AUTO-INC lock for the statement, so expansions run side by side would only queue there, and
   * hold up the single-row inserts of replies and alerts behind them.
   */
  let expanding: Promise<unknown> = Promise.resolve();

  async function expandFanOuts(work: Work): Promise<void> {
    for (const row of work.rows) {
      const expansion = expanding.then(() => transact((em) => expandFanOutRow(em, options.cipher, row, work.round.token)));
      expanding = expansion.catch(() => undefined);
      try {
        await expansion;
      } catch (error) {
        await fail(work.round, [row], error);
      }
    }
  }

  async function updateCardCopies(round: Round, adapter: PlatformAdapter, rows: OutboundMessageRow[], content: OutboundContent): Promise<void> {
    if (content.kind !== 'card' || !adapter.updateCard) {
      for (const row of rows) await settle(round, row, { status: 'sent', sentAt: now() });
      return;
    }
    for (const row of rows) {
      const delivery = await transact((em) =>
        // The newest copy or click: by time (a send is dated when it began, see recordOutcome), then as written.
        em.findOne(CardDeliveryEntity, { where: { cardId: row.cardId!, platform: row.platform, recipient: row.recipient }, order: { createdAt: 'DESC', id: 'DESC' } }),
      );
      if (!delivery) {
        await settle(round, row, { status: 'sent', sentAt: now(), lastError: 'no delivered copy to update' });
        continue;
      }
      try {
        await renewLeaseIfNeeded(round);
        await pacers.get(adapter.name)!.take();
        await adapter.updateCard(parseRecipientKey(row.recipient), delivery.ref, content.card);
        await settle(round, row, { status: 'sent', sentAt: now(), attempts: row.attempts + 1, lastError: null });
      } catch (error) {
        await fail(round, [row], error);
      }
    }
  }

  /**
   * One update of the copies a platform delivered together (a CardBatchRow), with the batch's ref,
   * which is single-use: spent once the call returns. A ref too old to use is not an error: the row
   * ends `expired` and those copies keep their buttons (a later click shows the new state).
   */
  async function updateCardBatch(round: Round, adapter: PlatformAdapter, row: OutboundMessageRow, content: BatchUpdateContent): Promise<void> {
    const batchId = row.recipient.slice('batch:'.length);
    const batch = await transact((em) => em.findOneBy(CardBatchEntity, { id: batchId }));
    if (!batch || batch.usedAt !== null || !adapter.updateCardBatch) {
      await settle(round, row, { status: 'sent', sentAt: now(), lastError: batch ? 'batch ref already used or not updatable' : 'no delivered batch to update' });
      return;
    }
    try {
      await renewLeaseIfNeeded(round);
      await pacers.get(adapter.name)!.take();
      const result = await adapter.updateCardBatch({ ref: batch.ref, sentAt: batch.createdAt }, content.recipients.map(parseRecipientKey), content.card);
      await transact((em) => em.update(CardBatchEntity, { id: batch.id }, { usedAt: now() }));
      if (result === 'expired') {
        options.log.warn({ outboundId: row.id, platform: row.platform, copies: content.recipients.length }, 'card batch ref too old to update its copies; they keep their buttons');
        await settle(round, row, { status: 'expired', attempts: row.attempts + 1, lastError: 'batch ref too old to use: copies left as they were' });
        return;
      }
      await settle(round, row, { status: 'sent', sentAt: now(), attempts: row.attempts + 1, lastError: null });
    } catch (error) {
      await fail(round, [row], error);
    }
  }

  /** A message to several recipients is one platform call: its rows travel together. */
  interface Work {
    round: Round;
    rows: OutboundMessageRow[];
  }

  function groupsOf(round: Round, rows: OutboundMessageRow[]): Work[] {
    const groups = new Map<string, OutboundMessageRow[]>();
    for (const row of rows) {
      const key = `${row.groupId} ${row.kind}`;
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    return [...groups.values()].map((group) => ({ round, rows: group }));
  }

  /**
   * The first waiting call (that `accept`s) none of whose recipients has an earlier call waiting or
   * in flight: one person's messages keep their order while the workers stay busy.
   */
  function nextWork(queue: Work[], busy: Set<string>, accept: (work: Work) => boolean = () => true): Work | null {
    const blocked = new Set(busy);
    for (let i = 0; i < queue.length; i++) {
      const recipients = queue[i].rows.map((r) => r.recipient);
      if (accept(queue[i]) && recipients.every((r) => !blocked.has(r))) return queue.splice(i, 1)[0];
      for (const recipient of recipients) blocked.add(recipient);
    }
    return null;
  }

  const byPriority = (a: Work, b: Work) => a.rows[0].priority - b.rows[0].priority || a.rows[0].id - b.rows[0].id;

  /** A send that waits for its platform's pacer: the slot is taken before the call is chosen for good. */
  const pacedSend = (work: Work) => work.rows[0].kind === 'send' && adapters.has(work.rows[0].platform);

  /**
   * One delivery round: claims a batch, and `concurrency` workers send it. While a full batch was
   * claimed (more is waiting), the next batch is claimed as the queue runs low, so the platform's
   * rate is used without a pause between batches; a kick (a commit that queued messages) claims at
   * once, so an alert does not wait for the queue to run low. A claim is small (about what the
   * pacer sends in a fraction of a second, plus whole fan-out groups), so unsent rows are not held
   * under a long lease. Resolves when every claimed row is settled.
   *
   * A worker takes its platform's pacer slot before its call is chosen for good: with the slot in
   * hand it sends the most urgent call then waiting for that platform (an alert claimed while the
   * worker waited for the slot) and puts its own back. So an alert goes out with the next slot,
   * ahead of bulk calls that workers were already holding.
   */
  async function round(): Promise<number> {
    const queue: Work[] = [];
    const busy = new Set<string>();
    let handled = 0;
    let exhausted = false;
    let claiming: Promise<void> | null = null;
    let wake: () => void = () => undefined;
    let changed = new Promise<void>((resolve) => (wake = resolve));
    const signal = () => {
      wake();
      changed = new Promise<void>((resolve) => (wake = resolve));
    };

    let claimAgain = false;
    function claimMore(below?: number): Promise<void> {
      claiming ??= (async () => {
        const current: Round = { token: `${ownerPrefix}${boot}-${++roundNumber}`, leaseUntil: 0 };
        try {
          const rows = await claimDueRows(current, below);
          handled += rows.length;
          queue.push(...groupsOf(current, rows));
          // Rows claimed later may be alerts: they go ahead of the bulk calls still waiting.
          queue.sort(byPriority);
          // Only a claim of everything due tells whether anything is left.
          if ((below === undefined && rows.length < batchSize) || stopping) exhausted = true;
        } catch (error) {
          exhausted = true;
          options.log.error({ err: error }, 'claiming outbound messages failed');
        } finally {
          claiming = null;
          signal();
        }
        // A kick during the claim may be for a row its SELECT could not see yet.
        if (claimAgain && !stopping) {
          claimAgain = false;
          claimUrgent();
        }
      })();
      return claiming;
    }

    /**
     * After a kick: claims what is more urgent than every call already queued (with nothing queued,
     * anything due). A row no more urgent than those waits for the queue to run low, as before: so a
     * stream of replies does not pile up claimed rows, but an alert is claimed at once.
     */
    function claimUrgent(): void {
      if (queue.length === 0) {
        exhausted = false;
        void claimMore();
        return;
      }
      const mostUrgentQueued = Math.min(...queue.map((w) => w.rows[0].priority));
      if (mostUrgentQueued > 0) void claimMore(mostUrgentQueued);
    }

    /** The most urgent send waiting for `platform` that is more urgent than `held`, if any. */
    function moreUrgent(held: Work): Work | null {
      const { platform, priority } = held.rows[0];
      return nextWork(queue, busy, (w) => w.rows[0].priority < priority && w.rows[0].platform === platform && pacedSend(w));
    }

    const reserve = (work: Work) => work.rows.forEach((row) => busy.add(row.recipient));
    const release = (work: Work) => work.rows.forEach((row) => busy.delete(row.recipient));

    /**
     * Sends `work` (reserved), or a more urgent call in its place; returns the call it holds at the
     * end. The slot is taken right before the call, as always (nothing between the pacer and the
     * platform); a more urgent call found then uses it instead.
     */
    async function send(work: Work): Promise<Work> {
      if (work.rows[0].kind === 'fanout') {
        await expandFanOuts(work);
        // The group's rows are due now: claim them rather than end the round.
        exhausted = false;
        return work;
      }
      if (!pacedSend(work)) {
        await deliverGroup(work.round, work.rows);
        return work;
      }
      try {
        await deliverGroup(work.round, work.rows, async () => {
          await pacers.get(work.rows[0].platform)!.take();
          const urgent = moreUrgent(work);
          if (urgent) throw new SlotHandedOver(urgent);
        });
        return work;
      } catch (error) {
        if (!(error instanceof SlotHandedOver)) throw error;
        // The slot goes to the alert; this call goes back to its place in the queue.
        const urgent = error.urgent as Work;
        release(work);
        reserve(urgent);
        queue.push(work);
        queue.sort(byPriority);
        signal();
        await deliverGroup(urgent.round, urgent.rows, async () => undefined);
        return urgent;
      }
    }

    async function worker(): Promise<void> {
      for (;;) {
        if (!exhausted && queue.length < concurrency) void claimMore();
        const work = nextWork(queue, busy);
        if (work) {
          reserve(work);
          let held = work;
          try {
            held = await send(work);
          } finally {
            release(held);
            signal();
          }
        } else if (queue.length === 0 && exhausted && !claiming) {
          return;
        } else {
          await changed;
        }
      }
    }

    // Claims made after the last worker left would not be sent this round: then the poller's next round does it.
    let working = 0;
    active = {
      claimNow() {
        if (working === 0) return;
        if (claiming) claimAgain = true;
        else claimUrgent();
      },
    };
    const counted = async () => {
      working++;
      try {
        await worker();
      } finally {
        working--;
      }
    };
    try {
      await claimMore();
      await Promise.all(Array.from({ length: concurrency }, counted));
    } finally {
      active = null;
    }
    await Promise.allSettled([...hooks]);
    return handled;
  }

  /** The running round, while it runs: a kick claims in it at once. */
  let active: { claimNow(): void } | null = null;
  let stopping = false;

  /** Rows this instance had claimed before it was restarted (same INSTANCE_ID) can be sent at once. */
  async function releaseOwnLeases(): Promise<void> {
    await transact((em) =>
      em
        .createQueryBuilder()
        .update(OutboundMessageEntity)
        .set({ leaseOwner: null, leaseUntil: null })
        .where('status = :status AND SUBSTR(lease_owner, 1, :length) = :prefix', { status: 'pending', length: ownerPrefix.length, prefix: ownerPrefix })
        .andWhere('SUBSTR(lease_owner, 1, :mineLength) <> :mine', { mineLength: ownerPrefix.length + boot.length + 1, mine: `${ownerPrefix}${boot}-` })
        .execute(),
    );
  }

  const poller = createCoalescingPoller(round, { intervalMs: options.pollIntervalMs ?? 1000, log: options.log, name: 'outbox' });

  return {
    start() {
      stopping = false;
      // Rows this instance claimed before a restart are taken back at once rather than at lease expiry.
      poller.start(releaseOwnLeases);
    },
    async stop() {
      stopping = true;
      await poller.stop();
      await Promise.allSettled([...hooks]);
    },
    kick() {
      if (!stopping) active?.claimNow();
      poller.kick();
    },
    runOnce: poller.run,
    backlog() {
      return transact(async (em) => {
        const messages = em.getRepository(OutboundMessageEntity);
        const pending = await messages.count({ where: { status: 'pending' } });
        const oldest = await messages.findOne({ where: { status: 'pending' }, order: { id: 'ASC' } });
        const dead = await messages.count({ where: { status: 'dead' } });
        return { pending, oldestAgeMs: oldest ? Math.max(0, now() - oldest.createdAt) : null, dead };
      });
    },
  };
}


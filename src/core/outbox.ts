import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { CardDeliveryEntity, OutboundMessageEntity, type OutboundMessageRow } from '../db/entities/messaging.entity';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { Card, OutboundContent, PlatformName, Recipient } from './messages';
import { PlatformApiError } from './errors';
import { recipientKey, type DeliveryOutcome, type PlatformAdapter } from '../platforms/platform-adapter';

export interface OutboundDraft {
  platform: PlatformName;
  recipients: Recipient[];
  content: OutboundContent;
  /** The inbound event this answers, if any. */
  eventId?: string | null;
}

export function parseRecipientKey(key: string): Recipient {
  return key.startsWith('group:') ? { kind: 'group', groupId: key.slice(6) } : { kind: 'user', userId: key.replace(/^user:/, '') };
}

/**
 * Writes outbound messages in the caller's transaction (the transactional outbox). Console messages
 * are delivered by being stored: the console inbox reads them, so they are written as sent.
 */
export async function enqueueOutbound(em: EntityManager, cipher: DataCipher, draft: OutboundDraft, now: number): Promise<void> {
  const groupId = randomUUID();
  const delivered = draft.platform === 'console';
  const contentEnc = cipher.encrypt(JSON.stringify(draft.content));
  const rows = draft.recipients.map((recipient) => ({
    groupId,
    platform: draft.platform,
    recipient: recipientKey(recipient),
    kind: 'send' as const,
    contentEnc,
    cardId: draft.content.kind === 'card' ? draft.content.card.cardId : null,
    eventId: draft.eventId ?? null,
    status: delivered ? ('sent' as const) : ('pending' as const),
    attempts: 0,
    nextAttemptAt: now,
    leaseOwner: null,
    leaseUntil: null,
    lastError: null,
    createdAt: now,
    sentAt: delivered ? now : null,
  }));
  if (rows.length > 0) await em.insert(OutboundMessageEntity, rows);
}

/** Queues an update of every copy of a card already delivered on a platform that shows updates. */
export async function enqueueCardUpdates(em: EntityManager, cipher: DataCipher, card: Card, now: number): Promise<void> {
  const deliveries = await em.findBy(CardDeliveryEntity, { cardId: card.cardId });
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

export interface DispatcherOptions {
  dataSource: DataSource;
  cipher: DataCipher;
  log: Logger;
  adapters: PlatformAdapter[];
  instanceId: string;
  now?: () => number;
  /** How long a claimed row stays reserved for this instance; longer than any platform call. */
  leaseMs?: number;
  maxAttempts?: number;
  pollIntervalMs?: number;
  batchSize?: number;
  /** Called once when a message is given up on (dead letter). */
  onDeadLetter?: (row: OutboundMessageRow) => Promise<void>;
}

export interface OutboxDispatcher {
  start(): void;
  stop(): Promise<void>;
  /** Asks for a delivery round soon (after a commit that queued messages). */
  kick(): void;
  /** One delivery round; resolves when the claimed rows are settled. Returns how many rows it handled. */
  runOnce(): Promise<number>;
  backlog(): Promise<{ pending: number; oldestAgeMs: number | null; dead: number }>;
}

export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(2 ** attempts * 1000, 10 * 60_000);
  return Math.round(base / 2 + random() * (base / 2));
}

export function createOutboxDispatcher(options: DispatcherOptions): OutboxDispatcher {
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const batchSize = options.batchSize ?? 100;
  const adapters = new Map(options.adapters.map((a) => [a.name as string, a]));
  const repo = options.dataSource.getRepository(OutboundMessageEntity);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = true;

  async function claimDueRows(): Promise<OutboundMessageRow[]> {
    const at = now();
    const candidates = await repo
      .createQueryBuilder('m')
      .select(['m.id'])
      .where('m.status = :status', { status: 'pending' })
      .andWhere('m.next_attempt_at <= :at', { at })
      .andWhere('(m.lease_until IS NULL OR m.lease_until < :at)', { at })
      .orderBy('m.id', 'ASC')
      .take(batchSize)
      .getMany();
    const claimed: number[] = [];
    for (const { id } of candidates) {
      // The conditional UPDATE is the claim: of several instances, only one sees affected = 1.
      const result = await repo
        .createQueryBuilder()
        .update()
        .set({ leaseOwner: options.instanceId, leaseUntil: at + leaseMs })
        .where('id = :id AND status = :status AND (lease_until IS NULL OR lease_until < :at)', { id, status: 'pending', at })
        .execute();
      if (result.affected) claimed.push(id);
    }
    return claimed.length ? repo.findBy({ id: In(claimed) }) : [];
  }

  async function settle(row: OutboundMessageRow, patch: Partial<OutboundMessageRow>): Promise<void> {
    await repo.update({ id: row.id, leaseOwner: options.instanceId }, { leaseOwner: null, leaseUntil: null, ...patch });
  }

  async function fail(rows: OutboundMessageRow[], error: unknown): Promise<void> {
    const retryable = error instanceof PlatformApiError ? error.details.retryable : true;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    for (const row of rows) {
      const attempts = row.attempts + 1;
      const dead = !retryable || attempts >= maxAttempts;
      await settle(row, { attempts, lastError: message, status: dead ? 'dead' : 'pending', nextAttemptAt: now() + backoffMs(attempts) });
      if (dead) {
        options.log.error({ outboundId: row.id, platform: row.platform, attempts, err: message }, 'outbound message given up (dead letter)');
        await options.onDeadLetter?.({ ...row, attempts, lastError: message, status: 'dead' });
      } else {
        options.log.warn({ outboundId: row.id, platform: row.platform, attempts, err: message }, 'outbound delivery failed, will retry');
      }
    }
  }

  async function recordOutcome(rows: OutboundMessageRow[], outcome: DeliveryOutcome): Promise<void> {
    const retryLater = new Set((outcome.retryLater ?? []).map(recipientKey));
    const invalid = new Set((outcome.invalid ?? []).map(recipientKey));
    for (const row of rows) {
      if (invalid.has(row.recipient)) {
        options.log.warn({ outboundId: row.id, platform: row.platform }, 'recipient unknown to the platform');
        await settle(row, { status: 'invalid', lastError: 'recipient unknown to the platform' });
      } else if (retryLater.has(row.recipient)) {
        await settle(row, { nextAttemptAt: now() + 60_000, lastError: 'throttled for this recipient' });
      } else {
        const ref = outcome.cardRefs?.[row.recipient];
        if (row.kind === 'send' && row.cardId && ref) {
          await options.dataSource
            .getRepository(CardDeliveryEntity)
            .insert({ cardId: row.cardId, platform: row.platform, recipient: row.recipient, ref, createdAt: now() });
        }
        await settle(row, { status: 'sent', sentAt: now(), attempts: row.attempts + 1, lastError: null });
      }
    }
  }

  async function deliverGroup(rows: OutboundMessageRow[]): Promise<void> {
    const adapter = adapters.get(rows[0].platform);
    if (!adapter) {
      await fail(rows, new PlatformApiError(rows[0].platform, `platform ${rows[0].platform} is not configured`, { retryable: true }));
      return;
    }
    try {
      const content = JSON.parse(options.cipher.decrypt(rows[0].contentEnc)) as OutboundContent;
      if (rows[0].kind === 'card_update') {
        await updateCardCopies(adapter, rows, content);
      } else {
        await recordOutcome(rows, await adapter.deliver({ recipients: rows.map((r) => parseRecipientKey(r.recipient)), content }));
      }
    } catch (error) {
      await fail(rows, error);
    }
  }

  async function updateCardCopies(adapter: PlatformAdapter, rows: OutboundMessageRow[], content: OutboundContent): Promise<void> {
    if (content.kind !== 'card' || !adapter.updateCard) {
      for (const row of rows) await settle(row, { status: 'sent', sentAt: now() });
      return;
    }
    for (const row of rows) {
      const delivery = await options.dataSource
        .getRepository(CardDeliveryEntity)
        .findOne({ where: { cardId: row.cardId!, platform: row.platform, recipient: row.recipient }, order: { id: 'DESC' } });
      if (!delivery) {
        await settle(row, { status: 'sent', sentAt: now(), lastError: 'no delivered copy to update' });
        continue;
      }
      try {
        await adapter.updateCard(parseRecipientKey(row.recipient), delivery.ref, content.card);
        await settle(row, { status: 'sent', sentAt: now(), attempts: row.attempts + 1 });
      } catch (error) {
        await fail([row], error);
      }
    }
  }

  async function round(): Promise<number> {
    const rows = await claimDueRows();
    const groups = new Map<string, OutboundMessageRow[]>();
    for (const row of rows) {
      const key = `${row.groupId} ${row.kind}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    for (const group of groups.values()) await deliverGroup(group);
    return rows.length;
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = round()
      .catch((error) => {
        options.log.error({ err: error }, 'outbox round failed');
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          void runOnce();
        }
      });
    return running;
  }

  return {
    start() {
      stopped = false;
      timer = setInterval(() => void runOnce(), options.pollIntervalMs ?? 1000);
      timer.unref();
      void runOnce();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
    kick() {
      if (!stopped) void runOnce();
    },
    runOnce,
    async backlog() {
      const pending = await repo.count({ where: { status: 'pending' } });
      const oldest = await repo.findOne({ where: { status: 'pending' }, order: { id: 'ASC' } });
      const dead = await repo.count({ where: { status: 'dead' } });
      return { pending, oldestAgeMs: oldest ? now() - oldest.createdAt : null, dead };
    },
  };
}

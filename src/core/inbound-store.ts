import type { DataSource } from 'typeorm';
import { InboundEventEntity, type InboundEventRow } from '../db/entities/messaging.entity';
import { isDuplicateKeyError, type Transact } from '../db/data-source';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { BotEvent } from './events';
import type { EntityManager } from 'typeorm';

/** Work a handler asks for once its transaction has committed (slow calls that must not hold it open). */
export type DeferredTask = () => Promise<void>;

/** Handles one event inside the transaction that also marks it processed. */
export type EventHandler = (em: EntityManager, event: BotEvent) => Promise<DeferredTask[] | void>;

export interface InboundStoreOptions {
  dataSource: DataSource;
  transact: Transact;
  cipher: DataCipher;
  log: Logger;
  handler: EventHandler;
  instanceId: string;
  now?: () => number;
  /** Called after an event's transaction committed (the outbox then delivers its replies). */
  afterCommit?: () => void;
  /** Called once when an event is given up on, to tell the sender (never silence). */
  onGiveUp?: (event: BotEvent) => Promise<void>;
  leaseMs?: number;
  maxAttempts?: number;
}

export interface InboundStore {
  /** Stores the event (false for a redelivery) and processes it in the background. */
  accept(event: BotEvent): Promise<boolean>;
  /** Stores and processes at once; resolves when processing committed. False for a redelivery. */
  acceptAndProcess(event: BotEvent): Promise<boolean>;
  /** Processes every stored event still waiting (after a restart, or another instance's crash). */
  recover(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * The inbound side of "nothing lost": an event is stored before the platform is acknowledged,
 * processed in a transaction that also marks it processed, and retried from the table after a
 * crash. The primary key on the event id makes redeliveries no-ops, across restarts too.
 */
export function createInboundStore(options: InboundStoreOptions): InboundStore {
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const repo = options.dataSource.getRepository(InboundEventEntity);
  const inFlight = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function store(event: BotEvent): Promise<boolean> {
    try {
      // Every write goes through transact: on SQLite a bare write would join (and could be rolled
      // back with) whichever transaction is open on the one connection.
      await options.transact((em) => em.insert(InboundEventEntity, {
        id: event.id,
        platform: event.platform,
        senderId: event.senderId.slice(0, 64),
        payloadEnc: options.cipher.encrypt(JSON.stringify(event)),
        status: 'received',
        attempts: 0,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        receivedAt: event.receivedAt,
        processedAt: null,
      }));
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        options.log.info({ eventId: event.id }, 'duplicate delivery ignored');
        return false;
      }
      throw error;
    }
  }

  async function claim(id: string): Promise<boolean> {
    const at = now();
    const result = await options.transact((em) =>
      em
        .createQueryBuilder()
        .update(InboundEventEntity)
        .set({ leaseOwner: options.instanceId, leaseUntil: at + leaseMs })
        .where('id = :id AND status = :status AND (lease_until IS NULL OR lease_until < :at)', { id, status: 'received', at })
        .execute(),
    );
    return Boolean(result.affected);
  }

  /** `lastAttempt`: a sender waiting for the answer (console) is told at once rather than after retries. */
  async function processStored(row: InboundEventRow, lastAttempt = false): Promise<void> {
    if (!(await claim(row.id))) return;
    const event = JSON.parse(options.cipher.decrypt(row.payloadEnc)) as BotEvent;
    try {
      const deferred = await options.transact(async (em) => {
        const tasks = await options.handler(em, event);
        await em.update(InboundEventEntity, { id: row.id }, { status: 'processed', processedAt: now(), leaseOwner: null, leaseUntil: null });
        return tasks ?? [];
      });
      options.afterCommit?.();
      for (const task of deferred) {
        track(task().catch((error) => options.log.error({ eventId: row.id, err: (error as Error)?.message }, 'deferred task failed')));
      }
    } catch (error) {
      const attempts = lastAttempt ? maxAttempts : row.attempts + 1;
      options.log.error({ eventId: row.id, attempts, err: (error as Error)?.message }, 'processing an inbound event failed');
      const retry = {
        attempts,
        status: attempts >= maxAttempts ? ('failed' as const) : ('received' as const),
        lastError: String((error as Error)?.message ?? error).slice(0, 500),
        leaseOwner: null,
        // Retry after a pause rather than at once: the cause may be passing (a lock, a restart).
        leaseUntil: now() + Math.min(2 ** attempts * 1000, 60_000),
      };
      await options.transact((em) => em.update(InboundEventEntity, { id: row.id }, retry));
      if (attempts >= maxAttempts) await options.onGiveUp?.(event).catch((e) => options.log.error({ err: e }, 'could not tell the sender'));
    }
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  async function processById(id: string, lastAttempt = false): Promise<void> {
    const row = await repo.findOneBy({ id });
    if (row) await processStored(row, lastAttempt);
  }

  return {
    async accept(event) {
      const fresh = await store(event);
      if (fresh && !stopped) {
        track(processById(event.id).catch((error) => options.log.error({ err: error, eventId: event.id }, 'inbound processing crashed')));
      }
      return fresh;
    },
    async acceptAndProcess(event) {
      const fresh = await store(event);
      if (fresh) await track(processById(event.id, true));
      return fresh;
    },
    async recover() {
      const at = now();
      const waiting = await repo
        .createQueryBuilder('e')
        .where('e.status = :status', { status: 'received' })
        .andWhere('(e.lease_until IS NULL OR e.lease_until < :at)', { at })
        .orderBy('e.received_at', 'ASC')
        .take(200)
        .getMany();
      for (const row of waiting) await processStored(row);
      return waiting.length;
    },
    start() {
      stopped = false;
      timer = setInterval(() => void track(this.recover().catch((error) => options.log.error({ err: error }, 'inbound recovery failed'))), 5000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await Promise.allSettled([...inFlight]);
    },
  };
}

import { In, type DataSource, type EntityManager } from 'typeorm';
import { InboundEventEntity, type InboundEventRow } from '../db/entities/messaging.entity';
import { createSqliteExclusive, isDuplicateKeyError, type SqliteConnection, type Transact } from '../db/data-source';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { EventPreparer } from './inbound-files';
import type { BotEvent } from './events';

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
  /** Runs before each processing attempt, outside its transaction (downloads and stores a sent file). */
  prepare?: EventPreparer;
  now?: () => number;
  /** Called after an event's transaction committed (the outbox then delivers its replies). */
  afterCommit?: () => void;
  /** Called once when an event is given up on, to tell the sender (never silence). */
  onGiveUp?: (event: BotEvent) => Promise<void>;
  maxAttempts?: number;
  /** How many events one group commit stores at most. */
  maxBatch?: number;
}

export interface InboundStore {
  /** Stores the event (false for a redelivery) and has it processed in the background. */
  accept(event: BotEvent): Promise<boolean>;
  /** Stores and processes at once; resolves when processing committed. False for a redelivery. */
  acceptAndProcess(event: BotEvent): Promise<boolean>;
  /** Processes stored events still waiting (after a restart, or another instance's crash). */
  recover(): Promise<number>;
  /** For /readyz: events stored but not processed yet, and those given up on (their senders were told). */
  backlog(): Promise<{ waiting: number; failed: number }>;
  start(): void;
  stop(): Promise<void>;
}

interface PendingStore {
  row: InboundEventRow;
  resolve(fresh: boolean): void;
  reject(error: unknown): void;
}

/** SQLite: one prepared statement per row; a redelivery changes nothing (0 changes). */
const SQLITE_INSERT_IF_NEW =
  'INSERT INTO inbound_events (id, platform, sender_id, payload_enc, status, attempts, received_at) VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT (id) DO NOTHING';

/** The values of a new event's row, in the order of the INSERT above. */
function newRowValues(row: InboundEventRow): Array<string | number> {
  return [row.id, row.platform, row.senderId, row.payloadEnc, row.status, row.receivedAt];
}

/** Rows that make a flush start at once rather than at the end of the event loop's turn. */
const EAGER_FLUSH_ROWS = 16;
/**
 * A burst: at least BURST_ROWS events stored within BURST_WINDOW_MS (200 a second or more). While
 * one lasts, processing waits (in steps of BURST_STEP_MS), but never more than MAX_BURST_PAUSE_MS
 * before its next event, so a long burst still sees replies go out, a few a second.
 */
const BURST_WINDOW_MS = 100;
const BURST_ROWS = 20;
const BURST_STEP_MS = 10;
const MAX_BURST_PAUSE_MS = 200;

/**
 * The inbound side of "nothing lost": an event is stored before the platform is acknowledged,
 * processed in a transaction that also marks it processed, and retried from the table after a
 * crash. The primary key on the event id makes redeliveries no-ops, across restarts too.
 *
 * Storing is a group commit: events arriving while a commit is under way are stored together in
 * the next one, so a burst of callbacks costs a few transactions rather than one each. Processing
 * is one worker loop per instance, in arrival order, so it never crowds out storing (on SQLite all
 * transactions share one queue) and a backlog waits in the table, not in memory.
 */
export function createInboundStore(options: InboundStoreOptions): InboundStore {
  const now = options.now ?? Date.now;
  const maxAttempts = options.maxAttempts ?? 5;
  const maxBatch = options.maxBatch ?? 200;
  const sqliteExclusive = createSqliteExclusive(options.dataSource);
  const inFlight = new Set<Promise<unknown>>();
  let pending: PendingStore[] = [];
  let flushing = false;
  let flushScheduled = false;
  let pumping = false;
  let pumpAgain = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  /** Rows stored in the current and the previous half of the burst window. */
  let windowStartedAt = 0;
  let storedThisHalf = 0;
  let storedLastHalf = 0;

  function toRow(event: BotEvent): InboundEventRow {
    return {
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
    };
  }

  let insertIfNew: { db: SqliteConnection; statement: ReturnType<SqliteConnection['prepare']> } | null = null;

  /**
   * SQLite: one prepared INSERT ... ON CONFLICT DO NOTHING per row, all in one transaction on the
   * driver's connection (still in the queue every SQLite transaction waits in, ahead of the
   * others). A redelivery changes no row, so `changes` says which rows were new; an id given twice
   * in one batch is new the first time only. (Through TypeORM's transaction and multi-row INSERTs
   * this cost about twice as much CPU per event.)
   */
  function insertNewOnSqlite(exclusive: NonNullable<typeof sqliteExclusive>, rows: InboundEventRow[]): Promise<boolean[]> {
    return exclusive(
      (db) => {
        if (insertIfNew?.db !== db) insertIfNew = { db, statement: db.prepare(SQLITE_INSERT_IF_NEW) };
        const { statement } = insertIfNew;
        return rows.map((row) => statement.run(...newRowValues(row)).changes === 1);
      },
      { urgent: true },
    );
  }

  /**
   * MySQL: two round trips for the whole batch. (INSERT IGNORE would turn other errors into
   * warnings, and mysql2's FOUND_ROWS flag makes ON DUPLICATE KEY UPDATE report a duplicate as
   * changed, so neither tells a new row apart safely.)
   */
  async function insertNewInBatch(em: EntityManager, rows: InboundEventRow[]): Promise<boolean[]> {
    const stored = await em.find(InboundEventEntity, { select: { id: true }, where: { id: In(rows.map((r) => r.id)) } });
    const seen = new Set(stored.map((r) => r.id));
    const fresh = rows.map((row) => {
      if (seen.has(row.id)) return false;
      seen.add(row.id);
      return true;
    });
    const toInsert = rows.filter((_, i) => fresh[i]);
    if (toInsert.length) await em.insert(InboundEventEntity, toInsert);
    return fresh;
  }

  /** One row, one transaction: the fallback when another instance stored one of a batch's ids first. */
  async function insertOne(row: InboundEventRow): Promise<boolean> {
    try {
      await options.transact((em) => em.insert(InboundEventEntity, row), { urgent: true });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async function storeBatch(batch: PendingStore[]): Promise<void> {
    try {
      const rows = batch.map((p) => p.row);
      const fresh = sqliteExclusive
        ? await insertNewOnSqlite(sqliteExclusive, rows)
        : await options.transact((em) => insertNewInBatch(em, rows), { urgent: true });
      batch.forEach((p, i) => p.resolve(fresh[i]));
    } catch (error) {
      if (!isDuplicateKeyError(error)) {
        batch.forEach((p) => p.reject(error));
        return;
      }
      for (const p of batch) await insertOne(p.row).then(p.resolve, p.reject);
    }
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (pending.length) {
        const batch = pending.splice(0, maxBatch);
        countStored(batch.length);
        await storeBatch(batch);
      }
    } finally {
      flushing = false;
    }
  }

  /**
   * Flushes on the next turn of the event loop, so callbacks read in this one share the commit; or
   * at once when enough are waiting, so the first callbacks of a busy turn are not held until the
   * whole turn is read. (A running flush picks up what arrives meanwhile.)
   */
  function scheduleFlush(): void {
    if (flushing) return;
    if (pending.length >= EAGER_FLUSH_ROWS) {
      track(flush());
      return;
    }
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      if (!flushing && pending.length) track(flush());
    });
  }

  async function store(event: BotEvent): Promise<boolean> {
    const fresh = await new Promise<boolean>((resolve, reject) => {
      pending.push({ row: toRow(event), resolve, reject });
      scheduleFlush();
    });
    if (!fresh) options.log.info({ eventId: event.id }, 'duplicate delivery ignored');
    return fresh;
  }

  /**
   * Claims and handles one stored event in a single transaction. The conditional UPDATE is the
   * claim: on MySQL a second instance waits on the row lock, then finds the event processed.
   */
  async function processStored(row: InboundEventRow, lastAttempt = false): Promise<void> {
    let event = JSON.parse(options.cipher.decrypt(row.payloadEnc)) as BotEvent;
    try {
      if (options.prepare) event = await options.prepare(event);
      const deferred = await options.transact(async (em) => {
        const at = now();
        const claim = await em
          .createQueryBuilder()
          .update(InboundEventEntity)
          .set({ status: 'processed', processedAt: at, leaseOwner: null, leaseUntil: null })
          .where('id = :id AND status = :status AND (lease_until IS NULL OR lease_until < :at)', { id: row.id, status: 'received', at })
          .execute();
        if (!claim.affected) return null;
        return (await options.handler(em, event)) ?? [];
      });
      if (deferred === null) return;
      options.afterCommit?.();
      for (const task of deferred) {
        track(task().catch((error) => options.log.error({ eventId: row.id, err: (error as Error)?.message }, 'deferred task failed')));
      }
    } catch (error) {
      await recordFailure(row, event, error, lastAttempt);
    }
  }

  async function recordFailure(row: InboundEventRow, event: BotEvent, error: unknown, lastAttempt: boolean): Promise<void> {
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

  function track<T>(promise: Promise<T>): Promise<T> {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Counts arrivals in two half-windows, so `inBurst` looks back between one half and a whole window. */
  function countStored(rows: number): void {
    const at = Date.now();
    if (at - windowStartedAt >= BURST_WINDOW_MS / 2) {
      storedLastHalf = at - windowStartedAt >= BURST_WINDOW_MS ? 0 : storedThisHalf;
      storedThisHalf = 0;
      windowStartedAt = at;
    }
    storedThisHalf += rows;
  }

  function inBurst(): boolean {
    const age = Date.now() - windowStartedAt;
    if (age >= BURST_WINDOW_MS) return false;
    return storedThisHalf + (age < BURST_WINDOW_MS / 2 ? storedLastHalf : 0) >= BURST_ROWS;
  }

  /**
   * better-sqlite3 answers synchronously, so a processing loop would never let the event loop read
   * new callbacks. Between two events the loop yields; during a burst of arrivals it waits until the
   * burst is over, up to MAX_BURST_PAUSE_MS, so storing and acknowledging run ahead of processing (a
   * turn costs a few milliseconds of CPU, a stored callback a tenth of one) and processing catches up
   * afterwards (the events wait durably in the table meanwhile).
   */
  async function yieldToArrivals(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const pausedAt = Date.now();
    while (!stopped && inBurst() && Date.now() - pausedAt < MAX_BURST_PAUSE_MS) {
      await new Promise((resolve) => setTimeout(resolve, BURST_STEP_MS));
    }
  }

  /** Handles up to `limit` waiting events, oldest first. */
  async function processWaiting(limit: number): Promise<number> {
    const at = now();
    const waiting = await options.dataSource
      .getRepository(InboundEventEntity)
      .createQueryBuilder('e')
      .where('e.status = :status', { status: 'received' })
      .andWhere('(e.lease_until IS NULL OR e.lease_until < :at)', { at })
      .orderBy('e.received_at', 'ASC')
      .addOrderBy('e.id', 'ASC')
      .take(limit)
      .getMany();
    for (const row of waiting) {
      await yieldToArrivals();
      if (stopped) break;
      await processStored(row);
    }
    return waiting.length;
  }

  /** Has the worker loop look again; starts it only when it is not running (no promise per arrival in a burst). */
  function wakePump(): void {
    if (pumping) pumpAgain = true;
    else track(pump());
  }

  /** The worker loop: drains waiting events; a call while it runs makes it look again. */
  async function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        if ((await processWaiting(50)) === 50) pumpAgain = true;
      } while (pumpAgain && !stopped);
    } catch (error) {
      options.log.error({ err: (error as Error)?.message }, 'inbound processing loop failed');
    } finally {
      pumping = false;
    }
  }

  return {
    async accept(event) {
      const fresh = await store(event);
      if (fresh && !stopped) wakePump();
      return fresh;
    },
    async acceptAndProcess(event) {
      const fresh = await store(event);
      if (!fresh) return false;
      const row = await options.dataSource.getRepository(InboundEventEntity).findOneBy({ id: event.id });
      if (row) await track(processStored(row, true));
      return true;
    },
    recover: () => processWaiting(200),
    backlog: () =>
      options.transact(async (em) => ({
        waiting: await em.countBy(InboundEventEntity, { status: 'received' }),
        failed: await em.countBy(InboundEventEntity, { status: 'failed' }),
      })),
    start() {
      stopped = false;
      timer = setInterval(() => void track(pump()), 5000);
      timer.unref();
      track(pump());
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}

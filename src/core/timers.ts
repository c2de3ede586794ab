import type { EntityManager } from 'typeorm';
import { TimerEntity, type TimerRow } from '../db/entities/kernel.entity';
import { isDuplicateKeyError, type Transact } from '../db/data-source';
import { createCoalescingPoller } from '../lib/coalescing-poller';
import type { Logger } from '../lib/logger';

/*
 * One durable timer mechanism for every feature (escalation steps, questionnaire deadlines and
 * reminders, cycle openings, review meetings): a table of due jobs and one worker per instance.
 *
 * A job runs in one transaction that first marks it done with a conditional UPDATE
 * (`WHERE timer_key = ? AND state = 'pending'`): of two instances only one UPDATE matches, and a
 * crash mid-job rolls the mark back with the job's work, so a restart neither loses nor repeats a
 * job. A job that throws is retried with backoff; after MAX_ATTEMPTS it is `failed` and logged.
 * A job that was due while no instance ran is run as soon as one starts.
 */

export interface TimerJob {
  key: string;
  kind: string;
  dueAt: number;
  payload: Record<string, unknown>;
  attempts: number;
}

export interface TimerDraft {
  key: string;
  kind: string;
  dueAt: number;
  /** Codes and ids only: never free text, never who answered what. */
  payload?: Record<string, unknown>;
}

/** Runs a due job inside its transaction; `now` is the time it was claimed. */
export type TimerHandler = (em: EntityManager, job: TimerJob, now: number) => Promise<void>;

export interface TimerHandlerEntry {
  run: TimerHandler;
  /** Goes ahead of routine work on SQLite's transaction queue (escalation alerts). */
  urgent?: boolean;
}

const MAX_ATTEMPTS = 8;

/**
 * Schedules a job in the caller's transaction. Idempotent by key: a pending job with that key moves
 * to the new due time and payload; a job that already ran (or failed for good) is left alone, so
 * scheduling an occurrence again (at every start-up, say) never repeats it. Returns false then.
 */
export async function scheduleTimer(em: EntityManager, draft: TimerDraft, now: number): Promise<boolean> {
  const existing = await em.findOneBy(TimerEntity, { key: draft.key });
  const payload = JSON.stringify(draft.payload ?? {});
  if (existing) {
    if (existing.state !== 'pending') return false;
    await em.update(TimerEntity, { key: draft.key }, { dueAt: draft.dueAt, payload, kind: draft.kind });
    return true;
  }
  try {
    await em.insert(TimerEntity, { key: draft.key, kind: draft.kind, dueAt: draft.dueAt, payload, state: 'pending', attempts: 0, lastError: null, createdAt: now, doneAt: null });
  } catch (error) {
    // Another instance scheduled the same occurrence at the same moment (two starting together):
    // it exists now, once, which is all scheduling asks for.
    if (!isDuplicateKeyError(error)) throw error;
    return false;
  }
  return true;
}

/** Removes a pending job (an acknowledged alert's next step, a questionnaire closed early). */
export async function cancelTimer(em: EntityManager, key: string): Promise<void> {
  await em.delete(TimerEntity, { key, state: 'pending' });
}

/** Removes every pending job whose key starts with `prefix` (`survey:Q-2026-0003:`). */
export async function cancelTimersByPrefix(em: EntityManager, prefix: string): Promise<number> {
  const result = await em
    .createQueryBuilder()
    .delete()
    .from(TimerEntity)
    .where('timer_key LIKE :prefix AND state = :state', { prefix: `${escapeLike(prefix)}%`, state: 'pending' })
    .execute();
  return result.affected ?? 0;
}

/** 'pending', 'done', 'failed', or null when no job has that key. */
export async function timerState(em: EntityManager, key: string): Promise<TimerRow['state'] | null> {
  return (await em.findOneBy(TimerEntity, { key }))?.state ?? null;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface TimerWorkerOptions {
  transact: Transact;
  log: Logger;
  /** Handlers by job kind; a kind without a handler here is left for an instance that has one. */
  handlers: () => Map<string, TimerHandlerEntry>;
  now?: () => number;
  pollIntervalMs?: number;
  /** Called after each job committed (the outbox then sends what it wrote). */
  afterCommit?: () => void;
  batchSize?: number;
}

export interface TimerWorker {
  start(): void;
  stop(): Promise<void>;
  /** Runs due jobs soon (a turn scheduled one due at once). */
  kick(): void;
  /** Runs every due job now (of the given kinds only, when named); resolves with how many ran. */
  runDue(kinds?: string[]): Promise<number>;
}

export function createTimerWorker(options: TimerWorkerOptions): TimerWorker {
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? 100;

  async function dueJobs(kinds: string[]): Promise<TimerRow[]> {
    if (kinds.length === 0) return [];
    return options.transact((em) =>
      em
        .getRepository(TimerEntity)
        .createQueryBuilder('t')
        .where('t.state = :state AND t.due_at <= :at AND t.kind IN (:...kinds)', { state: 'pending', at: now(), kinds })
        .orderBy('t.due_at', 'ASC')
        .take(batchSize)
        .getMany(),
    );
  }

  /** Marks the job done and runs it in one transaction; false when another instance got it first. */
  async function runJob(row: TimerRow, entry: TimerHandlerEntry): Promise<boolean> {
    return options.transact(
      async (em) => {
        const at = now();
        const claimed = await em
          .createQueryBuilder()
          .update(TimerEntity)
          .set({ state: 'done', doneAt: at, attempts: row.attempts + 1 })
          .where('timer_key = :key AND state = :state AND due_at <= :at', { key: row.key, state: 'pending', at })
          .execute();
        if (!claimed.affected) return false;
        await entry.run(em, { key: row.key, kind: row.kind, dueAt: row.dueAt, payload: JSON.parse(row.payload) as Record<string, unknown>, attempts: row.attempts }, at);
        return true;
      },
      { urgent: entry.urgent },
    );
  }

  async function recordFailure(row: TimerRow, error: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const failed = attempts >= MAX_ATTEMPTS;
    options.log.error({ timer: row.key, kind: row.kind, attempts, err: (error as Error)?.message }, failed ? 'timer job failed for good' : 'timer job failed, will retry');
    await options.transact((em) =>
      em.update(
        TimerEntity,
        { key: row.key, state: 'pending' },
        {
          attempts,
          state: failed ? 'failed' : 'pending',
          lastError: String((error as Error)?.message ?? error).slice(0, 500),
          dueAt: now() + Math.min(2 ** attempts * 1000, 10 * 60_000),
        },
      ),
    );
  }

  async function round(only?: string[]): Promise<number> {
    const handlers = options.handlers();
    let ran = 0;
    const kinds = [...handlers.keys()].filter((k) => !only || only.includes(k));
    for (const row of await dueJobs(kinds)) {
      try {
        if (await runJob(row, handlers.get(row.kind)!)) {
          ran++;
          // Each job's messages go out as soon as it commits, not after the whole round.
          options.afterCommit?.();
        }
      } catch (error) {
        await recordFailure(row, error).catch((e) => options.log.error({ err: e }, 'could not record a timer failure'));
      }
    }
    return ran;
  }

  const poller = createCoalescingPoller(() => round(), { intervalMs: options.pollIntervalMs ?? 1000, log: options.log, name: 'timers' });
  return {
    start: () => poller.start(),
    stop: poller.stop,
    kick: poller.kick,
    // A filtered run (tests, one feature's jobs) runs beside the poller: each job's claim still runs once.
    runDue: (kinds) => (kinds ? round(kinds) : poller.run()),
  };
}

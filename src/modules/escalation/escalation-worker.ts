import { In } from 'typeorm';
import type { BotServices } from '../../bot/turn-context';
import type { Transact } from '../../db/data-source';
import { EscalationEntity, EscalationEventEntity, type Escalation } from '../../db/entities/escalation.entity';
import type { OutboundMessageRow } from '../../db/entities/messaging.entity';
import { appendLedger } from '../../core/ledger';
import { createCoalescingPoller } from '../../lib/coalescing-poller';
import type { Logger } from '../../lib/logger';
import type { EscalationStep } from './escalation-steps';
import { runEscalationStep } from './escalation-service';

export interface EscalationWorkerOptions {
  transact: Transact;
  services: BotServices;
  steps: EscalationStep[];
  log: Logger;
  now?: () => number;
  /** How often due steps are looked for (a commit that creates one also kicks the worker). */
  pollIntervalMs?: number;
  /** Called after steps committed (the outbox then sends their alerts). */
  afterCommit?: () => void;
}

export interface EscalationWorker {
  start(): void;
  stop(): Promise<void>;
  kick(): void;
  /** Runs every due step; resolves with how many ran. */
  runDue(): Promise<number>;
  /** Outbox hook: records the 'delivered' step of alert cards the platform accepted. */
  recordDeliveries(rows: OutboundMessageRow[]): Promise<void>;
}

/**
 * Wakes the escalation steps that are due. The timers are `escalations.next_due_at`, so a restart
 * loses none; a step runs in one transaction that first advances the row with a conditional UPDATE
 * (`WHERE step = <the step> AND state = 'open'`), so of two instances, or of a worker and a leader
 * acknowledging at that moment, only one wins, and a crash mid-step rolls the whole step back:
 * no step is lost or repeated.
 */
export function createEscalationWorker(options: EscalationWorkerOptions): EscalationWorker {
  const now = options.now ?? Date.now;
  const { steps, transact } = options;

  async function dueEscalations(): Promise<Escalation[]> {
    return transact((em) =>
      em
        .getRepository(EscalationEntity)
        .createQueryBuilder('e')
        .where('e.state = :state AND e.next_due_at <= :at', { state: 'open', at: now() })
        .orderBy('e.next_due_at', 'ASC')
        .take(50)
        .getMany(),
    );
  }

  /**
   * Advances the row and runs the step in one transaction; false when someone else got there first.
   * Urgent: an alert is what the seed's "第一时间" is about, so on SQLite it goes ahead of routine work.
   */
  async function runStep(escalation: Escalation): Promise<boolean> {
    return transact(async (em) => {
      const at = now();
      const index = escalation.step;
      const next = steps[index + 1];
      const claimed = await em
        .createQueryBuilder()
        .update(EscalationEntity)
        .set({ step: index + 1, nextDueAt: next ? at + next.afterMs : null, state: next ? 'open' : 'exhausted', updatedAt: at })
        .where('id = :id AND state = :state AND step = :step AND next_due_at <= :at', { id: escalation.id, state: 'open', step: index, at })
        .execute();
      if (!claimed.affected) return false;
      // Steps removed from the configuration since the report was made: the chain simply ends.
      if (index < steps.length) await runEscalationStep({ em, services: options.services, now: at }, escalation, index, steps);
      return true;
    }, { urgent: true });
  }

  async function round(): Promise<number> {
    let ran = 0;
    for (const escalation of await dueEscalations()) {
      try {
        if (await runStep(escalation)) {
          ran++;
          // Each step's alerts go out as soon as it commits, not after the whole round.
          options.afterCommit?.();
        }
      } catch (error) {
        options.log.error({ err: error, insight: escalation.insightNumber, step: escalation.step + 1 }, 'escalation step failed, will retry');
      }
    }
    return ran;
  }

  const poller = createCoalescingPoller(round, { intervalMs: options.pollIntervalMs ?? 1000, log: options.log, name: 'escalation' });

  async function recordDeliveries(rows: OutboundMessageRow[]): Promise<void> {
    const cardRows = rows.filter((r) => r.kind === 'send' && r.cardId && r.recipient.startsWith('user:'));
    if (cardRows.length === 0) return;
    await transact(async (em) => {
      const sent = await em.findBy(EscalationEventEntity, { cardId: In(cardRows.map((r) => r.cardId!)), kind: In(['sent', 'delivered']) });
      if (sent.length === 0) return;
      const escalations = await em.findBy(EscalationEntity, { id: In([...new Set(sent.map((e) => e.escalationId))]) });
      for (const row of cardRows) {
        const personId = row.recipient.slice('user:'.length);
        const mine = sent.filter((e) => e.cardId === row.cardId && e.personId === personId);
        const sentEvent = mine.find((e) => e.kind === 'sent');
        // Delivered once: a resend in the outbox's duplicate window does not add a second record.
        if (!sentEvent || mine.some((e) => e.kind === 'delivered')) continue;
        const escalation = escalations.find((e) => e.id === sentEvent.escalationId)!;
        const at = row.sentAt ?? now();
        await em.insert(EscalationEventEntity, { escalationId: escalation.id, kind: 'delivered', step: sentEvent.step, personId, cardId: row.cardId, detail: row.platform, at });
        await appendLedger(
          em,
          { kind: 'escalation.delivered', subjectType: 'insight', subjectId: escalation.insightNumber, data: { at, step: (sentEvent.step ?? 0) + 1, personId, detail: row.platform } },
          at,
        );
      }
    });
  }

  return {
    start: () => poller.start(),
    stop: poller.stop,
    kick: poller.kick,
    runDue: poller.run,
    recordDeliveries,
  };
}

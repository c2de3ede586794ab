import { In } from 'typeorm';
import type { BotServices } from '../../bot/turn-context';
import type { Transact } from '../../db/data-source';
import { EscalationEntity, EscalationEventEntity } from '../../db/entities/escalation.entity';
import type { OutboundMessageRow } from '../../db/entities/messaging.entity';
import { appendLedger } from '../../core/ledger';
import type { TimerHandlerEntry, TimerJob } from '../../core/timers';
import type { EntityManager } from 'typeorm';
import type { EscalationStep } from './escalation-steps';
import { ESCALATION_STEP_TIMER, runEscalationStep, scheduleEscalationStep } from './escalation-service';

export interface EscalationWorkerOptions {
  transact: Transact;
  services: BotServices;
  steps: EscalationStep[];
  now?: () => number;
  /** Runs the due timer jobs of the given kinds (the app's timer worker). */
  runDueTimers(kinds: string[]): Promise<number>;
}

export interface EscalationWorker {
  /** The durable timer handler of escalation steps, registered with the app's timer worker. */
  timerHandlers(): Record<string, TimerHandlerEntry>;
  /** Runs every due escalation step now; resolves with how many ran. */
  runDue(): Promise<number>;
  /** Outbox hook: records the 'delivered' step of alert cards the platform accepted. */
  recordDeliveries(rows: OutboundMessageRow[]): Promise<void>;
}

/**
 * Runs the steps of immediate-report escalations on the app's durable timers: each step is a
 * timer job (`escalation:<id>:<step>`), and runs in the job's transaction after a conditional
 * UPDATE of the escalation (`WHERE step = <the step> AND state = 'open'`), so of a step and a
 * leader acknowledging at that moment only one wins, and a crash mid-step rolls the whole step
 * back: no step is lost or repeated. The step schedules the next one.
 */
export function createEscalationWorker(options: EscalationWorkerOptions): EscalationWorker {
  const now = options.now ?? Date.now;
  const { steps, transact } = options;

  async function runStep(em: EntityManager, job: TimerJob, at: number): Promise<void> {
    const escalationId = Number(job.payload.escalationId);
    const index = Number(job.payload.step);
    const next = steps[index + 1];
    const claimed = await em
      .createQueryBuilder()
      .update(EscalationEntity)
      .set({ step: index + 1, nextDueAt: next ? at + next.afterMs : null, state: next ? 'open' : 'exhausted', updatedAt: at })
      .where('id = :id AND state = :state AND step = :step', { id: escalationId, state: 'open', step: index })
      .execute();
    // Acknowledged meanwhile (or a step an older version ran): nothing to do.
    if (!claimed.affected) return;
    const escalation = await em.findOneByOrFail(EscalationEntity, { id: escalationId });
    if (next) await scheduleEscalationStep(em, escalationId, index + 1, at + next.afterMs, at);
    // Steps removed from the configuration since the report was made: the chain simply ends.
    if (index < steps.length) await runEscalationStep({ em, services: options.services, now: at }, { ...escalation, step: index }, index, steps);
  }

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
    // Urgent: an alert is what the seed's "第一时间" is about, so on SQLite it goes ahead of routine work.
    timerHandlers: () => ({ [ESCALATION_STEP_TIMER]: { run: runStep, urgent: true } }),
    runDue: () => options.runDueTimers([ESCALATION_STEP_TIMER]),
    recordDeliveries,
  };
}

import type { ConsoleMessage } from '../../src/platforms/console/console-routes';
import type { Card } from '../../src/core/messages';
import type { TestApp } from '../helpers/test-app';
import { EscalationEventEntity, type EscalationEvent } from '../../src/db/entities/escalation.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';

/** A clock the test moves forward: real time plus an offset, so it never runs behind Date.now(). */
export function testClock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms: number) {
      offset += ms;
    },
  };
}

/** Polls until `check` returns a truthy value; fails with `what` after a generous cap. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, capMs = 20_000): Promise<T> {
  const deadline = Date.now() + capMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function cardsIn(messages: ConsoleMessage[], template = 'immediate-alert'): Card[] {
  return messages.flatMap((m) => ('card' in m && m.card.template === template ? [m.card] : []));
}

export function textsIn(messages: ConsoleMessage[]): string[] {
  return messages.flatMap((m) => ('text' in m ? [m.text] : []));
}

export function field(card: Card, label: string): string | undefined {
  return card.fields.find((f) => f.label === label)?.value;
}

export async function escalationEvents(t: TestApp): Promise<EscalationEvent[]> {
  return t.app.dataSource.getRepository(EscalationEventEntity).find({ order: { id: 'ASC' } });
}

export async function ledgerKinds(t: TestApp, subjectId: string): Promise<string[]> {
  const entries = await t.app.dataSource.getRepository(LedgerEntryEntity).find({ where: { subjectId }, order: { id: 'ASC' } });
  return entries.map((e) => e.kind);
}

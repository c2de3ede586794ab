import type { TestApp } from '../helpers/test-app';
import type { ConsoleMessage } from '../../src/platforms/console/console-routes';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { TimerEntity } from '../../src/db/entities/kernel.entity';

/** A moment in Shanghai time (UTC+8). */
export const shanghai = (year: number, month: number, day: number, hour = 10, minute = 0) => Date.UTC(year, month - 1, day, hour - 8, minute);

/** A clock the test sets. */
export function settableClock(start: number) {
  let at = start;
  return {
    now: () => at,
    set(next: number) {
      at = next;
    },
  };
}

/** Delivers everything the outbox holds (the console inbox shows sent messages). */
export async function flush(t: TestApp): Promise<void> {
  while ((await t.app.outbox.runOnce()) > 0) {
    /* until empty */
  }
}

export async function runStart(t: TestApp, now: number): Promise<void> {
  await t.app.transact((em) => t.app.bot.onStart(em, now));
}

export function inboxTexts(messages: ConsoleMessage[]): string[] {
  return messages.flatMap((m) => ('text' in m ? [m.text] : 'card' in m ? [`${m.card.title}\n${m.card.body}`] : []));
}

export async function ledgerOf(t: TestApp, kind: string) {
  return t.app.dataSource.getRepository(LedgerEntryEntity).find({ where: { kind }, order: { id: 'ASC' } });
}

export async function timersLike(t: TestApp, prefix: string) {
  const all = await t.app.dataSource.getRepository(TimerEntity).find({ order: { dueAt: 'ASC' } });
  return all.filter((r) => r.key.startsWith(prefix));
}

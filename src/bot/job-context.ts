import type { EntityManager } from 'typeorm';
import { appendLedger } from '../core/ledger';
import type { BotEvent } from '../core/events';
import type { OutboundContent, OutboundPriority } from '../core/messages';
import { enqueueOutbound } from '../core/outbox';
import type { Person } from '../db/entities/org.entity';
import type { BotServices, JobContext } from './turn-context';

/**
 * Writes a message to each person on their own platform, in the caller's transaction. In a turn the
 * sender is answered on the platform they wrote from. Each person's copy is its own platform call,
 * unless `batch` (a fan-out: one outbox group per platform, which a platform may send to many
 * people in one call — WeCom up to 1,000, DingTalk 20). `platformOf` gives the people's platform
 * column when the caller read it already (a fan-out to 100,000 then does not read `people` again).
 */
export async function notifyPeople(
  em: EntityManager,
  services: BotServices,
  personIds: string[],
  content: OutboundContent,
  now: number,
  options: { priority?: OutboundPriority; event?: BotEvent; batch?: boolean; platformOf?: ReadonlyMap<string, string | null> } = {},
): Promise<void> {
  const unique = [...new Set(personIds)];
  if (unique.length === 0) return;
  const byPlatform = new Map<string, string[]>();
  const { platformOf } = options;
  const known = platformOf ? unique.filter((id) => platformOf.has(id)).map((id) => ({ id, platform: platformOf.get(id) ?? null })) : [];
  const unknown = platformOf ? unique.filter((id) => !platformOf.has(id)) : unique;
  const chunks = [known];
  for (let i = 0; i < unknown.length; i += 500) {
    const chunk = unknown.slice(i, i + 500);
    // Only id and platform decide where a message goes; a plain query keeps a 100,000-person fan-out quick.
    chunks.push(await em.query(`SELECT id, platform FROM people WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk));
  }
  for (const people of chunks as Pick<Person, 'id' | 'platform'>[][]) {
    for (const person of people) {
      const platform = options.event && person.id === options.event.senderId ? options.event.platform : services.platformFor(person as Person);
      const ids = byPlatform.get(platform);
      if (ids) ids.push(person.id);
      else byPlatform.set(platform, [person.id]);
    }
  }
  for (const [platform, ids] of byPlatform) {
    const groups = options.batch ? chunkOf(ids, MAX_BATCH_RECIPIENTS) : ids.map((id) => [id]);
    for (const group of groups) {
      await enqueueOutbound(
        em,
        services.cipher,
        { platform: platform as BotEvent['platform'], recipients: group.map((userId) => ({ kind: 'user' as const, userId })), content, priority: options.priority },
        now,
      );
    }
  }
}

/** One outbox group is one platform call at most: WeCom takes 1,000 people a call. */
const MAX_BATCH_RECIPIENTS = 1000;

function chunkOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The context of work outside a turn (a due timer, start-up). */
export function createJobContext(em: EntityManager, services: BotServices, now: number): JobContext {
  return {
    em,
    now,
    services,
    notify: (personIds, content, options) => notifyPeople(em, services, personIds, content, now, options),
    ledger: async (record) => {
      await appendLedger(em, { actorId: null, ...record }, now);
    },
  };
}

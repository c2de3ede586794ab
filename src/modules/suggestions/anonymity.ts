import { In, type EntityManager } from 'typeorm';
import { InboundEventEntity, OutboundMessageEntity } from '../../db/entities/messaging.entity';
import { PersonEntity } from '../../db/entities/org.entity';
import { SealedReplyEntity } from '../../db/entities/suggestion.entity';
import type { TurnContext } from '../../bot/turn-context';

/** What an anonymous turn's inbound row keeps as its sender: nobody. */
export const NO_SENDER = '';

/**
 * Makes the current turn forget who sent it (匿名意见, and 查询 with a receipt code): the stored
 * inbound event loses its sender and payload in the same transaction that records the suggestion,
 * and the turn's replies are listed for deletion once delivered (purgeDeliveredSealedReplies).
 * The event's id stays, so a redelivery from the platform is still recognised and ignored.
 */
export async function forgetSender(ctx: TurnContext): Promise<void> {
  await ctx.em.update(
    InboundEventEntity,
    { id: ctx.event.id },
    { senderId: NO_SENDER, payloadEnc: ctx.services.cipher.encrypt(JSON.stringify({ sealed: true })) },
  );
  if (registeredThisTurn(ctx)) await ctx.em.delete(PersonEntity, { id: ctx.actor.person.id });
  const listed = await ctx.em.findOneBy(SealedReplyEntity, { eventId: ctx.event.id });
  if (!listed) await ctx.em.insert(SealedReplyEntity, { eventId: ctx.event.id });
}

/**
 * The bot registers a sender it does not know yet at the start of the turn (ensurePerson). If this
 * anonymous turn is their first contact, that new row would record that they wrote just now: it is
 * undone, and they are registered again with their next, ordinary message.
 */
function registeredThisTurn(ctx: TurnContext): boolean {
  const { person, roles, departmentIds } = ctx.actor;
  return person.updatedAt === ctx.now && person.welcomedAt === null && departmentIds.length === 0 && roles.size === 1;
}

/**
 * Deletes the delivered replies of anonymous turns. A reply must exist until the platform has it
 * (nothing lost); once sent it would tie the sender to the receipt code, so it goes. Runs at the
 * start of every turn; the console platform has shown the reply by then.
 */
export async function purgeDeliveredSealedReplies(em: EntityManager): Promise<number> {
  const sealed = await em.find(SealedReplyEntity, { take: 200 });
  if (sealed.length === 0) return 0;
  const eventIds = sealed.map((s) => s.eventId);
  const replies = await em
    .getRepository(OutboundMessageEntity)
    .createQueryBuilder('m')
    .select(['m.id', 'm.eventId', 'm.status'])
    .where('m.event_id IN (:...eventIds)', { eventIds })
    .getMany();
  const delivered = replies.filter((r) => r.status !== 'pending').map((r) => r.id);
  // Deleting by primary key takes row locks only (no gap locks on MySQL), so concurrent turns that
  // purge the same rows wait for each other instead of deadlocking with their own inserts.
  if (delivered.length) await em.delete(OutboundMessageEntity, { id: In(delivered) });
  const stillWaiting = new Set(replies.filter((r) => r.status === 'pending').map((r) => r.eventId));
  const done = eventIds.filter((id) => !stillWaiting.has(id));
  if (done.length) await em.delete(SealedReplyEntity, { eventId: In(done) });
  return delivered.length;
}

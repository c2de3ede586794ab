import { randomUUID } from 'node:crypto';
import { IsNull, type EntityManager } from 'typeorm';
import { CardBatchEntity, CardDeliveryEntity, CardEntity } from '../db/entities/messaging.entity';
import type { CardCatalog, CardVars } from '../cards/card-catalog';
import type { DataCipher } from '../lib/data-cipher';
import type { Card } from './messages';
import { enqueueCardUpdates, enqueueCopyUpdates } from './outbox';

export interface CardSubject {
  type: string;
  id: string;
}

/** Card instances: rendered once from bot-cards/, kept so that every copy can show the latest state. */
export interface CardStore {
  create(em: EntityManager, template: string, vars: CardVars, subject: CardSubject | null, now: number): Promise<Card>;
  /** Creates many cards of one template with multi-row INSERTs (a fan-out: one task card per department). */
  createMany(em: EntityManager, template: string, items: { vars: CardVars; subject: CardSubject | null }[], now: number): Promise<Card[]>;
  load(em: EntityManager, cardId: string): Promise<{ card: Card; subject: CardSubject | null } | null>;
  /** Re-renders the card (new vars) and/or sets its state, and queues updates of delivered copies. */
  update(em: EntityManager, cardId: string, change: { vars?: CardVars; state?: string | null }, now: number): Promise<Card>;
  /** Stores a card built by the caller (a questionnaire page, whose inputs come from data). */
  createBuilt(em: EntityManager, card: Omit<Card, 'cardId' | 'state'>, subject: CardSubject | null, now: number): Promise<Card>;
  /** Shows `state` on one person's copy only (a shared card: "已提交" for who submitted). */
  updateCopy(em: EntityManager, cardId: string, recipient: string, state: string, now: number): Promise<void>;
  /**
   * Shows `state` on the copies of `recipients` (recipient keys), as a bulk change: a copy with a
   * ref of its own (a click's, or a platform's that delivers each copy alone) is updated alone; the
   * other copies of each batch delivered together are updated in one call per batch. Returns how
   * many updates were queued.
   */
  updateCopies(em: EntityManager, cardId: string, recipients: string[], state: string, now: number): Promise<{ copies: number; batches: number }>;
  /** Sets the card's own state without touching delivered copies (the console shows it; sends still queued carry it). */
  setState(em: EntityManager, cardId: string, state: string | null, now: number): Promise<void>;
  /** Remembers a fresh platform reference for one delivered copy (from a card event). */
  refreshRef(em: EntityManager, cardId: string, platform: string, recipient: string, ref: string, now: number): Promise<void>;
}

interface StoredCard {
  card: Card;
  vars: CardVars;
}

export function createCardStore(catalog: CardCatalog, cipher: DataCipher): CardStore {
  const decode = (contentEnc: string): StoredCard => JSON.parse(cipher.decrypt(contentEnc)) as StoredCard;
  const encode = (stored: StoredCard): string => cipher.encrypt(JSON.stringify(stored));

  return {
    async create(em, template, vars, subject, now) {
      const card = catalog.render(template, randomUUID(), vars);
      await em.insert(CardEntity, {
        id: card.cardId,
        template,
        contentEnc: encode({ card, vars }),
        state: null,
        subjectType: subject?.type ?? null,
        subjectId: subject?.id ?? null,
        createdAt: now,
        updatedAt: now,
      });
      return card;
    },
    async createMany(em, template, items, now) {
      const cards = items.map((item) => catalog.render(template, randomUUID(), item.vars));
      const rows = cards.map((card, i) => ({
        id: card.cardId,
        template,
        contentEnc: encode({ card, vars: items[i].vars }),
        state: null,
        subjectType: items[i].subject?.type ?? null,
        subjectId: items[i].subject?.id ?? null,
        createdAt: now,
        updatedAt: now,
      }));
      for (let i = 0; i < rows.length; i += 200) {
        await em.createQueryBuilder().insert().into(CardEntity).values(rows.slice(i, i + 200)).updateEntity(false).execute();
      }
      return cards;
    },
    async load(em, cardId) {
      const row = await em.findOneBy(CardEntity, { id: cardId });
      if (!row) return null;
      const { card } = decode(row.contentEnc);
      return { card: { ...card, state: row.state }, subject: row.subjectType ? { type: row.subjectType, id: row.subjectId! } : null };
    },
    async update(em, cardId, change, now) {
      const row = await em.findOneByOrFail(CardEntity, { id: cardId });
      const stored = decode(row.contentEnc);
      const vars = change.vars ? { ...stored.vars, ...change.vars } : stored.vars;
      const card = change.vars ? catalog.render(row.template, cardId, vars) : stored.card;
      const state = change.state === undefined ? row.state : change.state;
      await em.update(CardEntity, { id: cardId }, { contentEnc: encode({ card, vars }), state, updatedAt: now });
      const updated = { ...card, state };
      await enqueueCardUpdates(em, cipher, updated, now);
      return updated;
    },
    async createBuilt(em, built, subject, now) {
      const card: Card = { ...built, cardId: randomUUID(), state: null };
      await em.insert(CardEntity, {
        id: card.cardId,
        template: card.template,
        contentEnc: encode({ card, vars: {} }),
        state: null,
        subjectType: subject?.type ?? null,
        subjectId: subject?.id ?? null,
        createdAt: now,
        updatedAt: now,
      });
      return card;
    },
    async updateCopy(em, cardId, recipient, state, now) {
      const row = await em.findOneByOrFail(CardEntity, { id: cardId });
      const card = { ...decode(row.contentEnc).card, state };
      await enqueueCardUpdates(em, cipher, card, now, { recipient });
    },
    async updateCopies(em, cardId, recipients, state, now) {
      const targets = new Set(recipients);
      if (targets.size === 0) return { copies: 0, batches: 0 };
      const row = await em.findOneByOrFail(CardEntity, { id: cardId });
      const card = { ...decode(row.contentEnc).card, state };
      const deliveries = await em.find(CardDeliveryEntity, { select: { platform: true, recipient: true }, where: { cardId } });
      const own = new Map<string, { platform: string; recipient: string }>();
      for (const d of deliveries) if (targets.has(d.recipient)) own.set(`${d.platform} ${d.recipient}`, { platform: d.platform, recipient: d.recipient });
      const batches: { id: string; platform: string; recipients: string[] }[] = [];
      for (const batch of await em.find(CardBatchEntity, { where: { cardId, usedAt: IsNull() }, order: { createdAt: 'ASC' } })) {
        // A clicked copy was (or will be) updated with its own code; the batch's code is for the rest.
        const keys = batch.recipients.split('\n').filter((key) => targets.has(key) && !own.has(`${batch.platform} ${key}`));
        if (keys.length > 0) batches.push({ id: batch.id, platform: batch.platform, recipients: keys });
      }
      await enqueueCopyUpdates(em, cipher, card, { copies: [...own.values()], batches }, now);
      return { copies: own.size, batches: batches.length };
    },
    async setState(em, cardId, state, now) {
      await em.update(CardEntity, { id: cardId }, { state, updatedAt: now });
    },
    async refreshRef(em, cardId, platform, recipient, ref, now) {
      await em.insert(CardDeliveryEntity, { cardId, platform, recipient, ref, createdAt: now });
    },
  };
}

/** Stores the batches one delivery made (DeliveryOutcome.cardBatches): recipient keys, one a line. */
export async function recordCardBatches(em: EntityManager, cardId: string, platform: string, batches: { ref: string; recipients: string[] }[], now: number): Promise<void> {
  const rows = batches
    .filter((b) => b.recipients.length > 0)
    .map((b) => ({ id: randomUUID(), cardId, platform, ref: b.ref, recipients: b.recipients.join('\n'), createdAt: now, usedAt: null }));
  if (rows.length > 0) await em.insert(CardBatchEntity, rows);
}

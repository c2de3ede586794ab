import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { LedgerEntryEntity, type LedgerEntry } from '../db/entities/ledger.entity';
import { nextCounterValue } from './counters';
import { CounterEntity } from '../db/entities/insight.entity';
import { forUpdateFind } from '../db/row-locks';

export const GENESIS_HASH = '0'.repeat(64);

export interface LedgerRecord {
  kind: string;
  actorId?: string | null;
  subjectType?: string | null;
  subjectId?: string | null;
  /** Codes, numbers and categories only: never free text or the identity behind a sealed suggestion. */
  data?: Record<string, unknown>;
}

/** The hash covers every field of the entry and the previous entry's hash. */
export function hashEntry(entry: Omit<LedgerEntry, 'hash'>): string {
  const canonical = JSON.stringify([
    entry.id,
    entry.kind,
    entry.actorId,
    entry.subjectType,
    entry.subjectId,
    entry.data,
    entry.createdAt,
    entry.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Appends an entry in the caller's transaction. The entry's id comes from the `ledger` counter,
 * whose row lock serialises appends, so the chain never forks and ids have no gaps.
 */
export async function appendLedger(em: EntityManager, record: LedgerRecord, now: number): Promise<LedgerEntry> {
  const id = await nextCounterValue(em, 'ledger');
  // A locking read on MySQL: a plain one reads this transaction's snapshot, taken before the
  // previous entry's transaction committed, and would chain this entry to the genesis hash.
  const previous = id > 1 ? await em.findOne(LedgerEntryEntity, { where: { id: id - 1 }, ...forUpdateFind(em) }) : null;
  const entry: Omit<LedgerEntry, 'hash'> = {
    id,
    kind: record.kind,
    actorId: record.actorId ?? null,
    subjectType: record.subjectType ?? null,
    subjectId: record.subjectId ?? null,
    data: JSON.stringify(record.data ?? {}),
    createdAt: now,
    prevHash: previous?.hash ?? GENESIS_HASH,
  };
  const complete = { ...entry, hash: hashEntry(entry) };
  await em.insert(LedgerEntryEntity, complete);
  return complete;
}

export type LedgerVerdict = { ok: true; entries: number } | { ok: false; entries: number; entryId: number; problem: string };

/** Walks the chain in id order and names the first entry that was changed, deleted or reordered. */
export async function verifyLedger(dataSource: DataSource, batchSize = 5000): Promise<LedgerVerdict> {
  let expectedId = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const batch = await dataSource
      .getRepository(LedgerEntryEntity)
      .createQueryBuilder('e')
      .where('e.id >= :from', { from: expectedId })
      .orderBy('e.id', 'ASC')
      .take(batchSize)
      .getMany();
    if (batch.length === 0) return checkTail(dataSource, expectedId - 1);
    for (const entry of batch) {
      const problem = checkEntry(entry, expectedId, prevHash);
      if (problem) return { ok: false, entries: expectedId - 1, entryId: problem.entryId, problem: problem.text };
      prevHash = entry.hash;
      expectedId++;
    }
  }
}

/** The counter remembers how many entries were written, so a deleted last entry is noticed too. */
async function checkTail(dataSource: DataSource, lastId: number): Promise<LedgerVerdict> {
  const counter = await dataSource.getRepository(CounterEntity).findOneBy({ name: 'ledger' });
  const written = counter?.value ?? 0;
  if (written > lastId) {
    return { ok: false, entries: lastId, entryId: lastId + 1, problem: `第 ${lastId + 1}–${written} 条记录缺失（已被删除）` };
  }
  return { ok: true, entries: lastId };
}

function checkEntry(entry: LedgerEntry, expectedId: number, prevHash: string): { entryId: number; text: string } | null {
  if (entry.id !== expectedId) {
    return { entryId: expectedId, text: `第 ${expectedId} 条记录缺失（已被删除），其后是第 ${entry.id} 条` };
  }
  if (entry.prevHash !== prevHash) {
    return { entryId: entry.id, text: `第 ${entry.id} 条记录与第 ${entry.id - 1} 条接不上（有记录被删除、调换顺序或重新链接）` };
  }
  if (hashEntry(entry) !== entry.hash) return { entryId: entry.id, text: `第 ${entry.id} 条记录写入后被改动过` };
  return null;
}

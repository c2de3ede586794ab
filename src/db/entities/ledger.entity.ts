import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

/**
 * One entry of the append-only, hash-chained ledger (工作台账). `hash` covers the entry's fields and
 * `prevHash`, so changing, deleting or reordering an entry breaks the chain.
 */
export interface LedgerEntry {
  id: number;
  kind: string;
  actorId: string | null;
  subjectType: string | null;
  subjectId: string | null;
  /** JSON with no free text: numbers, codes, categories. */
  data: string;
  createdAt: number;
  prevHash: string;
  hash: string;
}

export const LedgerEntryEntity = new EntitySchema<LedgerEntry>({
  name: 'LedgerEntry',
  tableName: 'ledger_entries',
  columns: {
    id: increment(),
    kind: { type: 'varchar', length: 48 },
    actorId: { name: 'actor_id', type: 'varchar', length: 64, nullable: true },
    subjectType: { name: 'subject_type', type: 'varchar', length: 32, nullable: true },
    subjectId: { name: 'subject_id', type: 'varchar', length: 64, nullable: true },
    data: { type: 'text' },
    createdAt: { name: 'created_at', ...epochMs() },
    prevHash: { name: 'prev_hash', type: 'varchar', length: 64 },
    hash: { type: 'varchar', length: 64 },
  },
});

import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

export const METHODS = ['talk', 'survey', 'forum', 'visit', 'observation', 'channel'] as const;
export const CATEGORIES = ['political', 'work', 'interests', 'wellbeing', 'other'] as const;
export type Method = (typeof METHODS)[number];
export type Category = (typeof CATEGORIES)[number];
export type InsightKind = 'routine' | 'immediate';
export type InsightStatus = 'new' | 'classified' | 'handled' | 'closed';

export interface Insight {
  id: number;
  /** Human-facing number, e.g. S-2026-0042. */
  number: string;
  reporterId: string;
  departmentId: string | null;
  method: Method;
  category: Category;
  kind: InsightKind;
  /** AES-256-GCM ciphertext of the free text (DataCipher). */
  textEnc: string;
  status: InsightStatus;
  issueKind: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Counter {
  name: string;
  value: number;
}

export const InsightEntity = new EntitySchema<Insight>({
  name: 'Insight',
  tableName: 'insights',
  columns: {
    id: increment(),
    number: { type: 'varchar', length: 20, unique: true },
    reporterId: { name: 'reporter_id', type: 'varchar', length: 64 },
    departmentId: { name: 'department_id', type: 'varchar', length: 64, nullable: true },
    method: { type: 'varchar', length: 16 },
    category: { type: 'varchar', length: 16 },
    kind: { type: 'varchar', length: 16, default: 'routine' },
    textEnc: { name: 'text_enc', type: 'text' },
    status: { type: 'varchar', length: 16, default: 'new' },
    issueKind: { name: 'issue_kind', type: 'varchar', length: 16, nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
    updatedAt: { name: 'updated_at', ...epochMs() },
  },
});

export const CounterEntity = new EntitySchema<Counter>({
  name: 'Counter',
  tableName: 'counters',
  columns: {
    name: { type: 'varchar', length: 64, primary: true },
    value: { type: 'int', default: 0 },
  },
});

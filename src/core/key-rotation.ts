import type { DataSource, EntityManager } from 'typeorm';
import type { Transact } from '../db/data-source';
import { execute, identifier } from '../db/raw-sql';
import type { KeyedCipher } from '../lib/data-cipher';
import { appendLedger } from './ledger';
import { ENCRYPTED_TABLES, type EncryptedTable } from './encrypted-columns';
import { countValuesByKey, retireUnusedKeys, sumCounts, type ColumnKeyCount } from './data-keys';
import { acquireMaintenanceLock } from './maintenance-lock';

/*
 * `xinsheng key rotate`: re-encrypts every stored value that is not under the current key (the first
 * of DATA_KEY), table by table from ENCRYPTED_TABLES, in batches. Each batch is one transaction that
 * also records how far the run got (in its maintenance lock), so a run killed at any point resumes
 * after its last committed batch, and a batch is either all rewritten or not at all. A value is
 * replaced only if it is still the one read (`… WHERE pk = ? AND col = <old value>`): a server
 * running at the same time may change a row, and its newer value is kept.
 *
 * After the tables come the steps modules register (BotModule.keyRotation): values that are keyed
 * by the data key without being ciphertexts, such as 研判's keyword hashes. A step pages through its
 * own rows the same way, one batch per transaction with the run's progress, so it resumes too.
 */

export const KEY_ROTATION_LOCK = 'key-rotation';
const DEFAULT_BATCH_ROWS = 200;

interface RotationProgress {
  target: string;
  /** Index into ENCRYPTED_TABLES, then on into the registered steps. */
  tableIndex: number;
  /** The primary key of the last row done in the current table or step (null: from its start). */
  cursor: unknown[] | null;
  rotated: number;
  /** Values the steps re-keyed (absent in progress saved before steps existed). */
  rekeyed?: number;
}

/**
 * A module's part of a rotation: values derived from the data key that are not ciphertexts (keyword
 * hashes), re-keyed to the cipher's first key. The kernel knows no module, so modules hand these in.
 */
export interface KeyRotationStep {
  /** Names the step in progress reports (`analysis_keywords.hash`). */
  name: string;
  /**
   * Re-keys up to `limit` rows after `cursor` (null: from the start), in the run's transaction.
   * Must be idempotent per row: a killed run repeats the batch it was in.
   */
  batch(em: EntityManager, cipher: KeyedCipher, cursor: unknown[] | null, limit: number): Promise<{ rows: number; rekeyed: number; last: unknown[] | null }>;
  /** Values per key id the step keeps (LEGACY_KEY_ID for values that do not say): what still needs a key. */
  countByKey(db: DataSource | EntityManager): Promise<ColumnKeyCount[]>;
}

export interface RotationResult {
  keyId: string;
  rotated: number;
  /** Values of the registered steps (keyword hashes) re-keyed. */
  rekeyed: number;
  /** Values per key id after the run (the current key's count included). */
  remaining: Record<string, number>;
  /** Keys that protect nothing any more: they may now be removed from DATA_KEY. */
  retired: string[];
  resumed: boolean;
}

export type RotationCrashPoint = 'before-commit' | 'after-commit';

export interface RotationOptions {
  dataSource: DataSource;
  transact: Transact;
  cipher: KeyedCipher;
  now: () => number;
  owner?: string;
  batchRows?: number;
  /** The modules' steps, run after the tables (BotModule.keyRotation). */
  steps?: readonly KeyRotationStep[];
  /** Called in every batch (tests kill the process here to check the resume). */
  onBatch?: (point: RotationCrashPoint, batch: number, table: string) => void | Promise<void>;
  onProgress?: (table: string, rotated: number) => void;
}

/** `WHERE (a, b) > (?, ?)` spelled out, since row comparison is not equally supported everywhere. */
function afterCursor(primaryKey: readonly string[], cursor: unknown[]): { sql: string; params: unknown[] } {
  const ors: string[] = [];
  const params: unknown[] = [];
  primaryKey.forEach((column, i) => {
    const ands = primaryKey.slice(0, i).map((c) => `${identifier(c)} = ?`);
    ands.push(`${identifier(column)} > ?`);
    ors.push(`(${ands.join(' AND ')})`);
    params.push(...cursor.slice(0, i), cursor[i]);
  });
  return { sql: `WHERE ${ors.join(' OR ')}`, params };
}

async function rotateBatch(em: EntityManager, spec: EncryptedTable, cursor: unknown[] | null, limit: number, cipher: KeyedCipher): Promise<{ rows: number; rotated: number; last: unknown[] | null }> {
  const pk = spec.primaryKey.map(identifier);
  const where = cursor ? afterCursor(spec.primaryKey, cursor) : { sql: '', params: [] };
  const rows = (await em.query(
    `SELECT ${[...pk, ...spec.columns.map(identifier)].join(', ')} FROM ${identifier(spec.table)} ${where.sql} ORDER BY ${pk.join(', ')} LIMIT ${Number(limit)}`,
    where.params,
  )) as Record<string, unknown>[];
  let rotated = 0;
  for (const row of rows) {
    for (const column of spec.columns) {
      const value = row[column];
      if (typeof value !== 'string') continue;
      const keyId = cipher.keyIdOf(value);
      if (keyId === null || keyId === cipher.primaryKeyId) continue;
      const fresh = cipher.encrypt(cipher.decrypt(value));
      rotated += await execute(
        em,
        `UPDATE ${identifier(spec.table)} SET ${identifier(column)} = ? WHERE ${pk.map((c) => `${c} = ?`).join(' AND ')} AND ${identifier(column)} = ?`,
        [fresh, ...pk.map((c) => row[c]), value],
      );
    }
  }
  const lastRow = rows[rows.length - 1];
  return { rows: rows.length, rotated, last: lastRow ? pk.map((c) => lastRow[c]) : null };
}

function parseProgress(text: string | null, target: string): { progress: RotationProgress; resumed: boolean } {
  const fresh: RotationProgress = { target, tableIndex: 0, cursor: null, rotated: 0, rekeyed: 0 };
  if (!text) return { progress: fresh, resumed: false };
  const saved = JSON.parse(text) as RotationProgress;
  // A run towards another key (DATA_KEY changed since) starts over: its work is not towards this key.
  return saved.target === target ? { progress: saved, resumed: true } : { progress: fresh, resumed: false };
}

/** One batch of the table or step at `index` (tables first), with its counts. */
async function runBatch(em: EntityManager, index: number, steps: readonly KeyRotationStep[], cursor: unknown[] | null, options: RotationOptions) {
  if (index < ENCRYPTED_TABLES.length) {
    const spec = ENCRYPTED_TABLES[index];
    const limit = options.batchRows ?? spec.batchRows ?? DEFAULT_BATCH_ROWS;
    return { name: spec.table, limit, rekeyed: 0, ...(await rotateBatch(em, spec, cursor, limit, options.cipher)) };
  }
  const step = steps[index - ENCRYPTED_TABLES.length];
  const limit = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const done = await step.batch(em, options.cipher, cursor, limit);
  return { name: step.name, limit, rotated: 0, ...done };
}

export async function rotateDataKeys(options: RotationOptions): Promise<RotationResult> {
  const { transact, cipher, now } = options;
  const steps = options.steps ?? [];
  const lock = await acquireMaintenanceLock(transact, KEY_ROTATION_LOCK, { owner: options.owner, now });
  const { progress, resumed } = parseProgress(lock.progress, cipher.primaryKeyId);
  let batch = 0;
  while (progress.tableIndex < ENCRYPTED_TABLES.length + steps.length) {
    batch++;
    const { next, name } = await transact(async (em) => {
      // Write first: on SQLite this takes the write lock before reading, so a server committing
      // meanwhile makes this batch wait (busy_timeout) rather than fail on a stale snapshot.
      await lock.renew(em, JSON.stringify(progress), now());
      const done = await runBatch(em, progress.tableIndex, steps, progress.cursor, options);
      const counted = { ...progress, rotated: progress.rotated + done.rotated, rekeyed: (progress.rekeyed ?? 0) + done.rekeyed };
      const after: RotationProgress =
        done.rows < done.limit ? { ...counted, tableIndex: progress.tableIndex + 1, cursor: null } : { ...counted, cursor: done.last };
      await lock.renew(em, JSON.stringify(after), now());
      await options.onBatch?.('before-commit', batch, done.name);
      return { next: after, name: done.name };
    });
    await options.onBatch?.('after-commit', batch, name);
    Object.assign(progress, next);
    options.onProgress?.(name, progress.rotated);
  }
  return transact(async (em) => {
    await lock.renew(em, JSON.stringify(progress), now());
    const remaining = sumCounts(await countValuesByKey(em, steps));
    const retired = await retireUnusedKeys(em, remaining, cipher.primaryKeyId, now());
    const rekeyed = progress.rekeyed ?? 0;
    await appendLedger(em, { kind: 'key.rotated', subjectType: 'data_key', subjectId: cipher.primaryKeyId, data: { rotated: progress.rotated, rekeyed, retired, resumed } }, now());
    await lock.release(em);
    return { keyId: cipher.primaryKeyId, rotated: progress.rotated, rekeyed, remaining, retired, resumed };
  });
}

import type { DataSource, EntityManager } from 'typeorm';
import type { Transact } from '../db/data-source';
import { execute, identifier, isDuplicateKeyError } from '../db/raw-sql';
import { createDataCipher, LEGACY_KEY_ID, type DataKey, type KeyedCipher } from '../lib/data-cipher';
import { ConfigError } from './errors';
import { ENCRYPTED_TABLES } from './encrypted-columns';
import type { KeyRotationStep } from './key-rotation';

/*
 * The data keys the database knows (`data_keys`): every key that has encrypted a stored value is
 * registered, with a check value (a constant encrypted under it), before it encrypts anything. At
 * start-up every registered key must be configured and open its check value, so a missing or wrong
 * DATA_KEY stops start-up with a message naming the key, instead of failing later in a turn. A key
 * is retired (no longer required) once `xinsheng key rotate` finds no value left under it.
 */

const CHECK_PLAIN = 'xinsheng data key check';

interface KeyRow {
  key_id: string;
  check_enc: string;
  retired_at: number | string | null;
}

export class DataKeyError extends ConfigError {}

function mismatch(id: string): DataKeyError {
  return new DataKeyError(
    `DATA_KEY：密钥 ${id} 与数据库中的数据不匹配（它打不开数据库里该密钥的校验值）。请使用当初加密这些数据的密钥；未做任何改动。`,
  );
}

function missing(id: string): DataKeyError {
  return new DataKeyError(
    `DATA_KEY：数据库中有密钥 ${id} 加密的数据，但 DATA_KEY 中没有这个密钥（DATA_KEY 与数据库中的数据不匹配）。` +
      `请把密钥 ${id} 加回 DATA_KEY（放在第一个之后只用于解密），不要删除仍有数据的密钥；未做任何改动。`,
  );
}

function opensCheck(key: DataKey, checkEnc: string): boolean {
  try {
    return createDataCipher([key]).decrypt(checkEnc) === CHECK_PLAIN;
  } catch {
    return false;
  }
}

async function registeredKeys(em: EntityManager | DataSource): Promise<KeyRow[]> {
  return (await em.query('SELECT key_id, check_enc, retired_at FROM data_keys ORDER BY created_at, key_id')) as KeyRow[];
}

/**
 * Before the database has any registered key (a new database, or the first start after this
 * upgrade): one stored value per encrypted column tells which configured key made the existing data.
 */
async function keysOfExistingData(em: EntityManager, cipher: KeyedCipher): Promise<string[]> {
  const found = new Set<string>();
  for (const { table, columns } of ENCRYPTED_TABLES) {
    for (const column of columns) {
      const [row] = (await em.query(`SELECT ${identifier(column)} AS v FROM ${identifier(table)} WHERE ${identifier(column)} IS NOT NULL LIMIT 1`)) as { v: string }[];
      if (!row) continue;
      const id = cipher.keyIdOf(row.v);
      if (id === null) continue;
      const opener = id === LEGACY_KEY_ID ? cipher.keys.find((k) => opensValue(k, row.v)) : cipher.keys.find((k) => k.id === id);
      if (!opener) throw id === LEGACY_KEY_ID ? legacyMismatch() : missing(id);
      if (!opensValue(opener, row.v)) throw mismatch(id);
      found.add(opener.id);
    }
  }
  return [...found];
}

function opensValue(key: DataKey, stored: string): boolean {
  try {
    createDataCipher([key]).decrypt(stored);
    return true;
  } catch {
    return false;
  }
}

function legacyMismatch(): DataKeyError {
  return new DataKeyError('DATA_KEY：数据库中已有的数据无法用 DATA_KEY 中的任何密钥解密——密钥与数据不匹配。请使用原来的 DATA_KEY；未做任何改动。');
}

async function register(em: EntityManager, key: DataKey, now: number): Promise<void> {
  const checkEnc = createDataCipher([key]).encrypt(CHECK_PLAIN);
  try {
    await execute(em, 'INSERT INTO data_keys (key_id, check_enc, created_at, retired_at) VALUES (?, ?, ?, NULL)', [key.id, checkEnc, now]);
  } catch (error) {
    // Another instance registered it at the same moment: the start-up check already compared it.
    if (!isDuplicateKeyError(error)) throw error;
  }
}

/**
 * The start-up check: every key the data needs is configured and is the right key; then the key
 * that encrypts is registered (or brought back from retirement). Throws DataKeyError, changing nothing.
 */
export async function checkDataKeys(transact: Transact, cipher: KeyedCipher, now: number): Promise<void> {
  await retryWhileBusy(() => checkOnce(transact, cipher, now));
}

/**
 * Two instances starting together on one SQLite file: a transaction that read before the other's
 * write and then writes itself is refused at once ("database is locked", SQLITE_BUSY) rather than
 * waiting. The check reads and registers idempotently, so it is simply run again.
 */
async function retryWhileBusy(work: () => Promise<void>, attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { driverError?: { code?: string }; code?: string })?.driverError?.code ?? (error as { code?: string })?.code;
      if (!String(code ?? '').startsWith('SQLITE_BUSY') || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt));
    }
  }
}

async function checkOnce(transact: Transact, cipher: KeyedCipher, now: number): Promise<void> {
  await transact(async (em) => {
    const rows = await registeredKeys(em);
    const configured = new Map(cipher.keys.map((k) => [k.id, k]));
    for (const row of rows) {
      const key = configured.get(row.key_id);
      if (key && !opensCheck(key, row.check_enc)) throw mismatch(row.key_id);
      if (!key && row.retired_at === null) throw missing(row.key_id);
    }
    const known = new Set(rows.map((r) => r.key_id));
    const needed = rows.length === 0 ? await keysOfExistingData(em, cipher) : [];
    for (const id of new Set([...needed, cipher.primaryKeyId])) {
      if (!known.has(id)) await register(em, configured.get(id)!, now);
    }
    await execute(em, 'UPDATE data_keys SET retired_at = NULL WHERE key_id = ? AND retired_at IS NOT NULL', [cipher.primaryKeyId]);
  });
}

export interface ColumnKeyCount {
  table: string;
  column: string;
  /** Values per key id (LEGACY_KEY_ID for values from before key ids). */
  counts: Record<string, number>;
  /** Keyed hashes (a rotation step's), not ciphertexts: they need their key too, but are shown apart. */
  hashes?: boolean;
}

export interface DataKeyStatus {
  primaryKeyId: string;
  configured: string[];
  /** Registered keys the data still needs (not retired). */
  required: string[];
  /** Ciphertexts per key id over every encrypted column. */
  totals: Record<string, number>;
  /** Keyed hashes per key id (the rotation steps' values). */
  hashTotals: Record<string, number>;
  columns: ColumnKeyCount[];
}

/** SQL that names a stored value's key id (the same on SQLite and MySQL). */
function keyIdExpression(column: string): string {
  const c = identifier(column);
  return `CASE WHEN ${c} LIKE 'v1:%' THEN '${LEGACY_KEY_ID}' WHEN ${c} LIKE 'v2:%' THEN SUBSTR(${c}, 4, INSTR(SUBSTR(${c}, 4), ':') - 1) ELSE '?' END`;
}

/** Counts the stored values under each key (reads every encrypted column once), then the steps' hashes. */
export async function countValuesByKey(db: DataSource | EntityManager, steps: readonly KeyRotationStep[] = []): Promise<ColumnKeyCount[]> {
  const result: ColumnKeyCount[] = [];
  for (const { table, columns } of ENCRYPTED_TABLES) {
    for (const column of columns) {
      const rows = (await db.query(
        `SELECT ${keyIdExpression(column)} AS k, COUNT(*) AS n FROM ${identifier(table)} WHERE ${identifier(column)} IS NOT NULL GROUP BY k`,
      )) as { k: string; n: number | string }[];
      const counts: Record<string, number> = {};
      for (const row of rows) if (row.k !== '?') counts[row.k] = (counts[row.k] ?? 0) + Number(row.n);
      result.push({ table, column, counts });
    }
  }
  for (const step of steps) result.push(...(await step.countByKey(db)).map((c) => ({ ...c, hashes: true })));
  return result;
}

export function sumCounts(columns: ColumnKeyCount[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const { counts } of columns) for (const [id, n] of Object.entries(counts)) totals[id] = (totals[id] ?? 0) + n;
  return totals;
}

export async function dataKeyStatus(dataSource: DataSource, cipher: KeyedCipher, steps: readonly KeyRotationStep[] = []): Promise<DataKeyStatus> {
  const columns = await countValuesByKey(dataSource, steps);
  const rows = await registeredKeys(dataSource);
  return {
    primaryKeyId: cipher.primaryKeyId,
    configured: cipher.keys.map((k) => k.id),
    required: rows.filter((r) => r.retired_at === null).map((r) => r.key_id),
    totals: sumCounts(columns.filter((c) => !c.hashes)),
    hashTotals: sumCounts(columns.filter((c) => c.hashes)),
    columns,
  };
}

/** Marks keys that protect nothing any more as no longer required (in the caller's transaction). */
export async function retireUnusedKeys(em: EntityManager, totals: Record<string, number>, primaryKeyId: string, now: number): Promise<string[]> {
  // Values from before key ids do not say which key made them: while any is left, every key stays required.
  if ((totals[LEGACY_KEY_ID] ?? 0) > 0) return [];
  const retired: string[] = [];
  for (const row of await registeredKeys(em)) {
    if (row.retired_at !== null || row.key_id === primaryKeyId || (totals[row.key_id] ?? 0) > 0) continue;
    await execute(em, 'UPDATE data_keys SET retired_at = ? WHERE key_id = ? AND retired_at IS NULL', [now, row.key_id]);
    retired.push(row.key_id);
  }
  return retired;
}

/** The `xinsheng key status` report, in the operator's words. */
export function describeKeyStatus(status: DataKeyStatus): string {
  const lines = [`加密新数据的密钥：${status.primaryKeyId}（DATA_KEY 的第一个）`];
  const ids = new Set([...status.configured, ...status.required, ...Object.keys(status.totals), ...Object.keys(status.hashTotals)]);
  for (const id of ids) {
    const ciphertexts = status.totals[id] ?? 0;
    const hashes = status.hashTotals[id] ?? 0;
    const count = ciphertexts + hashes;
    const label = id === LEGACY_KEY_ID ? '旧格式 v1（无密钥编号，由 DATA_KEY 中的某个密钥加密）' : `密钥 ${id}`;
    const notes: string[] = [];
    if (id === status.primaryKeyId) notes.push('当前');
    if (id !== LEGACY_KEY_ID && !status.configured.includes(id)) notes.push('DATA_KEY 中没有');
    if (id !== LEGACY_KEY_ID && id !== status.primaryKeyId && count === 0 && !status.required.includes(id)) notes.push('已无数据，可从 DATA_KEY 中移除');
    if (id !== LEGACY_KEY_ID && id !== status.primaryKeyId && count === 0 && status.required.includes(id)) notes.push('已无数据；运行 xinsheng key rotate 后即可移除');
    if (id !== status.primaryKeyId && count > 0) notes.push('仍有数据，运行 xinsheng key rotate 改用当前密钥');
    const amount = `${ciphertexts} 个密文${hashes ? `、${hashes} 个研判关键词散列` : ''}`;
    lines.push(`${label}：${amount}${notes.length ? `（${notes.join('；')}）` : ''}`);
  }
  lines.push('按表：');
  for (const { table, column, counts } of status.columns) {
    const parts = Object.entries(counts).map(([id, n]) => `${id} ${n}`);
    lines.push(`  ${table}.${column}：${parts.length ? parts.join('，') : '无'}`);
  }
  return lines.join('\n');
}

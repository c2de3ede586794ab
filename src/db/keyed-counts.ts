import type { EntityManager } from 'typeorm';
import { identifier } from './raw-sql';

/**
 * Adds to counts kept under a key (keyword months, questionnaire tallies), in the caller's
 * transaction, with multi-row upserts: `ON DUPLICATE KEY UPDATE c = c + VALUES(c)` on MySQL,
 * `ON CONFLICT (key) DO UPDATE SET c = c + excluded.c` on SQLite. A missing row is created with
 * the amounts given (a negative amount on a missing row is the caller's mistake).
 *
 * Each row gives the key columns' values, then the count columns' amounts. Rows of one key are
 * summed first (a key whose amounts are all 0 is left out), and the rows are written in key order,
 * so that concurrent transactions lock the rows they share in the same order (MySQL).
 * Rows left at 0 are not deleted here: what 0 means is the caller's to say.
 */
export async function addKeyedCounts(
  em: EntityManager,
  table: string,
  keyColumns: readonly string[],
  countColumns: readonly string[],
  rows: readonly (readonly unknown[])[],
  rowsPerStatement = 500,
): Promise<void> {
  if (rows.length === 0) return;
  const keys = keyColumns.map(identifier);
  const counts = countColumns.map(identifier);
  const merged = new Map<string, unknown[]>();
  for (const row of rows) {
    if (row.length !== keys.length + counts.length) throw new Error(`${table}: a row needs ${keys.length} key values and ${counts.length} amounts`);
    const id = JSON.stringify(row.slice(0, keys.length));
    const seen = merged.get(id);
    if (!seen) merged.set(id, [...row.slice(0, keys.length), ...row.slice(keys.length).map(Number)]);
    else for (let c = 0; c < counts.length; c++) seen[keys.length + c] = Number(seen[keys.length + c]) + Number(row[keys.length + c]);
  }
  const sorted = [...merged.values()].filter((r) => r.slice(keys.length).some((n) => n !== 0)).sort((a, b) => compareKeys(a, b, keys.length));
  if (sorted.length === 0) return;
  const mysql = em.connection.options.type === 'mysql';
  const update = mysql
    ? `ON DUPLICATE KEY UPDATE ${counts.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ')}`
    : `ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${counts.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`;
  const placeholders = `(${[...keys, ...counts].map(() => '?').join(', ')})`;
  for (let i = 0; i < sorted.length; i += rowsPerStatement) {
    const chunk = sorted.slice(i, i + rowsPerStatement);
    await em.query(`INSERT INTO ${identifier(table)} (${[...keys, ...counts].join(', ')}) VALUES ${chunk.map(() => placeholders).join(', ')} ${update}`, chunk.flat());
  }
}

/** Numbers by value, anything else as text: one total order, the same in every transaction. */
function compareKeys(a: unknown[], b: unknown[], length: number): number {
  for (let i = 0; i < length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    const s = String(x ?? '');
    const t = String(y ?? '');
    if (s !== t) return s < t ? -1 : 1;
  }
  return 0;
}

import type { EntityManager } from 'typeorm';

/**
 * Inserts many rows with multi-row INSERT statements of bounded size, in the caller's transaction.
 * For fan-outs (an outbox group of 1,000, a questionnaire's 100,000 participants): the ORM's insert
 * builds and reads back each row, which costs more than the database does.
 * `columns` are the table's column names; each row gives their values in that order.
 */
export async function insertRows(em: EntityManager, table: string, columns: string[], rows: unknown[][], rowsPerStatement = 250): Promise<void> {
  if (rows.length === 0) return;
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
  for (let i = 0; i < rows.length; i += rowsPerStatement) {
    const chunk = rows.slice(i, i + rowsPerStatement);
    await em.query(head + Array.from({ length: chunk.length }, () => placeholders).join(', '), chunk.flat());
  }
}

/** A column whose value differs from row to row, with its type for MySQL's JSON_TABLE. */
export interface VaryingColumn {
  name: string;
  /** e.g. 'VARCHAR(191)', 'BIGINT'. */
  mysqlType: string;
}

/**
 * Inserts many rows that share most of their values (a fan-out's outbox rows, a questionnaire's
 * participants): the shared values are bound once per statement, and the varying ones travel as one
 * JSON array of row arrays, which the database unpacks itself (json_each on SQLite, JSON_TABLE on
 * MySQL 8 / MariaDB 10.6+). Binding 100,000 × 16 parameters one by one cost more than the writes.
 */
export async function insertSharedRows(
  em: EntityManager,
  table: string,
  shared: Record<string, unknown>,
  varying: VaryingColumn[],
  rows: unknown[][],
  rowsPerStatement = 1000,
): Promise<void> {
  if (rows.length === 0) return;
  const sharedNames = Object.keys(shared);
  const columns = [...sharedNames, ...varying.map((c) => c.name)].join(', ');
  const mysql = em.connection.options.type === 'mysql';
  const values = mysql ? varying.map((_, i) => `j.c${i}`) : varying.map((_, i) => `json_extract(j.value, '$[${i}]')`);
  const source = mysql ? `JSON_TABLE(?, '$[*]' COLUMNS (${varying.map((c, i) => `c${i} ${c.mysqlType} PATH '$[${i}]'`).join(', ')})) j` : 'json_each(?) j';
  const sql = `INSERT INTO ${table} (${columns}) SELECT ${[...sharedNames.map(() => '?'), ...values].join(', ')} FROM ${source}`;
  const sharedValues = sharedNames.map((name) => shared[name]);
  for (let i = 0; i < rows.length; i += rowsPerStatement) {
    await em.query(sql, [...sharedValues, JSON.stringify(rows.slice(i, i + rowsPerStatement))]);
  }
}

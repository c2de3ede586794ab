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

import type { EntitySchemaColumnOptions } from 'typeorm';

/**
 * Times are stored as epoch milliseconds in BIGINT columns: portable between SQLite and MySQL,
 * compared as plain numbers in SQL, and free of driver time-zone conversions.
 */
export const epochMs = (nullable = false): EntitySchemaColumnOptions => ({
  type: 'bigint',
  nullable,
  transformer: { to: (v: unknown) => v, from: (v: unknown) => (v === null || v === undefined ? v : Number(v)) },
});

export const idColumn = (length = 64): EntitySchemaColumnOptions => ({ type: 'varchar', length, primary: true });

export const increment = (): EntitySchemaColumnOptions => ({ type: 'int', primary: true, generated: 'increment' });

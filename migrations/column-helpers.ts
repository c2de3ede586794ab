import type { QueryRunner, TableColumnOptions } from 'typeorm';

/** Column builders shared by the migrations, so one migration file runs on SQLite and MySQL. */
export const varchar = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  ...extra,
});

export const nullableVarchar = (name: string, length: number) => varchar(name, length, { isNullable: true });

export const epochMs = (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable });

export const intColumn = (name: string, fallback = 0): TableColumnOptions => ({ name, type: 'int', default: fallback });

export const autoId = (name = 'id'): TableColumnOptions => ({
  name,
  // SQLite only auto-increments an INTEGER PRIMARY KEY; MySQL reads INTEGER as INT.
  type: 'integer',
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment',
});

/** MySQL TEXT stops at 64 KiB; encrypted files and cards may be larger. */
export function longText(queryRunner: QueryRunner, name: string, isNullable = false): TableColumnOptions {
  const type = queryRunner.connection.options.type === 'better-sqlite3' ? 'text' : 'longtext';
  return { name, type, isNullable };
}

export const text = (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'text', isNullable });

import type { EntityManager } from 'typeorm';

/** Runs an UPDATE/DELETE/INSERT in the caller's transaction and returns how many rows it changed (SQLite and MySQL). */
export async function execute(em: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
  if (!em.queryRunner) throw new Error('execute() needs a transaction');
  const result = (await em.queryRunner.query(sql, params, true)) as { affected?: number };
  return result.affected ?? 0;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Table and column names come from code (registries), never from input; this keeps it so. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return name;
}

export { isDuplicateKeyError } from './data-source';

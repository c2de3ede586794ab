import type { EntityManager, ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/*
 * Locking reads (FOR UPDATE), on MySQL only. There they serialise two instances' transactions on
 * the rows they read, and read the latest committed rows rather than the transaction's snapshot.
 * SQLite runs one transaction at a time and has no FOR UPDATE.
 */

function locksRows(em: EntityManager): boolean {
  return em.connection.options.type === 'mysql';
}

/** ' FOR UPDATE' to append to a raw SELECT on MySQL; '' on SQLite. */
export function forUpdateSql(em: EntityManager): string {
  return locksRows(em) ? ' FOR UPDATE' : '';
}

/** The query builder, reading FOR UPDATE on MySQL. */
export function forUpdate<T extends ObjectLiteral>(em: EntityManager, query: SelectQueryBuilder<T>): SelectQueryBuilder<T> {
  return locksRows(em) ? query.setLock('pessimistic_write') : query;
}

/** Find options that read FOR UPDATE on MySQL (spread into `where`'s options). */
export function forUpdateFind(em: EntityManager): { lock?: { mode: 'pessimistic_write' } } {
  return locksRows(em) ? { lock: { mode: 'pessimistic_write' } } : {};
}

import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type EntityManager } from 'typeorm';
import type { DatabaseConfig } from '../config/load-config';
import { entities } from './entities';
import { migrations } from '../../migrations';

/** Builds (does not connect) the DataSource: explicit entities and migrations, never synchronize. */
export function createDataSource(config: DatabaseConfig): DataSource {
  if (config.type === 'mysql') {
    return new DataSource({
      type: 'mysql',
      url: config.url,
      charset: 'utf8mb4',
      timezone: 'Z',
      entities,
      migrations,
      synchronize: false,
      migrationsTransactionMode: 'each',
      extra: { connectionLimit: 10 },
    });
  }
  if (config.path !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(config.path)), { recursive: true });
  return new DataSource({
    type: 'better-sqlite3',
    database: config.path,
    entities,
    migrations,
    synchronize: false,
    migrationsTransactionMode: 'each',
    // WAL lets readers proceed while the outbox dispatcher writes; busy_timeout covers a second process (the CLI).
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  });
}

export type Transact = <T>(work: (em: EntityManager) => Promise<T>) => Promise<T>;

/** The tail of each SQLite DataSource's transaction queue, shared by every Transact made for it. */
const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs work in a transaction. SQLite has one connection, and TypeORM would interleave two
 * concurrent transactions on it, so there they are queued (one queue per DataSource, however many
 * Transact functions are made for it); MySQL runs them concurrently.
 */
export function createTransact(dataSource: DataSource): Transact {
  if (dataSource.options.type === 'mysql') return (work) => dataSource.transaction(work);
  return <T>(work: (em: EntityManager) => Promise<T>) => {
    const run = (sqliteQueues.get(dataSource) ?? Promise.resolve()).then(() => dataSource.transaction(work));
    sqliteQueues.set(dataSource, run.catch(() => undefined));
    return run;
  };
}

export function isDuplicateKeyError(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; driverError?: { code?: string } };
  const code = e?.driverError?.code ?? e?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
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
    // Queries with IN lists vary in length (each length is its own statement); a larger cache keeps
    // the hot statements prepared.
    statementCacheSize: 1000,
    // WAL lets readers proceed while the outbox dispatcher writes; busy_timeout covers a second
    // process (the CLI). synchronous=NORMAL under WAL: a commit survives a crash of the process
    // (SIGKILL included); only an OS crash or power loss may drop the last commits.
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  });
}

/**
 * Runs work in a transaction. `urgent` work (storing inbound events before they are acknowledged)
 * goes ahead of work that is still waiting its turn. The work may run more than once (a MySQL
 * deadlock victim is run again), so it touches only the database; slow or outside effects belong
 * after the commit.
 */
export type Transact = <T>(work: (em: EntityManager) => Promise<T>, options?: { urgent?: boolean }) => Promise<T>;

interface QueuedWork {
  run(): Promise<void>;
}

/** One queue per SQLite DataSource, shared by every Transact made for it. */
interface SqliteQueue {
  urgent: QueuedWork[];
  normal: QueuedWork[];
  busy: boolean;
}

const sqliteQueues = new WeakMap<DataSource, SqliteQueue>();

function drain(queue: SqliteQueue): void {
  if (queue.busy) return;
  const next = queue.urgent.shift() ?? queue.normal.shift();
  if (!next) return;
  queue.busy = true;
  void next.run().finally(() => {
    queue.busy = false;
    drain(queue);
  });
}

/**
 * SQLite has one connection, and TypeORM would interleave two concurrent transactions on it, so
 * there they run one at a time (urgent ones first); MySQL runs them concurrently, and runs again a
 * transaction it chose as a deadlock victim (MySQL rolled it back whole and asks for exactly that).
 */
export function createTransact(dataSource: DataSource): Transact {
  if (dataSource.options.type === 'mysql') return (work) => retryDeadlocks(() => dataSource.transaction(work));
  beginImmediately(dataSource);
  const shared = sqliteQueue(dataSource);
  return <T>(work: (em: EntityManager) => Promise<T>, options?: { urgent?: boolean }) =>
    new Promise<T>((resolve, reject) => {
      const item: QueuedWork = { run: () => dataSource.transaction(work).then(resolve, reject) };
      (options?.urgent ? shared.urgent : shared.normal).push(item);
      drain(shared);
    });
}

/**
 * SQLite transactions take the write lock when they begin (BEGIN IMMEDIATE), not at their first
 * write. A deferred transaction that has read and then writes cannot wait for another process's
 * write to finish: SQLite refuses the upgrade at once (SQLITE_BUSY_SNAPSHOT, "database is locked"),
 * which two instances or the CLI beside a server on one file hit at start-up. Taken up front, the
 * lock is waited for (busy_timeout). Within one process transactions already run one at a time, so
 * this costs nothing there. TypeORM has no option for it; its one SQLite query runner is adjusted.
 */
function beginImmediately(dataSource: DataSource): void {
  const runner = dataSource.createQueryRunner() as QueryRunner & { beginsImmediately?: boolean };
  if (runner.beginsImmediately) return;
  const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
  runner.query = ((sql: string, ...rest: unknown[]) => query(sql === 'BEGIN TRANSACTION' ? 'BEGIN IMMEDIATE TRANSACTION' : sql, ...rest)) as QueryRunner['query'];
  runner.beginsImmediately = true;
}

/** The few better-sqlite3 calls that SQLite-only fast paths use on the driver's own connection. */
export interface SqliteConnection {
  prepare(sql: string): { run(...values: unknown[]): { changes: number } };
  transaction<A extends unknown[], R>(work: (...args: A) => R): ((...args: A) => R) & { immediate(...args: A): R };
}

/**
 * SQLite only (null on MySQL): runs synchronous work on the driver's connection, in a transaction of
 * its own, in the same queue as Transact's transactions (so never inside another one). For the
 * hottest writes, where TypeORM's transaction machinery cost more than the statements themselves.
 */
export type SqliteExclusive = <T>(work: (db: SqliteConnection) => T, options?: { urgent?: boolean }) => Promise<T>;

export function createSqliteExclusive(dataSource: DataSource): SqliteExclusive | null {
  if (dataSource.options.type !== 'better-sqlite3') return null;
  const shared = sqliteQueue(dataSource);
  return <T>(work: (db: SqliteConnection) => T, options?: { urgent?: boolean }) =>
    new Promise<T>((resolve, reject) => {
      const item: QueuedWork = {
        run: async () => {
          const db = (dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
          try {
            resolve(db.transaction(() => work(db)).immediate());
          } catch (error) {
            reject(error);
          }
        },
      };
      (options?.urgent ? shared.urgent : shared.normal).push(item);
      drain(shared);
    });
}

/**
 * One queue per database file, not per connection: two apps of one process on one file (tests, a
 * benchmark's two instances) run their transactions one at a time too. Were they to overlap, the
 * second BEGIN IMMEDIATE would wait for the first synchronously, on the very thread the first needs
 * to finish, and fail after busy_timeout. In-memory databases are each their own.
 */
const sqliteFileQueues = new Map<string, SqliteQueue>();

function sqliteQueue(dataSource: DataSource): SqliteQueue {
  let queue = sqliteQueues.get(dataSource);
  if (queue) return queue;
  const file = String(dataSource.options.database ?? ':memory:');
  const shared = file === ':memory:' || file === '' ? undefined : path.resolve(file);
  queue = (shared && sqliteFileQueues.get(shared)) || { urgent: [], normal: [], busy: false };
  if (shared) sqliteFileQueues.set(shared, queue);
  sqliteQueues.set(dataSource, queue);
  return queue;
}

const DEADLOCK_ATTEMPTS = 4;

/**
 * Two transactions that each lock a gap the other wants to insert into (the first use of a new
 * counter, say) deadlock on MySQL; one is rolled back. Work given to Transact only touches the
 * database, so running it again is safe.
 */
async function retryDeadlocks<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isDeadlockError(error) || attempt >= DEADLOCK_ATTEMPTS) throw error;
      // A short random pause, so the transactions that collided do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

function isDeadlockError(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  return (e?.driverError?.code ?? e?.code) === 'ER_LOCK_DEADLOCK';
}

export function isDuplicateKeyError(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; driverError?: { code?: string } };
  const code = e?.driverError?.code ?? e?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { migrations } from '../../migrations';

/*
 * `xinsheng backup FILE` / `xinsheng restore FILE` on SQLite. The backup is SQLite's online backup
 * (better-sqlite3's db.backup): a consistent copy of the committed database while the server keeps
 * writing. It holds what the database holds — ciphertexts, never the keys (DATA_KEY lives outside
 * the database; keep it apart from the backups). A restore goes only into an empty database, from a
 * backup that is complete and not from a newer version. MySQL uses mysqldump (README, Operations).
 */

export class BackupError extends Error {}

/** The few better-sqlite3 calls used here (the package ships no types; TypeORM loads the same module). */
interface SqliteDatabase {
  backup(file: string): Promise<unknown>;
  pragma(sql: string, options: { simple: true }): unknown;
  prepare(sql: string): { get(): unknown; all(): unknown[] };
  close(): void;
}
type SqliteConstructor = new (file: string, options: { readonly?: boolean; fileMustExist?: boolean }) => SqliteDatabase;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Database = require('better-sqlite3') as SqliteConstructor;

/** Tables a freshly started empty database already fills (the key registry), which a restore replaces. */
const IGNORED_WHEN_EMPTY = new Set(['migrations', 'data_keys', 'maintenance_locks', 'connection_leases']);

const knownMigrationNames = (): Set<string> => new Set(migrations.map((M) => new M().name));

function sqliteHandle(dataSource: DataSource): SqliteDatabase {
  if (dataSource.options.type !== 'better-sqlite3') throw new BackupError(mysqlHint());
  return (dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
}

export function mysqlHint(): string {
  return (
    'backup/restore：DATABASE_URL 是 MySQL，请用 mysqldump 备份（一致性快照，不锁表）：\n' +
    '  mysqldump --single-transaction --quick --routines --no-tablespaces -h HOST -u USER -p DB > xinsheng.sql\n' +
    '恢复到一个新建的空库，然后核对工作台账：\n' +
    '  mysql -h HOST -u USER -p NEWDB < xinsheng.sql && DATABASE_URL=mysql://…/NEWDB xinsheng ledger verify'
  );
}

export interface BackupSummary {
  file: string;
  bytes: number;
  ledgerEntries: number;
  migrations: number;
}

/** A backup is checked before it is trusted: complete, a Xinsheng database, not from a newer version. */
export function inspectBackup(file: string): BackupSummary {
  if (!fs.existsSync(file)) throw new BackupError(`restore：找不到备份文件 ${file}`);
  const bytes = fs.statSync(file).size;
  const broken = (why: string) => new BackupError(`restore：${file} 不是完整的备份（${why}），未做任何改动。请用完整的备份文件。`);
  const header = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (header.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') throw broken('不是 SQLite 数据库文件');
  const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
  const pages = header.readUInt32BE(28);
  if (pages * pageSize > bytes) throw broken(`文件被截断：应有 ${pages * pageSize} 字节，只有 ${bytes} 字节`);
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw broken((error as Error).message);
  }
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw broken(String(check));
    const hasMigrations = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").get() as { n: number };
    if (!hasMigrations.n) throw broken('没有 migrations 表，不是心声的数据库');
    const names = (db.prepare('SELECT name FROM migrations').all() as { name: string }[]).map((r) => r.name);
    const known = knownMigrationNames();
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new BackupError(`restore：${file} 来自更新的版本（含本版本没有的迁移 ${unknown.join('、')}），未做任何改动。请用同一版本或更新版本的心声恢复。`);
    }
    const ledger = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'ledger_entries'").get() as { n: number };
    const ledgerEntries = ledger.n ? (db.prepare('SELECT COUNT(*) AS n FROM ledger_entries').get() as { n: number }).n : 0;
    return { file, bytes, ledgerEntries, migrations: names.length };
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw broken((error as Error).message);
  } finally {
    db.close();
  }
}

export async function backupDatabase(dataSource: DataSource, file: string): Promise<BackupSummary> {
  const db = sqliteHandle(dataSource);
  if (fs.existsSync(file)) throw new BackupError(`backup：${file} 已存在，不会覆盖；请换一个文件名。`);
  // Written under another name first: a backup killed halfway never looks like a finished one.
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  try {
    await db.backup(partial);
    const summary = inspectBackup(partial);
    fs.renameSync(partial, file);
    return { ...summary, file };
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

/** The tables of a target database that hold rows (an empty list: safe to restore into). */
function tablesWithRows(target: string): string[] {
  if (!fs.existsSync(target) || fs.statSync(target).size === 0) return [];
  const db = new Database(target, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
    return tables
      .map((t) => t.name)
      .filter((name) => !IGNORED_WHEN_EMPTY.has(name))
      .filter((name) => (db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM "${name.replace(/"/g, '""')}" LIMIT 1)`).get() as { n: number }).n > 0);
  } finally {
    db.close();
  }
}

/** Restores a checked backup into the (empty) SQLite database at `target`. */
export async function restoreDatabase(backupFile: string, target: string): Promise<BackupSummary> {
  const summary = inspectBackup(backupFile);
  const filled = tablesWithRows(target);
  if (filled.length) {
    throw new BackupError(`restore：目标数据库 ${target} 不是空的（${filled.slice(0, 5).join('、')}${filled.length > 5 ? ' …' : ''} 有数据），未做任何改动。请恢复到新的 DATABASE_URL。`);
  }
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(target + suffix, { force: true });
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const source = new Database(backupFile, { readonly: true, fileMustExist: true });
  try {
    await source.backup(target);
  } finally {
    source.close();
  }
  return summary;
}

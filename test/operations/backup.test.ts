import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { cli, fillWithData } from './support';

jest.setTimeout(120_000);

/** What a restore must keep: the ledger's entries match the rows they record. */
async function counts(db: DataSource): Promise<{ insights: number; insightEntries: number; suggestions: number; ledger: number }> {
  const one = async (sql: string) => Number(((await db.query(sql)) as { n: number | string }[])[0].n);
  return {
    insights: await one('SELECT COUNT(*) AS n FROM insights'),
    insightEntries: await one("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind IN ('insight.created', 'insight.immediate')"),
    suggestions: await one('SELECT COUNT(*) AS n FROM suggestions'),
    ledger: await one('SELECT COUNT(*) AS n FROM ledger_entries'),
  };
}

describe('backup and restore (sqlite)', () => {
  let t: TestApp;
  let target: string;

  beforeEach(async () => {
    t = await startTestApp({ serve: true });
    target = fs.mkdtempSync(path.join(t.dataDir, 'restore-'));
  });
  afterEach(async () => {
    await t.stop();
  });

  const restoredEnv = () => ({ ...t.env, DATABASE_URL: `sqlite:${path.join(target, 'restored.db')}` });

  it('a backup taken while reports are being written restores into an empty database with the ledger intact and counts that agree', async () => {
    const numbers = await fillWithData(t, 3);
    const chat = consoleClient(t);
    const file = path.join(t.dataDir, 'xinsheng-backup.db');
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing && i < 200; i++) await chat.say('zhangsan', `上报 备份期间第${i}条`);
    })();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const backup = await cli(t.env, 'backup', file);
    writing = false;
    await writes;
    expect(backup.code).toBe(0);
    expect(backup.text).toMatch(/^已备份到 .*xinsheng-backup\.db（\d+ 字节，工作台账 \d+ 条）。备份里只有密文，没有 DATA_KEY/);
    expect(fs.existsSync(`${file}.partial`)).toBe(false);

    const restored = await cli(restoredEnv(), 'restore', file);
    expect(restored.code).toBe(0);
    expect(restored.text).toMatch(/已从 .* 恢复到 .*restored\.db（工作台账 \d+ 条）。\n工作台账完整：共 \d+ 条记录。/);

    const copy = await startTestApp({ env: restoredEnv(), serve: true });
    try {
      const c = await counts(copy.app.dataSource);
      expect(c.insights).toBeGreaterThan(4);
      expect(c.insightEntries).toBe(c.insights);
      expect(c.suggestions).toBe(1);
      // The same DATA_KEY reads the restored texts.
      expect(texts(await consoleClient(copy).say('liu', `查看 ${numbers[2]}`))).toContain('第2位同志反映加班较多');
    } finally {
      await copy.app.stop();
    }
  });

  it('refuses an existing backup file, a database that is not empty, a truncated backup and one from a newer version — changing nothing', async () => {
    await fillWithData(t, 2);
    const file = path.join(t.dataDir, 'b.db');
    expect((await cli(t.env, 'backup', file)).code).toBe(0);
    const again = await cli(t.env, 'backup', file);
    expect(again).toEqual({ code: 1, text: `xinsheng：backup：${file} 已存在，不会覆盖；请换一个文件名。` });

    const before = await counts(t.app.dataSource);
    const intoLive = await cli(t.env, 'restore', file);
    expect(intoLive.code).toBe(1);
    expect(intoLive.text).toContain('不是空的（');
    expect(intoLive.text).toContain('未做任何改动');
    expect(await counts(t.app.dataSource)).toEqual(before);

    const truncated = path.join(t.dataDir, 'truncated.db');
    fs.writeFileSync(truncated, fs.readFileSync(file).subarray(0, Math.floor(fs.statSync(file).size / 2)));
    const cut = await cli(restoredEnv(), 'restore', truncated);
    expect(cut.code).toBe(1);
    expect(cut.text).toMatch(/truncated\.db 不是完整的备份（文件被截断：应有 \d+ 字节，只有 \d+ 字节），未做任何改动/);
    expect(fs.existsSync(path.join(target, 'restored.db'))).toBe(false);

    const newer = path.join(t.dataDir, 'newer.db');
    fs.copyFileSync(file, newer);
    const Database = require('better-sqlite3');
    const db = new Database(newer);
    db.prepare('INSERT INTO migrations (timestamp, name) VALUES (?, ?)').run(9999999999999, 'FromTheFuture9999999999999');
    db.close();
    const future = await cli(restoredEnv(), 'restore', newer);
    expect(future.code).toBe(1);
    expect(future.text).toContain('来自更新的版本（含本版本没有的迁移 FromTheFuture9999999999999），未做任何改动');
    expect(fs.existsSync(path.join(target, 'restored.db'))).toBe(false);
  });
});

const dumpTool = ['mysqldump', 'mariadb-dump'].find((tool) => {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

// The MySQL path is the documented mysqldump/mysql pair; it runs where a MariaDB/MySQL server and its client tools are.
const mysqlDescribe = process.env.TEST_MYSQL_URL && dumpTool ? describe : describe.skip;

mysqlDescribe('backup and restore (mysql: mysqldump --single-transaction, then mysql into a fresh database)', () => {
  let t: TestApp;
  const fresh = `xinsheng_restore_${randomBytes(4).toString('hex')}`;
  const base = () => new URL(process.env.TEST_MYSQL_URL!);

  beforeEach(async () => {
    t = await startTestApp({ database: 'mysql', serve: true });
  });
  afterEach(async () => {
    await t.stop();
    const admin = await mysql.createConnection(process.env.TEST_MYSQL_URL!);
    await admin.query(`DROP DATABASE IF EXISTS \`${fresh}\``);
    await admin.end();
  });

  it('restores a dump taken while the server runs; ledger verify passes and counts agree', async () => {
    await fillWithData(t, 3);
    const url = base();
    const source = new URL(t.databaseUrl).pathname.slice(1);
    const args = ['-h', url.hostname, '-P', url.port || '3306', '-u', decodeURIComponent(url.username || 'root'), ...(url.password ? [`-p${decodeURIComponent(url.password)}`] : [])];
    const dump = execFileSync(dumpTool!, ['--single-transaction', '--quick', '--routines', '--no-tablespaces', ...args, source], { maxBuffer: 256 * 1024 * 1024 });
    const admin = await mysql.createConnection(process.env.TEST_MYSQL_URL!);
    await admin.query(`CREATE DATABASE \`${fresh}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
    execFileSync('mysql', [...args, fresh], { input: dump });

    const env = { ...t.env, DATABASE_URL: `${process.env.TEST_MYSQL_URL!.replace(/\/+$/, '')}/${fresh}` };
    expect(await cli(env, 'ledger', 'verify')).toMatchObject({ code: 0, text: expect.stringMatching(/^工作台账完整：共 \d+ 条记录。$/) });
    const copy = await startTestApp({ env });
    try {
      expect(await counts(copy.app.dataSource)).toEqual(await counts(t.app.dataSource));
    } finally {
      await copy.app.stop();
    }
  });
});

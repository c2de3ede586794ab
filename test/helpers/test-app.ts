import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config/load-config';
import { createApp, type AppOptions, type XinshengApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';

export type TestDatabase = 'sqlite' | 'mysql';

export interface TestApp {
  app: XinshengApp;
  request: ReturnType<typeof request>;
  /** Where the SQLite file and data key live. */
  dataDir: string;
  /** The DATABASE_URL in use (a throwaway database). */
  databaseUrl: string;
  /** Environment the app was built from, to start a second instance on the same database. */
  env: Record<string, string>;
  /** The loopback port, when started with `serve`. */
  port?: number;
  stop(): Promise<void>;
}

/** The databases tests run on: SQLite always, MariaDB/MySQL when TEST_MYSQL_URL is set (CI sets it). */
export function testDatabases(): TestDatabase[] {
  return process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
}

async function createMysqlDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.TEST_MYSQL_URL!.replace(/\/+$/, '');
  const name = `xinsheng_test_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(base);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  return {
    url: `${base}/${name}`,
    async drop() {
      const conn = await mysql.createConnection(base);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

/**
 * Builds the real app on a throwaway database (SQLite in a temp folder, or a new MySQL database),
 * runs the migrations, and — with `serve` — starts it on an ephemeral loopback port.
 */
export async function startTestApp(
  options: { env?: Record<string, string>; database?: TestDatabase; serve?: boolean; appOptions?: AppOptions; shareDatabaseOf?: TestApp } = {},
): Promise<TestApp> {
  const dataDir = options.shareDatabaseOf?.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-test-'));
  const mysqlDb = !options.shareDatabaseOf && options.database === 'mysql' ? await createMysqlDatabase() : null;
  const databaseUrl = options.shareDatabaseOf?.databaseUrl ?? mysqlDb?.url ?? `sqlite:${path.join(dataDir, 'xinsheng.db')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    DATA_KEY: options.shareDatabaseOf?.env.DATA_KEY ?? randomBytes(32).toString('base64'),
    LOG_LEVEL: 'silent',
    CONSOLE: 'on',
    ...options.env,
  };
  const app = await createApp(loadConfig(env), { log: createLogger('silent'), ...options.appOptions });
  const port = options.serve ? (await app.start()).port : undefined;
  if (!options.serve) {
    await app.migrate();
    await app.checkDataKeys();
  }
  return {
    app,
    request: request(app.koa.callback()),
    dataDir,
    databaseUrl,
    env,
    port,
    async stop() {
      await app.stop();
      if (mysqlDb) await mysqlDb.drop();
      if (!options.shareDatabaseOf) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

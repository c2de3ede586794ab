import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDataSource } from '../../src/db/data-source';
import { startWalCheckpointer } from '../../src/db/wal-checkpointer';
import { createLogger } from '../../src/lib/logger';
import { startTestApp } from '../helpers/test-app';

/*
 * While the server runs on SQLite, WAL checkpoints are done by a worker thread with its own
 * connection, not by the committing connection on the event loop (src/db/wal-checkpointer.ts).
 */
describe('WAL checkpointer', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-wal-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const autocheckpoint = (connection: { pragma(sql: string, options: { simple: true }): unknown }) =>
    connection.pragma('wal_autocheckpoint', { simple: true });

  it('copies committed pages into the database file from its own connection, and hands checkpoints back when stopped', async () => {
    const dataSource = createDataSource({ type: 'sqlite', path: path.join(dir, 'x.db') });
    await dataSource.initialize();
    const connection = (dataSource.driver as unknown as { databaseConnection: { pragma(sql: string, options?: { simple: true }): unknown } }).databaseConnection;
    try {
      await dataSource.query('CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT)');
      const checkpointer = startWalCheckpointer(dataSource, createLogger('silent'))!;
      expect(checkpointer).not.toBeNull();
      // The server's own checkpoint becomes a safety net while the worker runs.
      expect(autocheckpoint(connection)).toBe(10_000);
      for (let i = 0; i < 50; i++) await dataSource.query('INSERT INTO probe (v) VALUES (?)', ['x'.repeat(2000)]);

      const result = await checkpointer.checkpointNow();
      expect(result.busy).toBe(0);
      expect(result.log).toBeGreaterThan(0);
      expect(result.checkpointed).toBe(result.log);

      await checkpointer.stop();
      expect(autocheckpoint(connection)).toBe(1000);
      await expect(checkpointer.checkpointNow()).rejects.toThrow(/stopped/);
      // The data is all there, through the server's connection.
      expect(await dataSource.query('SELECT COUNT(*) AS n FROM probe')).toEqual([{ n: 50 }]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('is not started for an in-memory database', async () => {
    const dataSource = createDataSource({ type: 'sqlite', path: ':memory:' });
    await dataSource.initialize();
    try {
      expect(startWalCheckpointer(dataSource, createLogger('silent'))).toBeNull();
    } finally {
      await dataSource.destroy();
    }
  });

  it('runs while the app serves and stops with it', async () => {
    const t = await startTestApp({ serve: true });
    const connection = (t.app.dataSource.driver as unknown as { databaseConnection?: { pragma(sql: string, options: { simple: true }): unknown } }).databaseConnection;
    try {
      if (t.app.dataSource.options.type === 'better-sqlite3') expect(autocheckpoint(connection!)).toBe(10_000);
    } finally {
      await t.stop();
    }
  });
});

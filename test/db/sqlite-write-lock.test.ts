import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDataSource, createTransact } from '../../src/db/data-source';

/*
 * Two processes on one SQLite file (two instances starting together, or the CLI beside a server):
 * a transaction that reads and then writes must wait for the other process's write rather than be
 * refused with "database is locked" (the two-instances test failed that way at start-up).
 */

/** Another process writes one row, waiting for the lock as long as the server would (5 s). */
function writeFromAnotherProcess(file: string): Promise<number | null> {
  const script = `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)});
    db.pragma('busy_timeout = 5000');
    db.prepare('INSERT INTO probe (who) VALUES (?)').run('other');
    db.close();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('SQLite transactions and another process', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a transaction that reads, then writes while another process wants to write, commits; so does the other', async () => {
    const file = path.join(dir, 'lock.db');
    const dataSource = createDataSource({ type: 'sqlite', path: file });
    await dataSource.initialize();
    try {
      await dataSource.query('CREATE TABLE probe (id INTEGER PRIMARY KEY, who TEXT NOT NULL)');
      const transact = createTransact(dataSource);
      let other: Promise<number | null> | undefined;
      await transact(async (em) => {
        await em.query('SELECT COUNT(*) AS n FROM probe');
        other = writeFromAnotherProcess(file);
        // Long enough for the other process to start and write, had this transaction not held the lock.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await em.query('INSERT INTO probe (who) VALUES (?)', ['this']);
      });
      expect(await other).toBe(0);
      const rows = (await dataSource.query('SELECT who FROM probe ORDER BY id')) as { who: string }[];
      expect(rows.map((r) => r.who)).toEqual(['this', 'other']);
    } finally {
      await dataSource.destroy();
    }
  });
});

import { Worker } from 'node:worker_threads';
import type { DataSource } from 'typeorm';
import type { Logger } from '../lib/logger';

/**
 * SQLite's WAL is copied back into the database file by a checkpoint, which SQLite runs by itself
 * in the connection whose commit took the WAL past `wal_autocheckpoint` pages (1,000, 4 MB): on the
 * thread that commits, so on the event loop, with every request in flight waiting. Storing a burst
 * of callbacks fills 4 MB every second or so; measured alone (16-row commits of 600-byte rows, one
 * every 2 ms, 48,000 rows), those checkpoints made 26–27 commits take over 2 ms (up to 12–21 ms),
 * 231–262 ms of the event loop in commits over 1 ms.
 *
 * While the server runs, a worker thread with a connection of its own checkpoints instead, every
 * CHECKPOINT_INTERVAL_MS, in PASSIVE mode: it copies (and syncs) what no reader still needs and
 * never waits for or blocks the writer. The WAL starts over at the next write after a checkpoint
 * that copied all of it; while writes go on without a pause it keeps growing, so the server's own
 * automatic checkpoint stays as a safety net at SAFETY_NET_PAGES, and finds most pages already
 * copied when it comes (back at SQLite's default when the worker stops or fails). The same
 * measurement with the worker: 3–4 commits over 2 ms (one of 28–37 ms, the safety net), 56–63 ms
 * in commits over 1 ms. Durability is unchanged: a commit is in the WAL either way
 * (synchronous=NORMAL as before).
 */
const CHECKPOINT_INTERVAL_MS = 250;
/** The server connection's own automatic checkpoint while the worker runs: 40 MB of WAL. */
const SAFETY_NET_PAGES = 10_000;
const SQLITE_DEFAULT_PAGES = 1000;

export interface CheckpointResult {
  /** 1 when another connection held the checkpoint lock (nothing copied this time). */
  busy: number;
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
}

export interface WalCheckpointer {
  /** Checkpoints now (PASSIVE, in the worker) and says what it did. */
  checkpointNow(): Promise<CheckpointResult>;
  stop(): Promise<void>;
}

// Plain JavaScript, run by the worker (eval): the driver's path comes in workerData.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const timer = setInterval(() => {
  try {
    checkpoint();
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.postMessage({ stopped: true });
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ result: checkpoint() });
  } catch (error) {
    parentPort.postMessage({ result: null, error: String(error && error.message) });
  }
});
`;

type WorkerMessage = { error?: string; result?: CheckpointResult | null; stopped?: boolean };

interface SqliteDriverConnection {
  pragma(sql: string): unknown;
}

/** Starts the worker for a SQLite database file; null for MySQL and in-memory databases (no WAL). */
export function startWalCheckpointer(dataSource: DataSource, log: Logger): WalCheckpointer | null {
  if (dataSource.options.type !== 'better-sqlite3') return null;
  const file = String(dataSource.options.database ?? '');
  if (file === '' || file === ':memory:') return null;
  const connection = (dataSource.driver as unknown as { databaseConnection: SqliteDriverConnection }).databaseConnection;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver: require.resolve('better-sqlite3'), file, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  // The worker's timer keeps nothing alive: a process that is otherwise done may exit.
  worker.unref();
  connection.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  let running = true;
  const fallBack = () => {
    if (!running) return;
    running = false;
    // Without the worker, the server checkpoints by itself again, as SQLite does by default.
    if (dataSource.isInitialized) connection.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  };
  const waiting: Array<(message: WorkerMessage) => void> = [];
  worker.on('message', (message: WorkerMessage) => {
    if (message.error && message.result === undefined) log.warn({ err: message.error }, 'WAL checkpoint failed');
    if (message.result !== undefined || message.stopped) waiting.shift()?.(message);
  });
  worker.on('error', (error) => {
    log.error({ err: error }, 'WAL checkpointer stopped; the server checkpoints by itself again');
    fallBack();
    for (const resolve of waiting.splice(0)) resolve({ error: error.message });
  });
  worker.on('exit', () => {
    fallBack();
    for (const resolve of waiting.splice(0)) resolve({ stopped: true });
  });
  const ask = (message: string) =>
    new Promise<WorkerMessage>((resolve) => {
      if (!running) return resolve({ stopped: true });
      waiting.push(resolve);
      worker.postMessage(message);
    });

  return {
    async checkpointNow() {
      worker.ref();
      const answer = await ask('checkpoint').finally(() => worker.unref());
      if (!answer.result) throw new Error(`WAL checkpoint failed: ${answer.error ?? 'the checkpointer has stopped'}`);
      return answer.result;
    },
    async stop() {
      if (!running) return;
      // Held until the worker has closed its connection, so the process does not end halfway.
      worker.ref();
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      await ask('stop');
      fallBack();
      await exited;
    },
  };
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppOptions, XinshengApp } from '../src/app';

/**
 * The real app as a benchmark's server runs it: production settings, SQLite in a fresh temporary
 * folder (DATA_DIR, so the database goes there too), a random data key, errors-only logging, and
 * the platform settings given (and app options, e.g. wrapped adapters). `remove()` deletes the folder once the app has stopped.
 */
export async function createBenchApp(platformEnv: Record<string, string>, options?: AppOptions): Promise<{ app: XinshengApp; remove(): void }> {
  const { loadConfig } = await import('../src/config/load-config');
  const { createApp } = await import('../src/app');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-bench-'));
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATA_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'error',
    ...platformEnv,
  });
  return { app: await createApp(config, options), remove: () => fs.rmSync(dataDir, { recursive: true, force: true }) };
}

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load-config';
import type { Logger } from './logger';

/**
 * Returns DATA_KEY, or outside production a key kept in `<DATA_DIR>/data.key`, generated once.
 * Losing that file makes stored free text unreadable, hence the warning.
 */
export function resolveDataKey(config: Config, log: Logger): Buffer {
  if (config.dataKey) return config.dataKey;
  if (config.production) throw new Error('DATA_KEY is required in production');
  const file = path.join(config.dataDir, 'data.key');
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  log.warn({ file }, 'DATA_KEY is not set: generated a development key. Set DATA_KEY (base64 of 32 bytes) before storing real data, and keep it safe.');
  return key;
}

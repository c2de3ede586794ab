import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load-config';
import type { Logger } from './logger';
import { deriveKeyId, isValidKeyId, type DataKey } from './data-cipher';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads DATA_KEY's (or DATA_KEY_FILE's) keys: separated by commas, spaces or new lines, each
 * `base64` (its id derived from it) or `id:base64` (an id the operator chose, e.g. `2027:…`).
 * Lines starting with # are comments (a key file may say what each key is). The first key encrypts.
 */
export function parseDataKeys(text: string): { keys: DataKey[] } | { problem: string } {
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (entries.length === 0) return { problem: '没有密钥（openssl rand -base64 32 生成一个）' };
  const keys: DataKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon >= 0 ? entry.slice(0, colon) : null;
    const encoded = colon >= 0 ? entry.slice(colon + 1) : entry;
    const which = `第 ${index + 1} 个密钥${id ? `（${id}）` : ''}`;
    if (id !== null && !isValidKeyId(id)) return { problem: `${which}的编号只能由 1 到 24 个字母、数字、_ . - 组成，且不能是 v1` };
    const key = Buffer.from(encoded, 'base64');
    if (!BASE64.test(encoded) || key.length !== 32) {
      return { problem: `${which}不是 32 字节的 base64（解码后 ${BASE64.test(encoded) ? key.length : 0} 字节）；用 openssl rand -base64 32 生成` };
    }
    keys.push({ id: id ?? deriveKeyId(key), key });
  }
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.id)) return { problem: `两个密钥的编号相同（${key.id}）：每个密钥只写一次，编号各不相同` };
    seen.add(key.id);
  }
  return { keys };
}

/**
 * Returns DATA_KEY's keys, or outside production a key kept in `<DATA_DIR>/data.key`, generated once.
 * Losing that file makes stored free text unreadable, hence the warning.
 */
export function resolveDataKeys(config: Config, log: Logger): DataKey[] {
  if (config.dataKeys) return config.dataKeys;
  if (config.production) throw new Error('DATA_KEY is required in production');
  const file = path.join(config.dataDir, 'data.key');
  if (fs.existsSync(file)) {
    const parsed = parseDataKeys(fs.readFileSync(file, 'utf8'));
    if ('problem' in parsed) throw new Error(`${file}：${parsed.problem}`);
    return parsed.keys;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  log.warn({ file }, 'DATA_KEY is not set: generated a development key. Set DATA_KEY (base64 of 32 bytes) before storing real data, and keep it safe.');
  return [{ id: deriveKeyId(key), key }];
}

/** The first key (tests and tools that want one key). */
export function resolveDataKey(config: Config, log: Logger): Buffer {
  return resolveDataKeys(config, log)[0].key;
}

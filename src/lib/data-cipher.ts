import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encrypts free text at rest with AES-256-GCM. Stored form: `v2:<key id>:` + base64(iv ‖ tag ‖
 * ciphertext), the `v2:<key id>` prefix bound in as associated data, so a value names the key that
 * made it and cannot be relabelled. Values written before key ids existed (`v1:` + base64) are
 * still read: with whichever configured key opens them (GCM's tag tells).
 */
export interface DataCipher {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
}

/** One data key: its id (named in every value it encrypts) and its 32 bytes. */
export interface DataKey {
  id: string;
  key: Buffer;
}

/** A cipher over several keys: the first encrypts, all decrypt (DATA_KEY="new,old" during a rotation). */
export interface KeyedCipher extends DataCipher {
  /** The id of the key new values are encrypted with. */
  readonly primaryKeyId: string;
  readonly keys: readonly DataKey[];
  /** The id a stored value names; LEGACY_KEY_ID for `v1:` values, null for something that is not a ciphertext. */
  keyIdOf(stored: string): string | null;
}

/** Thrown when a stored value names a key the cipher does not hold. */
export class MissingDataKeyError extends Error {
  constructor(public readonly keyId: string) {
    super(`DATA_KEY：缺少密钥 ${keyId}（数据库中有它加密的数据）`);
    this.name = 'MissingDataKeyError';
  }
}

/**
 * What retention leaves in an encrypted column whose text it erased (RETENTION_YEARS): not a
 * ciphertext, so rotation and key status pass it by; it reads as ERASED_TEXT wherever it is shown.
 */
export const ERASED_VALUE = 'erased:';
export const ERASED_TEXT = '〔已超过保存期限，内容已删除〕';

/** How `key status` names values from before key ids (`v1:`). */
export const LEGACY_KEY_ID = 'v1';
const LEGACY_PREFIX = 'v1:';
const PREFIX = 'v2:';
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,24}$/;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const IVS_PER_FILL = 256;

/** The id of a key given without one: a short fingerprint, the same wherever the key is configured. */
export function deriveKeyId(key: Buffer): string {
  return createHash('sha256').update('xinsheng data key id\0').update(key).digest('hex').slice(0, 8);
}

export function isValidKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id) && id !== LEGACY_KEY_ID;
}

/**
 * Fresh random IVs, drawn from the CSPRNG a few kilobytes at a time: one randomBytes call per
 * value cost more than the encryption of a short text. Every IV is still random and used once.
 */
function createIvSource(): () => Buffer {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset === pool.length) {
      pool = randomBytes(IV_BYTES * IVS_PER_FILL);
      offset = 0;
    }
    const iv = pool.subarray(offset, offset + IV_BYTES);
    offset += IV_BYTES;
    return iv;
  };
}

function open(key: Buffer, raw: Buffer, aad?: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}

/** A single Buffer is one key with its derived id (tests, tools); a list is DATA_KEY's keys, first encrypts. */
export function createDataCipher(keys: Buffer | readonly DataKey[]): KeyedCipher {
  const list: readonly DataKey[] = Buffer.isBuffer(keys) ? [{ id: deriveKeyId(keys), key: keys }] : keys;
  if (list.length === 0) throw new Error('DATA_KEY：至少需要一个密钥');
  for (const k of list) if (k.key.length !== 32) throw new Error(`DATA_KEY：密钥 ${k.id} 不是 32 字节`);
  const byId = new Map(list.map((k) => [k.id, k]));
  if (byId.size !== list.length) throw new Error('DATA_KEY：有两个密钥的编号相同');
  const primary = list[0];
  const primaryPrefix = `${PREFIX}${primary.id}:`;
  const primaryAad = Buffer.from(`${PREFIX}${primary.id}`);
  const nextIv = createIvSource();

  function keyIdOf(stored: string): string | null {
    if (stored.startsWith(LEGACY_PREFIX)) return LEGACY_KEY_ID;
    if (!stored.startsWith(PREFIX)) return null;
    const end = stored.indexOf(':', PREFIX.length);
    return end > PREFIX.length ? stored.slice(PREFIX.length, end) : null;
  }

  return {
    primaryKeyId: primary.id,
    keys: list,
    keyIdOf,
    encrypt(plain) {
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', primary.key, iv);
      cipher.setAAD(primaryAad);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return primaryPrefix + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(stored) {
      if (stored === ERASED_VALUE) return ERASED_TEXT;
      const id = keyIdOf(stored);
      if (id === null) throw new Error('not an encrypted value');
      if (id === LEGACY_KEY_ID) return openLegacy(stored);
      const found = byId.get(id);
      if (!found) throw new MissingDataKeyError(id);
      const raw = Buffer.from(stored.slice(PREFIX.length + id.length + 1), 'base64');
      return open(found.key, raw, Buffer.from(`${PREFIX}${id}`));
    },
  };

  function openLegacy(stored: string): string {
    const raw = Buffer.from(stored.slice(LEGACY_PREFIX.length), 'base64');
    let failure: unknown;
    for (const k of list) {
      try {
        return open(k.key, raw);
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  }
}

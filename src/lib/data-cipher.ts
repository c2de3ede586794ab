import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Encrypts free text at rest with AES-256-GCM. Stored form: `v1:` + base64(iv ‖ tag ‖ ciphertext). */
export interface DataCipher {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
}

const PREFIX = 'v1:';

const IV_BYTES = 12;
const IVS_PER_FILL = 256;

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

export function createDataCipher(key: Buffer): DataCipher {
  if (key.length !== 32) throw new Error('DATA_KEY must be 32 bytes');
  const nextIv = createIvSource();
  return {
    encrypt(plain) {
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(stored) {
      if (!stored.startsWith(PREFIX)) throw new Error('not an encrypted value');
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

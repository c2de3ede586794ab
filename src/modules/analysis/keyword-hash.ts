import { createHmac, hkdfSync } from 'node:crypto';

/**
 * The key of keyword hashes: derived from DATA_KEY with HKDF-SHA256 for this one purpose, so a
 * keyword hash reveals nothing about the encryption key and the two are never the same bytes.
 */
export function deriveKeywordKey(dataKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'xinsheng/analysis/keyword-hmac/v1', 32));
}

/** HMAC-SHA256 of a word (hex): equal words give equal hashes, so counts run in SQL on the hash. */
export function keywordHash(key: Buffer, word: string): string {
  return createHmac('sha256', key).update(word, 'utf8').digest('hex');
}

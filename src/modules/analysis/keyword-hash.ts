import { createHmac, hkdfSync } from 'node:crypto';
import type { DataKey } from '../../lib/data-cipher';

/**
 * The key of keyword hashes: derived from DATA_KEY with HKDF-SHA256 for this one purpose, so a
 * keyword hash reveals nothing about the encryption key and the two are never the same bytes.
 */
export function deriveKeywordKey(dataKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'xinsheng/analysis/keyword-hmac/v1', 32));
}

/** A keyword-hash key with the id of the data key it is derived from (stored beside each hash). */
export interface KeywordKey {
  id: string;
  key: Buffer;
}

/**
 * One keyword key per configured data key, in DATA_KEY's order: the first keys new hashes, every
 * one finds existing ones. So an instance started with DATA_KEY="new,old" finds a word hashed under
 * the old key before `xinsheng key rotate` re-keys its row, and under the new key after: the row
 * (and its id, which every count refers to) is the same, so no count splits during a rotation.
 */
export function deriveKeywordKeys(keys: readonly DataKey[]): KeywordKey[] {
  return keys.map((k) => ({ id: k.id, key: deriveKeywordKey(k.key) }));
}

/** HMAC-SHA256 of a word (hex): equal words give equal hashes, so counts run in SQL on the hash. */
export function keywordHash(key: Buffer, word: string): string {
  return createHmac('sha256', key).update(word, 'utf8').digest('hex');
}

/** The hash of an office dictionary term (apart from keywords: the same word is a different row). */
export const termHash = (key: Buffer, word: string): string => keywordHash(key, `term:${word}`);

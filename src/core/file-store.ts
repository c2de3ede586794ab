import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { StoredFileChunkEntity, StoredFileEntity } from '../db/entities/kernel.entity';
import type { DataCipher } from '../lib/data-cipher';

/*
 * Files at rest (a liaison's department report, the report of record, exports to send): encrypted
 * like every free text, in chunks so one row stays small on MySQL whatever the file's size. The
 * SHA-256 of the plain bytes is kept for the ledger (the report of record's fingerprint).
 */

/** Largest file the bot takes or sends (WeCom's file limit is 20 MB). */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
const CHUNK_BYTES = 768 * 1024;

export interface StoredFileInfo {
  id: string;
  purpose: string;
  name: string;
  mimeType: string;
  size: number;
  sha256: string;
  createdAt: number;
}

export interface FileToStore {
  purpose: string;
  name: string;
  mimeType: string;
  data: Buffer;
}

export async function storeFile(em: EntityManager, cipher: DataCipher, file: FileToStore, now: number, id: string = randomUUID()): Promise<StoredFileInfo> {
  const sha256 = createHash('sha256').update(file.data).digest('hex');
  const chunks = Math.max(1, Math.ceil(file.data.length / CHUNK_BYTES));
  await em.insert(StoredFileEntity, {
    id,
    purpose: file.purpose.slice(0, 32),
    nameEnc: cipher.encrypt(file.name),
    mimeType: file.mimeType.slice(0, 128),
    size: file.data.length,
    sha256,
    chunks,
    createdAt: now,
  });
  for (let seq = 0; seq < chunks; seq++) {
    const part = file.data.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES);
    await em.insert(StoredFileChunkEntity, { fileId: id, seq, dataEnc: cipher.encrypt(part.toString('base64')) });
  }
  return { id, purpose: file.purpose, name: file.name, mimeType: file.mimeType, size: file.data.length, sha256, createdAt: now };
}

export async function storedFileInfo(em: EntityManager, cipher: DataCipher, id: string): Promise<StoredFileInfo | null> {
  const row = await em.findOneBy(StoredFileEntity, { id });
  if (!row) return null;
  return { id: row.id, purpose: row.purpose, name: cipher.decrypt(row.nameEnc), mimeType: row.mimeType, size: row.size, sha256: row.sha256, createdAt: row.createdAt };
}

export async function readStoredFile(em: EntityManager, cipher: DataCipher, id: string): Promise<(StoredFileInfo & { data: Buffer }) | null> {
  const info = await storedFileInfo(em, cipher, id);
  if (!info) return null;
  const chunks = await em.find(StoredFileChunkEntity, { where: { fileId: id }, order: { seq: 'ASC' } });
  const data = Buffer.concat(chunks.map((c) => Buffer.from(cipher.decrypt(c.dataEnc), 'base64')));
  return { ...info, data };
}

export async function deleteStoredFile(em: EntityManager, id: string): Promise<void> {
  await em.delete(StoredFileChunkEntity, { fileId: id });
  await em.delete(StoredFileEntity, { id });
}

/** What the bot takes from people: Word, PDF and Excel files. */
export function isAcceptedFileName(name: string): boolean {
  return /\.(docx|pdf|xlsx)$/i.test(name);
}

export function mimeTypeFor(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  const types: Record<string, string> = {
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    pdf: 'application/pdf',
  };
  return (ext && types[ext]) || 'application/octet-stream';
}

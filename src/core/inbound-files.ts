import { createHash } from 'node:crypto';
import type { BotEvent, FileEvent } from './events';
import type { Transact } from '../db/data-source';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { PlatformAdapter } from './platform-adapter';
import { MAX_FILE_BYTES, isAcceptedFileName, mimeTypeFor, storeFile, storedFileInfo } from './file-store';

/*
 * A file a person sent is downloaded and stored (encrypted) before the turn that handles it, in a
 * transaction of its own: the platform call is slow and must not hold the turn's transaction (on
 * SQLite, every other writer) open. The stored file's id follows from the event's id, so a turn
 * retried after a crash or a failure finds the file already stored instead of fetching it again; a
 * download that fails makes the turn fail and be retried on the inbound store's backoff, and the
 * sender is told if it never succeeds. What the kernel refuses without fetching (too large, a type
 * no feature takes) reaches the turn marked `refused`, so a module can say why.
 */

export type EventPreparer = (event: BotEvent) => Promise<BotEvent>;

export function storedFileIdFor(eventId: string): string {
  const hex = createHash('sha256').update(`inbound-file:${eventId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function createInboundFilePreparer(deps: { adapters: PlatformAdapter[]; transact: Transact; cipher: DataCipher; log: Logger; now: () => number }): EventPreparer {
  const byName = new Map(deps.adapters.map((a) => [a.name, a]));

  async function fetchAndStore(event: FileEvent): Promise<FileEvent> {
    const file = event.file;
    if (file.storedFileId || file.refused) return event;
    if (!isAcceptedFileName(file.name)) return { ...event, file: { ...file, refused: 'type' } };
    if (file.size !== undefined && file.size > MAX_FILE_BYTES) return { ...event, file: { ...file, refused: 'too_large' } };
    const id = storedFileIdFor(event.id);
    if (await deps.transact((em) => storedFileInfo(em, deps.cipher, id))) return { ...event, file: { ...file, storedFileId: id } };
    const adapter = byName.get(event.platform);
    if (!adapter?.downloadFile) return { ...event, file: { ...file, refused: 'download_failed' } };
    const downloaded = await adapter.downloadFile({ ref: file.ref, name: file.name });
    if (downloaded.data.length > MAX_FILE_BYTES) return { ...event, file: { ...file, refused: 'too_large' } };
    const mimeType = downloaded.mimeType ?? file.mimeType ?? mimeTypeFor(file.name);
    await deps.transact((em) => storeFile(em, deps.cipher, { purpose: 'upload', name: file.name, mimeType, data: downloaded.data }, deps.now(), id));
    deps.log.info({ eventId: event.id, bytes: downloaded.data.length }, 'inbound file stored');
    return { ...event, file: { ...file, storedFileId: id, size: downloaded.data.length, mimeType } };
  }

  return async (event) => (event.type === 'file' ? fetchAndStore(event) : event);
}

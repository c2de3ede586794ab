import { randomBytes } from 'node:crypto';

/**
 * WeCom task ids are unique per app, at most 128 bytes of `[0-9A-Za-z_\-@]` (spec §5.1; a repeat
 * gives errcode 42014). Each copy of a card is sent in its own call, so each gets its own task id:
 * `<card id>@<copy suffix>`. The card id part is reversible, so a callback's TaskId leads back to
 * the card.
 */
const PLAIN_CARD_ID = /^[A-Za-z0-9-][A-Za-z0-9_-]*$/;
const BASE64URL_MARK = '_';
const MAX_TASK_ID_BYTES = 128;

function encodeCardId(cardId: string): string {
  if (PLAIN_CARD_ID.test(cardId)) return cardId;
  // Anything else (or an id starting with '_') is carried as base64url, marked by a leading '_'.
  return BASE64URL_MARK + Buffer.from(cardId, 'utf8').toString('base64url');
}

function decodeCardId(encoded: string): string | null {
  if (!encoded.startsWith(BASE64URL_MARK)) return PLAIN_CARD_ID.test(encoded) ? encoded : null;
  const body = encoded.slice(1);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return null;
  return Buffer.from(body, 'base64url').toString('utf8');
}

/** A fresh task id for one copy of a card. */
export function taskIdForCard(cardId: string, copySuffix = randomBytes(6).toString('hex')): string {
  const taskId = `${encodeCardId(cardId)}@${copySuffix}`;
  if (Buffer.byteLength(taskId) > MAX_TASK_ID_BYTES) throw new Error('card id too long for a WeCom task_id');
  return taskId;
}

/** The card id inside a task id this bot made, or null for one it did not make. */
export function cardIdFromTaskId(taskId: string): string | null {
  const at = taskId.lastIndexOf('@');
  if (at <= 0) return null;
  return decodeCardId(taskId.slice(0, at));
}

/** A card ref is `<task id>|<response code>`: an update needs both, and '|' is not in task ids. */
export function encodeCardRef(taskId: string, responseCode: string): string {
  return `${taskId}|${responseCode}`;
}

export function decodeCardRef(ref: string): { taskId: string; responseCode: string } | null {
  const bar = ref.indexOf('|');
  if (bar <= 0 || bar === ref.length - 1) return null;
  return { taskId: ref.slice(0, bar), responseCode: ref.slice(bar + 1) };
}

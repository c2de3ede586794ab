import { createHash } from 'node:crypto';
import type { BotEvent } from '../../core/events';
import { cardIdFromTaskId, encodeCardRef } from './task-id';
import type { WecomMessage } from './wecom-xml';

/** The button key a card carries when it only shows its state; a click on it means nothing. */
export const STATE_ONLY_KEY = '__state';

/** The inbound_events id column holds 191 characters; longer keys are hashed, keeping them unique. */
const MAX_EVENT_ID = 191;

function boundedId(id: string): string {
  if (id.length <= MAX_EVENT_ID) return id;
  return `wecom:h:${createHash('sha256').update(id).digest('hex')}`;
}

const NON_TEXT_MESSAGES = new Set(['image', 'voice', 'video', 'file', 'location', 'link']);

/**
 * Converts a decrypted WeCom message into the core event, or null for what the bot ignores
 * (other events, cards it did not send). Pure: the caller supplies the receive time.
 */
export function toBotEvent(message: WecomMessage, receivedAt: number): BotEvent | null {
  if (message.MsgType === 'text') return toMessageEvent(message, message.Content ?? '', receivedAt);
  if (message.MsgType === 'file' && message.MediaId) return toFileEvent(message, message.MediaId, receivedAt);
  // A picture or a voice note is not a command; as an empty message it gets the short help reply
  // instead of silence.
  if (NON_TEXT_MESSAGES.has(message.MsgType)) return toMessageEvent(message, '', receivedAt);
  if (message.MsgType !== 'event') return null;
  if (message.Event === 'template_card_event') return toCardActionEvent(message, receivedAt);
  if (message.Event === 'enter_agent') return toEnterEvent(message, receivedAt);
  return null;
}

function base(message: WecomMessage, id: string, receivedAt: number) {
  return {
    id: boundedId(id),
    platform: 'wecom' as const,
    senderId: message.FromUserName,
    // A self-built app only receives direct messages; its replies go back to the sender.
    conversation: { kind: 'direct' as const, id: message.FromUserName },
    receivedAt,
  };
}

function toMessageEvent(message: WecomMessage, text: string, receivedAt: number): BotEvent {
  // WeCom recommends de-duplicating messages by MsgId (D90238).
  const id = message.MsgId
    ? `wecom:msg:${message.MsgId}`
    : `wecom:msg:${message.FromUserName}:${message.CreateTime}:${message.MsgType}`;
  // Written out rather than spread from base(): this runs for every message callback.
  const senderId = message.FromUserName;
  return { id: boundedId(id), platform: 'wecom', senderId, conversation: { kind: 'direct', id: senderId }, receivedAt, type: 'message', text };
}

/** A file (a department report as .docx): the kernel downloads it with media/get before the turn. */
function toFileEvent(message: WecomMessage, mediaId: string, receivedAt: number): BotEvent {
  const { id } = toMessageEvent(message, '', receivedAt);
  const size = message.FileSize && /^\d{1,12}$/.test(message.FileSize) ? Number(message.FileSize) : undefined;
  return { ...base(message, id, receivedAt), type: 'file', file: { name: message.FileName || 'file', ref: mediaId, size } };
}

function eventId(message: WecomMessage, ...parts: string[]): string {
  return ['wecom:evt', message.FromUserName, message.CreateTime, ...parts].join(':');
}

function toEnterEvent(message: WecomMessage, receivedAt: number): BotEvent {
  return { ...base(message, eventId(message, 'enter_agent'), receivedAt), type: 'enter' };
}

function toCardActionEvent(message: WecomMessage, receivedAt: number): BotEvent | null {
  const taskId = message.TaskId ?? '';
  const action = message.EventKey ?? '';
  const cardId = cardIdFromTaskId(taskId);
  if (!cardId || !action || action === STATE_ONLY_KEY) return null;
  // One person can click two buttons within a second: TaskId and EventKey keep those apart.
  const id = eventId(message, taskId, action);
  return {
    ...base(message, id, receivedAt),
    type: 'card_action',
    cardId,
    action,
    values: selectedValues(message),
    cardRef: message.ResponseCode ? encodeCardRef(taskId, message.ResponseCode) : undefined,
  };
}

/** QuestionKey → chosen option id(s); only the vote card (the multi-select input) gives arrays. */
function selectedValues(message: WecomMessage): Record<string, string | string[]> {
  const items = typeof message.SelectedItems === 'object' ? (message.SelectedItems.SelectedItem ?? []) : [];
  const multi = message.CardType === 'vote_interaction';
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  const entries: [string, string | string[]][] = [];
  for (const item of items) {
    const ids = typeof item.OptionIds === 'object' ? (item.OptionIds.OptionId ?? []) : [];
    if (multi) entries.push([item.QuestionKey, ids]);
    else if (ids.length > 0) entries.push([item.QuestionKey, ids[0]]);
  }
  return Object.fromEntries(entries);
}

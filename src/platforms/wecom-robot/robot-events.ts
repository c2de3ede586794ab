import { createHash } from 'node:crypto';
import type { BotEvent, Conversation } from '../../core/events';
import { cardIdFromTaskId } from '../wecom/task-id';
import { STATE_ONLY_KEY } from '../wecom/to-bot-event';
import type { RobotFrame } from './robot-connection';

/*
 * Robot frames → the core event (pure). Ids are `wecom:robot:msg:<msgid>` for messages and
 * `wecom:robot:evt:<msgid>` for events: WeCom documents msgid as "本次回调的唯一性标志，用于事件排重",
 * so a frame pushed twice (after a reconnect or a takeover) carries the same msgid and is stored once.
 */

/** The inbound_events id column holds 191 characters; longer keys are hashed, keeping them unique. */
const MAX_EVENT_ID = 191;

function boundedId(id: string): string {
  if (id.length <= MAX_EVENT_ID) return id;
  return `wecom:robot:h:${createHash('sha256').update(id).digest('hex')}`;
}

/** A click's card ref: the task id and the frame to answer, with its time (updates only within 5 s). */
export interface RobotClickRef {
  taskId: string;
  reqId: string;
  at: number;
}

const CLICK_REF_PREFIX = 'robot-click';

export function encodeClickRef(ref: RobotClickRef): string {
  return [CLICK_REF_PREFIX, ref.at, ref.taskId, ref.reqId].join('|');
}

/** A sent copy's ref is its task id alone; a click's ref also names the frame to answer. */
export function decodeCardRef(ref: string): { taskId: string; click?: { reqId: string; at: number } } | null {
  if (!ref.startsWith(`${CLICK_REF_PREFIX}|`)) return ref ? { taskId: ref } : null;
  const [, at, taskId, ...reqId] = ref.split('|');
  if (!taskId || reqId.length === 0 || !Number.isFinite(Number(at))) return null;
  return { taskId, click: { reqId: reqId.join('|'), at: Number(at) } };
}

/** What a file message's ref carries: where to download it and the key to decrypt it. */
export interface RobotFileRef {
  url: string;
  aeskey?: string;
}

type Body = Record<string, unknown>;

function record(value: unknown): Body {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Body) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Lists WeCom sends either as an array or wrapped (`{selected_item: [...]}`, `{option_id: [...]}`). */
function list(value: unknown, wrapper: string): unknown[] {
  if (Array.isArray(value)) return value;
  const inner = record(value)[wrapper];
  if (Array.isArray(inner)) return inner;
  return inner === undefined ? [] : [inner];
}

/** In a group the text starts with the @-mention of the robot (`@心声 帮助`); the command follows it. */
export function stripMentions(content: string): string {
  return content.replace(/^(?:\s*@\S+)+\s*/u, '').trim();
}

export function frameToEvent(frame: RobotFrame, receivedAt: number): BotEvent | null {
  const body = frame.body;
  const msgid = text(body.msgid);
  const senderId = text(record(body.from).userid);
  if (!msgid || !senderId) return null;
  const group = body.chattype === 'group' && text(body.chatid) !== '';
  const conversation: Conversation = group ? { kind: 'group', id: text(body.chatid) } : { kind: 'direct', id: senderId };
  if (frame.cmd === 'aibot_event_callback') return eventFrameToEvent(frame, { senderId, conversation, receivedAt });
  const base = { id: boundedId(`wecom:robot:msg:${msgid}`), platform: 'wecom' as const, senderId, conversation, receivedAt };
  switch (body.msgtype) {
    case 'text':
      return { ...base, type: 'message', text: stripMentions(text(record(body.text).content)) };
    case 'voice':
      // WeCom hands the voice note already transcribed.
      return { ...base, type: 'message', text: stripMentions(text(record(body.voice).content)) };
    case 'mixed': {
      const parts = list(record(body.mixed).msg_item, 'item').map((item) => text(record(record(item).text).content));
      return { ...base, type: 'message', text: stripMentions(parts.filter(Boolean).join('\n')) };
    }
    case 'file': {
      const file = record(body.file);
      const url = text(file.url);
      if (!url) return { ...base, type: 'message', text: '' };
      const ref: RobotFileRef = { url, ...(text(file.aeskey) ? { aeskey: text(file.aeskey) } : {}) };
      // The frame names no file; the download's Content-Disposition does (downloadFile returns it).
      const name = text(file.filename) || text(file.name) || '文件';
      return { ...base, type: 'file', file: { name, ref: JSON.stringify(ref) } };
    }
    default:
      // Pictures and videos are not commands: as an empty message they get the short help reply.
      return { ...base, type: 'message', text: '' };
  }
}

function eventFrameToEvent(frame: RobotFrame, base: { senderId: string; conversation: Conversation; receivedAt: number }): BotEvent | null {
  const event = record(frame.body.event);
  const id = boundedId(`wecom:robot:evt:${text(frame.body.msgid)}`);
  const common = { ...base, id, platform: 'wecom' as const };
  if (event.eventtype === 'enter_chat') return { ...common, type: 'enter' };
  if (event.eventtype !== 'template_card_event') return null;
  // The SDK's type puts event_key / task_id on the event; the robot documentation nests them in
  // `template_card_event`. Both shapes are read, and the selections come from the raw frame.
  const click = { ...event, ...record(event.template_card_event) };
  const taskId = text(click.task_id);
  const action = text(click.event_key);
  const cardId = cardIdFromTaskId(taskId);
  if (!cardId || !action || action === STATE_ONLY_KEY) return null;
  return {
    ...common,
    type: 'card_action',
    cardId,
    action,
    values: selectedValues(click),
    cardRef: frame.reqId ? encodeClickRef({ taskId, reqId: frame.reqId, at: base.receivedAt }) : undefined,
  };
}

/** question_key → chosen option id(s); only the vote card (the multi-select input) gives arrays. */
function selectedValues(click: Body): Record<string, string | string[]> {
  const multi = click.card_type === 'vote_interaction';
  const entries: [string, string | string[]][] = [];
  for (const item of list(click.selected_items, 'selected_item')) {
    const key = text(record(item).question_key);
    const ids = list(record(item).option_ids, 'option_id').map(text).filter(Boolean);
    if (!key) continue;
    if (multi) entries.push([key, ids]);
    else if (ids.length > 0) entries.push([key, ids[0]]);
  }
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.fromEntries(entries);
}

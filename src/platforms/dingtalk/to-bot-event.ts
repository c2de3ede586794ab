import { PayloadError } from '../../core/errors';
import type { BotEvent, CardActionEvent } from '../../core/events';
import { cardIdFromOutTrackId, parseCardActionText, type CardValues } from './dingtalk-cards';
import { CardCallbackSchema, CardPrivateDataSchema, RobotMessageSchema, type RobotMessage } from './dingtalk-payload';

/*
 * Pure conversions from DingTalk payloads to the neutral BotEvent. Ids are prefixed so they never
 * collide with another platform's in inbound_events: `dingtalk:msg:<msgId>` for robot messages
 * (redeliveries carry the same msgId), `dingtalk:card:<frame messageId>` for card callbacks.
 */

export function parseRobotMessage(data: unknown): RobotMessage {
  const result = RobotMessageSchema.safeParse(data);
  if (!result.success) throw new PayloadError('dingtalk robot message: unexpected shape');
  return result.data;
}

/** A robot message; the text a fallback card button sends becomes a card action. */
export function robotMessageToEvent(message: RobotMessage, receivedAt: number): BotEvent {
  const group = message.conversationType === '2';
  const senderId = message.senderStaffId || message.senderId || '';
  if (!senderId) throw new PayloadError('dingtalk robot message: no sender');
  const base = {
    id: `dingtalk:msg:${message.msgId}`,
    platform: 'dingtalk' as const,
    senderId,
    senderName: message.senderNick,
    conversation: group ? { kind: 'group' as const, id: message.conversationId } : { kind: 'direct' as const, id: senderId },
    receivedAt,
  };
  if (message.msgtype === 'file' && message.content?.downloadCode) {
    return { ...base, type: 'file', file: { name: message.content.fileName || 'file', ref: message.content.downloadCode } };
  }
  const text = messageText(message);
  const action = parseCardActionText(text);
  if (action) return { ...base, type: 'card_action', cardId: action.cardId, action: action.action, values: action.values };
  return { ...base, type: 'message', text };
}

/** Text of any message kind; kinds without text (pictures, files) give '' and get the help reply. */
function messageText(message: RobotMessage): string {
  if (message.text) return message.text.content.trim();
  if (message.content?.recognition) return message.content.recognition.trim();
  if (message.content?.richText) return message.content.richText.map((part) => part.text ?? '').join('').trim();
  return '';
}

/**
 * A click on an interactive card. The template sends `cardId` and `action` as callback
 * parameters, and one parameter per input; anything else in params becomes a value too.
 */
export function cardCallbackToEvent(frameMessageId: string, data: unknown, receivedAt: number): CardActionEvent {
  const callback = CardCallbackSchema.safeParse(data);
  if (!callback.success) throw new PayloadError('dingtalk card callback: unexpected shape');
  const { outTrackId, userId, spaceType, spaceId } = callback.data;
  const privateData = parsePrivateData(callback.data.content ?? callback.data.value);
  const params = privateData.params;
  const cardId = stringParam(params.cardId) ?? cardIdFromOutTrackId(outTrackId);
  const action = stringParam(params.action) ?? privateData.actionIds[0];
  if (!cardId || !action) throw new PayloadError('dingtalk card callback: no cardId or action');
  const group = spaceType?.toLowerCase().includes('group') ?? false;
  return {
    id: `dingtalk:card:${frameMessageId}`,
    platform: 'dingtalk',
    type: 'card_action',
    senderId: userId,
    conversation: group && spaceId ? { kind: 'group', id: spaceId } : { kind: 'direct', id: userId },
    receivedAt,
    cardId,
    action,
    values: valuesFromParams(params),
    cardRef: `card:${outTrackId}`,
  };
}

function parsePrivateData(text: string | undefined): { actionIds: string[]; params: Record<string, unknown> } {
  if (!text) return { actionIds: [], params: {} };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PayloadError('dingtalk card callback: content is not JSON');
  }
  const parsed = CardPrivateDataSchema.safeParse(json);
  if (!parsed.success) throw new PayloadError('dingtalk card callback: unexpected content');
  return parsed.data.cardPrivateData;
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function valuesFromParams(params: Record<string, unknown>): CardValues {
  const values: CardValues = {};
  for (const [key, value] of Object.entries(params)) {
    if (key === 'cardId' || key === 'action' || value === undefined || value === null) continue;
    values[key] = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value : JSON.stringify(value);
  }
  return values;
}

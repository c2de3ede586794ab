import type { PlatformName } from './messages';

/**
 * The one inbound event type the domain sees. Platforms convert their payloads into it;
 * `id` is the platform's message/callback id and the idempotency key.
 */
export interface Conversation {
  kind: 'direct' | 'group';
  /** Group chat id for groups; for direct chats the sender's id. */
  id: string;
}

interface EventBase {
  /** Unique per platform; redeliveries carry the same id. */
  id: string;
  platform: PlatformName;
  senderId: string;
  senderName?: string;
  conversation: Conversation;
  /** Epoch milliseconds. */
  receivedAt: number;
}

export type MessageEvent = EventBase & { type: 'message'; text: string };
export type CardActionEvent = EventBase & {
  type: 'card_action';
  cardId: string;
  action: string;
  values: Record<string, string | string[]>;
  /**
   * A fresh platform reference for the acted-on copy of the card (WeCom hands a new single-use
   * response_code with each card event); stored so the copy can be updated afterwards.
   */
  cardRef?: string;
};
/** The person opened the bot (WeCom enter_agent); answered with a welcome once per person. */
export type EnterEvent = EventBase & { type: 'enter' };

/**
 * A file the person sent (a liaison's department report as .docx, the office's report of record).
 * `ref` is the platform's handle for downloading it (WeCom media_id, DingTalk downloadCode, a console
 * upload id); the kernel downloads and stores the file (encrypted, `src/core/file-store.ts`) before the
 * turn runs and sets `storedFileId`, or sets `refused` when it is too large or of a type nobody takes.
 */
export interface InboundFile {
  name: string;
  ref: string;
  size?: number;
  mimeType?: string;
  storedFileId?: string;
  refused?: 'too_large' | 'type' | 'download_failed';
}
export type FileEvent = EventBase & { type: 'file'; file: InboundFile; caption?: string };

export type BotEvent = MessageEvent | CardActionEvent | EnterEvent | FileEvent;

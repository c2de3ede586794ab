/**
 * The one outbound message type the domain produces, and the neutral card form that every
 * platform renders (PRODUCT.md §7). Only src/platforms/* turn these into wire formats.
 */
export type PlatformName = 'console' | 'wecom' | 'dingtalk';

export interface CardField {
  label: string;
  value: string;
}

export interface CardOption {
  id: string;
  label: string;
}

export interface CardInput {
  key: string;
  label: string;
  multi: boolean;
  options: CardOption[];
  /** Option id(s) shown as chosen when the card is rendered. */
  selected?: string | string[];
}

export interface CardAction {
  action: string;
  label: string;
}

/** A rendered card instance. `cardId` identifies this instance; `template` the bot-cards/ definition. */
export interface Card {
  cardId: string;
  template: string;
  title: string;
  body: string;
  fields: CardField[];
  inputs: CardInput[];
  actions: CardAction[];
  /** Set once the card has been acted on (e.g. "已确认", "张三 已阅 11-25 10:02"); every copy shows it. */
  state: string | null;
  /**
   * One instance sent to many people (a questionnaire page): platforms may send it to many in one
   * call (WeCom: one task id per call of up to 1,000 people), and each person's copy changes on its
   * own (updateCopy), with the reference of that person's own click.
   */
  shared?: boolean;
}

export type OutboundContent =
  | { kind: 'text'; text: string }
  | { kind: 'markdown'; title: string; markdown: string }
  | { kind: 'card'; card: Card }
  | { kind: 'file'; fileName: string; mimeType: string; dataBase64: string };

/**
 * Which outbound messages go first when many wait: alerts (immediate reports, escalation steps), then
 * replies to a person's own message and one-to-one notices, then bulk fan-outs (questionnaires, cycle
 * tasks, reminders). The platform's rate limits hold for all of them together.
 */
export type OutboundPriority = 'alert' | 'reply' | 'bulk';

/** Where an outbound message goes: one person, or one group chat. */
export type Recipient = { kind: 'user'; userId: string } | { kind: 'group'; groupId: string };

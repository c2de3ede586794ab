import type { EntityManager } from 'typeorm';
import type { CardStore } from '../core/card-store';
import type { BotEvent } from '../core/events';
import type { OutboundContent, OutboundPriority, PlatformName } from '../core/messages';
import type { Role } from '../db/entities/org.entity';
import type { Person } from '../db/entities/org.entity';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { LedgerRecord } from '../core/ledger';
import type { Actor } from '../core/actor';
import type { DirectorySnapshot } from '../core/platform-adapter';
import type { Insight } from '../db/entities/insight.entity';

/** What handlers need beyond the turn itself; built once by the composition root. */
export interface BotServices {
  cipher: DataCipher;
  cards: CardStore;
  log: Logger;
  timeZone: string;
  minGroupSize: number;
  /** The platform a person is reached on when the bot writes first (alerts, notices). */
  platformFor(person: Person): PlatformName;
  /** Platforms that can read their directory, for 同步通讯录. */
  directories(): { platform: PlatformName; fetch(): Promise<DirectorySnapshot> }[];
  /** Reads every directory into the database in its own transactions; one summary line per platform. */
  syncDirectories(): Promise<string[]>;
  /** The clock (injected in tests). */
  now(): number;
  /** Has the escalation worker run due steps now (a turn opened one due at once) rather than at its next poll. */
  wakeEscalations(): void;
  /** Writes a message to people outside any turn (after a deferred task), and has it delivered. */
  notifyLater(personIds: string[], content: OutboundContent): Promise<void>;
  /**
   * Runs in the transaction that records an insight (研判: keywords, early warnings); returns
   * variables for the reporter's confirmation card.
   */
  onInsightRecorded?(ctx: TurnContext, insight: Insight, text: string): Promise<Record<string, string>>;
  /** Runs in the transaction that corrects an insight's category (研判 counts categories of themes). */
  onInsightCorrected?(ctx: TurnContext, insight: Insight): Promise<void>;
}

/** One handled event: everything written through it commits in one transaction with the event. */
export interface TurnContext {
  em: EntityManager;
  event: BotEvent;
  actor: Actor;
  now: number;
  services: BotServices;
  /** Answers the sender where they wrote (a direct chat or the group). */
  reply(content: OutboundContent): Promise<void>;
  replyText(text: string): Promise<void>;
  /** Writes to people directly, each on their own platform (priority: see OutboundPriority; default 'reply'). */
  notify(personIds: string[], content: OutboundContent, options?: { priority?: OutboundPriority }): Promise<void>;
  ledger(record: LedgerRecord): Promise<void>;
  /** Runs `task` after this turn's transaction commits, for slow calls (a directory read). */
  defer(task: () => Promise<void>): void;
}

/** Thrown by a handler, before it writes anything, to answer the sender with `message`. */
export class UserFacingError extends Error {}

export interface Command {
  /** The Chinese command word, e.g. 上报. */
  name: string;
  /** English aliases such as /report (and other accepted words). */
  aliases: string[];
  /** Roles allowed to run it; 'staff' means everyone. */
  roles: Role[];
  summary: string;
  example: string;
  /** The refusal for someone without the role; defaults to naming the roles that may. */
  refusal?(ctx: TurnContext): Promise<string>;
  /**
   * Called when the bot answers this command's message without running it (too long, in a group,
   * not allowed), for commands whose sender must not be kept (匿名意见) to forget them anyway.
   */
  forgetSender?(ctx: TurnContext): Promise<void>;
  run(ctx: TurnContext, args: string): Promise<void>;
}

export interface CardActionHandler {
  template: string;
  action: string;
  run(ctx: TurnContext, cardId: string, values: Record<string, string | string[]>): Promise<void>;
}

/** A section of `我的` (one's own submissions, open tasks …), contributed by a module. */
export type MineSection = (ctx: TurnContext) => Promise<string | null>;

export interface BotModule {
  /** Runs at the start of every turn, in its transaction (housekeeping such as purging sealed replies). */
  beforeEachTurn?: (em: EntityManager) => Promise<unknown>;
  commands?: Command[];
  cardActions?: CardActionHandler[];
  mine?: MineSection[];
}

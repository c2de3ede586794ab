import type { EntityManager } from 'typeorm';
import type { CardStore } from '../core/card-store';
import type { BotEvent, FileEvent } from '../core/events';
import type { ReminderPolicy } from '../core/reminder-policy';
import type { TimerJob } from '../core/timers';
import type { KeyRotationStep } from '../core/key-rotation';
import type { FactSources } from '../domain/facts';
import type { OutboundContent, OutboundPriority, PlatformName } from '../core/messages';
import type { Role } from '../db/entities/org.entity';
import type { Person } from '../db/entities/org.entity';
import type { DataCipher } from '../lib/data-cipher';
import type { Logger } from '../lib/logger';
import type { LedgerRecord } from '../core/ledger';
import type { Actor } from '../core/actor';
import type { DirectorySnapshot } from '../core/platform-adapter';
import type { Insight } from '../db/entities/insight.entity';
import type { QuarterlyCycleSchedule } from '../domain/quarterly-schedule';

/** What handlers need beyond the turn itself; built once by the composition root. */
export interface BotServices {
  cipher: DataCipher;
  cards: CardStore;
  log: Logger;
  timeZone: string;
  /** Aggregates over fewer people are not shown (MIN_GROUP_SIZE). */
  minGroupSize: number;
  /** Free-text answers are shown only for groups of at least this many (MIN_COMMENT_GROUP_SIZE). */
  minCommentGroupSize: number;
  /** Quiet hours, rest days and once-a-day: every reminder goes through it. */
  reminders: ReminderPolicy;
  /** When quarterly reporting cycles open and are due (QUARTERLY_CYCLE_OPENS / _DUE). */
  quarterlyCycle: QuarterlyCycleSchedule;
  /** SURVEY_REMINDERS: questionnaire reminders, in ms before the deadline. */
  surveyReminders: number[];
  /** What other modules expose (questionnaire results, department reports, themes, supervision). */
  facts: FactSources;
  /** The platform a person is reached on when the bot writes first (alerts, notices). */
  platformFor(person: Person): PlatformName;
  /** Platforms that can read their directory, for 同步通讯录. */
  directories(): { platform: PlatformName; fetch(): Promise<DirectorySnapshot> }[];
  /** Reads every directory into the database in its own transactions; one summary line per platform. */
  syncDirectories(): Promise<string[]>;
  /** The clock (injected in tests). */
  now(): number;
  /** Has the timer worker run due jobs now (a turn scheduled one due at once) rather than at its next poll. */
  wakeTimers(): void;
  /** Writes a message to people outside any turn (after a deferred task), and has it delivered. */
  notifyLater(personIds: string[], content: OutboundContent): Promise<void>;
  /**
   * Runs in the transaction that records an insight (研判: keywords, early warnings); returns
   * variables for the reporter's confirmation card.
   */
  onInsightRecorded?(ctx: TurnContext, insight: Insight, text: string): Promise<Record<string, string>>;
  /** Runs in the transaction that corrects an insight's category (研判 counts categories of themes). */
  onInsightCorrected?(ctx: TurnContext, insight: Insight): Promise<void>;
  /**
   * Runs in the transaction that records a department report's version (报告 提交; 研判 counts its
   * keywords). Every version of the same task replaces the previous one.
   */
  onDepartmentReportSubmitted?(ctx: TurnContext, report: DepartmentReportSubmission): Promise<void>;
}

/** A submitted department report (定期报告 / 专题报告), as the reporting-cycle module hands it on. */
export interface DepartmentReportSubmission {
  /** The cycle task: one per department and cycle, so a later version replaces an earlier one. */
  taskId: number;
  departmentId: string;
  /** When it counts: its submission, but never after its cycle's data period (a late report speaks of that period). */
  countedAt: number;
  /** The texts the liaison wrote (sections left to an attachment are not included). */
  texts: string[];
}

/** One handled event: everything written through it commits in one transaction with the event. */
/** How TurnContext.notify / JobContext.notify write (see notifyPeople). */
export interface NotifyOptions {
  priority?: OutboundPriority;
  batch?: boolean;
  /** The people's platform column, when the caller has read it already. */
  platformOf?: ReadonlyMap<string, string | null>;
}

export interface TurnContext {
  em: EntityManager;
  event: BotEvent;
  actor: Actor;
  now: number;
  services: BotServices;
  /** Answers the sender where they wrote (a direct chat or the group). */
  reply(content: OutboundContent): Promise<void>;
  replyText(text: string): Promise<void>;
  /**
   * Writes to people directly, each on their own platform (priority: see OutboundPriority; default
   * 'reply'; `batch` for a fan-out to many, see notifyPeople).
   */
  notify(personIds: string[], content: OutboundContent, options?: NotifyOptions): Promise<void>;
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
  /**
   * The first words of the arguments this command answers to, when another module's command shares
   * its word (报告 提交 / 报告 生成). A shared word goes to the command naming the subcommand.
   */
  subcommands?: string[];
  summary: string;
  example: string;
  /** Takes nothing after its word (帮助, 我的): without a space, `我的问题是…` is then not read as this command. */
  noArguments?: boolean;
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

/**
 * Work outside a chat turn (a due timer, start-up), in one transaction: what it writes commits
 * together, and its messages go out through the outbox after the commit.
 */
export interface JobContext {
  em: EntityManager;
  now: number;
  services: BotServices;
  /** Writes to people, each on their own platform (as TurnContext.notify). */
  notify(personIds: string[], content: OutboundContent, options?: NotifyOptions): Promise<void>;
  /** Appends a ledger entry with no actor (the system acted). */
  ledger(record: LedgerRecord): Promise<void>;
}

/** Runs a due durable timer of the module's kind (see src/core/timers.ts), inside its transaction. */
export type TimerJobHandler = (ctx: JobContext, job: TimerJob) => Promise<void>;

/**
 * Takes a file a person sent. The kernel has stored it (event.file.storedFileId, encrypted) or set
 * event.file.refused before the turn; the first handler whose `wants` is true runs. A file nobody
 * wants is deleted and the sender told.
 */
export interface FileHandler {
  wants(ctx: TurnContext, event: FileEvent): Promise<boolean>;
  run(ctx: TurnContext, event: FileEvent): Promise<void>;
}

export interface BotModule {
  /** Values this module derives from the data key (keyed hashes) that `xinsheng key rotate` must re-key, after the encrypted tables. */
  keyRotation?: KeyRotationStep[];
  /** Durable timer handlers by kind (`survey.deadline` …); kinds are unique across modules. */
  timers?: Record<string, TimerJobHandler>;
  /** Runs once when the app starts, in a transaction (schedules recurring timers idempotently). */
  onStart?: (ctx: JobContext) => Promise<void>;
  files?: FileHandler[];
  /** Runs at the start of every turn, in its transaction (housekeeping such as purging sealed replies). */
  beforeEachTurn?: (em: EntityManager) => Promise<unknown>;
  commands?: Command[];
  cardActions?: CardActionHandler[];
  mine?: MineSection[];
  /**
   * A direct message that is not a command (before the bot answers 没有这个命令): e.g. the answer to a
   * question the module asked. Returns true when it took the message. Runs before the length check,
   * so a handler that takes the message also answers one that is too long.
   */
  onText?: (ctx: TurnContext, text: string) => Promise<boolean>;
}

import type { EntityManager } from 'typeorm';
import type { BotEvent, CardActionEvent, FileEvent, MessageEvent } from '../core/events';
import { deleteStoredFile } from '../core/file-store';
import type { TimerHandlerEntry } from '../core/timers';
import type { KeyRotationStep } from '../core/key-rotation';
import { createJobContext, notifyPeople } from './job-context';
import { enqueueOutbound } from '../core/outbox';
import { PersonEntity } from '../db/entities/org.entity';
import { ROLE_LABELS } from '../domain/glossary';
import { findCommandWord, MAX_TEXT_LENGTH, normalizeInput, splitCommand, type CommandWord } from '../domain/text';
import { endsAtWordBoundary } from '../lib/word-segmenter';
import { appendLedger } from '../core/ledger';
import { ensurePerson, loadActor, officeContact } from '../core/actor';
import { In } from 'typeorm';
import type { DeferredTask } from '../core/inbound-store';
import { UserFacingError, type BotModule, type BotServices, type Command, type TurnContext } from './turn-context';
import { groupHelpText, helpCommand, helpText, mineCommand } from './help';

export interface Bot {
  handle(em: EntityManager, event: BotEvent): Promise<DeferredTask[]>;
  commands: Command[];
  /** The modules' durable timer handlers, for the app's timer worker. */
  timerHandlers(): Map<string, TimerHandlerEntry>;
  /** Runs every module's onStart (schedules recurring timers), in the caller's transaction. */
  onStart(em: EntityManager, now: number): Promise<void>;
  /** The modules' key-rotation steps, for `xinsheng key rotate` and `key status`. */
  keyRotationSteps(): KeyRotationStep[];
}

/** Routes one event to its command or card handler, inside the event's transaction. */
export function createBot(services: BotServices, modules: BotModule[]): Bot {
  const mine = modules.flatMap((m) => m.mine ?? []);
  const commands: Command[] = [helpCommand(() => commands), mineCommand(mine), ...modules.flatMap((m) => m.commands ?? [])];
  const cardActions = modules.flatMap((m) => m.cardActions ?? []);
  const beforeEachTurn = modules.flatMap((m) => (m.beforeEachTurn ? [m.beforeEachTurn] : []));
  const fileHandlers = modules.flatMap((m) => m.files ?? []);
  const textHandlers = modules.flatMap((m) => (m.onText ? [m.onText] : []));
  const timers = new Map<string, TimerHandlerEntry>();
  for (const module of modules) {
    for (const [kind, handler] of Object.entries(module.timers ?? {})) {
      if (timers.has(kind)) throw new Error(`two modules handle the timer kind ${kind}`);
      timers.set(kind, { run: (em, job, now) => handler(createJobContext(em, services, now), job) });
    }
  }
  const byWord = new Map<string, Command[]>();
  for (const command of commands) {
    for (const word of [command.name, ...command.aliases]) {
      const key = word.toLowerCase();
      const shared = byWord.get(key) ?? [];
      if (shared.some((c) => !c.subcommands) && !command.subcommands) throw new Error(`two commands answer to ${word}`);
      byWord.set(key, [...shared, command]);
    }
  }

  /**
   * The command a word names. Modules may share a word when each names its subcommands (报告 提交 is
   * the reporting cycle's, 报告 生成 the unit report's); one without subcommands takes the rest.
   */
  function findCommand(word: string, rest: string): Command | undefined {
    const candidates = byWord.get(word.toLowerCase());
    if (!candidates) return undefined;
    if (candidates.length === 1) return candidates[0];
    const sub = splitCommand(rest).word;
    return candidates.find((c) => c.subcommands?.includes(sub)) ?? candidates.find((c) => !c.subcommands) ?? candidates[0];
  }
  const knownWords = new Set(byWord.keys());

  /** The command of a message, with or without a space after its word (README: Chat commands). */
  function parseCommand(text: string): CommandWord & { command?: Command } {
    const found = findCommandWord(text, knownWords, endsAtWordBoundary);
    const command = found.known ? findCommand(found.word, found.rest) : undefined;
    // 我的问题是… is not 我的: a command that takes nothing is taken glued to more text only with a space.
    if (command?.noArguments && found.glued) return { word: text.split(/\s/)[0], rest: '', known: false };
    return { ...found, command };
  }

  async function turn(em: EntityManager, event: BotEvent, now: number, deferred: DeferredTask[]): Promise<TurnContext> {
    await ensurePerson(em, event.senderId, event.senderName, event.platform, now);
    const actor = (await loadActor(em, event.senderId))!;
    const replyTo = event.conversation.kind === 'group' ? { kind: 'group' as const, groupId: event.conversation.id } : { kind: 'user' as const, userId: event.senderId };
    const ctx: TurnContext = {
      em,
      event,
      actor,
      now,
      services,
      reply: (content) => enqueueOutbound(em, services.cipher, { platform: event.platform, recipients: [replyTo], content, eventId: event.id }, now),
      replyText: (text) => ctx.reply({ kind: 'text', text }),
      notify: (personIds, content, options) => notifyPeople(em, services, personIds, content, now, { ...options, event }),
      ledger: async (record) => {
        await appendLedger(em, { actorId: actor.person.id, ...record }, now);
      },
      defer: (task) => deferred.push(task),
    };
    return ctx;
  }

  async function onMessage(ctx: TurnContext, event: MessageEvent): Promise<void> {
    const text = normalizeInput(event.text);
    const { word, rest, command, near, glued } = parseCommand(text);
    // A word that only begins like 匿名意见 (匿名意见箱…) is not run, but its sender is forgotten all the same.
    const forgetSender = command?.forgetSender ?? (near ? byWord.get(near.toLowerCase())?.find((c) => c.forgetSender)?.forgetSender : undefined);
    if (event.conversation.kind === 'group') {
      await forgetSender?.(ctx);
      await ctx.replyText(command?.name === '帮助' ? groupHelpText() : '群聊中我只回答「帮助」。涉及个人的信息请私聊我，例如私聊发送「帮助」。');
      return;
    }
    // A free-text answer the person owes (a questionnaire's open question) takes any message that is
    // not a command typed with its space: 意见很多 answers the question rather than files a 意见.
    if ((!command || glued) && text) {
      for (const handler of textHandlers) if (await handler(ctx, text)) return;
    }
    // The limit is on what is recorded: the content after the command word.
    const content = command ? rest : text;
    if (content.length > MAX_TEXT_LENGTH) {
      await forgetSender?.(ctx);
      await ctx.replyText(`内容过长（${content.length} 字），请控制在 ${MAX_TEXT_LENGTH} 字以内，分几条发送。本条未记录。`);
      return;
    }
    if (!text) {
      // Pictures, voice and files arrive as empty messages: answer them rather than stay silent.
      await ctx.replyText(`我只能读文字消息。${helpText(commands, ctx.actor, true)}`);
      return;
    }
    if (!command) {
      await forgetSender?.(ctx);
      const hint = near ? `如要使用「${near}」，请在「${near}」后加一个空格再写内容。` : '';
      await ctx.replyText(`没有「${word.slice(0, 20)}」这个命令。${hint}${helpText(commands, ctx.actor, true)}`);
      return;
    }
    if (!command.roles.some((role) => ctx.actor.roles.has(role))) {
      await command.forgetSender?.(ctx);
      await ctx.replyText(command.refusal ? await command.refusal(ctx) : await defaultRefusal(ctx, command));
      return;
    }
    await command.run(ctx, rest);
  }

  async function onCardAction(ctx: TurnContext, event: CardActionEvent): Promise<void> {
    const loaded = await services.cards.load(ctx.em, event.cardId);
    if (!loaded) {
      await ctx.replyText('这张卡片已失效，请重新发起操作。');
      return;
    }
    if (event.cardRef) {
      await services.cards.refreshRef(ctx.em, event.cardId, event.platform, `user:${event.senderId}`, event.cardRef, ctx.now);
    }
    const handler = cardActions.find((h) => h.template === loaded.card.template && h.action === event.action);
    if (!handler) {
      await ctx.replyText('这张卡片不支持该操作。');
      return;
    }
    await handler.run(ctx, event.cardId, event.values);
  }

  /** A file the kernel stored (or refused) before the turn: the first module that wants it takes it. */
  async function onFile(ctx: TurnContext, event: FileEvent): Promise<void> {
    if (event.conversation.kind === 'group') {
      await discardFile(ctx, event);
      await ctx.replyText('群聊中的文件我不会读取。需要提交文件时，请私聊我发送。');
      return;
    }
    for (const handler of fileHandlers) {
      if (await handler.wants(ctx, event)) {
        await handler.run(ctx, event);
        return;
      }
    }
    await discardFile(ctx, event);
    await ctx.replyText(`收到文件「${event.file.name.slice(0, 60)}」，但现在没有需要您提交文件的事项，文件未保存。提交部门报告或存档报告时，请先发送相应命令（发送「帮助」查看）。`);
  }

  async function onEnter(ctx: TurnContext): Promise<void> {
    if (ctx.actor.person.welcomedAt) return;
    await ctx.em.update(PersonEntity, { id: ctx.actor.person.id }, { welcomedAt: ctx.now });
    await ctx.replyText(`您好，${ctx.actor.person.name}！这里是「心声」思想动态工作助手。发送「帮助」查看您可以使用的命令。`);
  }

  return {
    commands,
    timerHandlers: () => timers,
    keyRotationSteps: () => modules.flatMap((m) => m.keyRotation ?? []),
    async onStart(em, now) {
      for (const module of modules) await module.onStart?.(createJobContext(em, services, now));
    },
    async handle(em, event) {
      const deferred: DeferredTask[] = [];
      // Replies of anonymous turns (匿名意见, 查询) that were delivered meanwhile are forgotten now.
      for (const hook of beforeEachTurn) await hook(em);
      const ctx = await turn(em, event, services.now(), deferred);
      try {
        if (event.type === 'message') await onMessage(ctx, event);
        else if (event.type === 'card_action') await onCardAction(ctx, event);
        else if (event.type === 'file') await onFile(ctx, event);
        else await onEnter(ctx);
      } catch (error) {
        if (!(error instanceof UserFacingError)) throw error;
        await ctx.replyText(error.message);
      }
      return deferred;
    },
  };
}

async function discardFile(ctx: TurnContext, event: FileEvent): Promise<void> {
  if (event.file.storedFileId) await deleteStoredFile(ctx.em, event.file.storedFileId);
}

async function defaultRefusal(ctx: TurnContext, command: Command): Promise<string> {
  const allowed = command.roles.map((r) => ROLE_LABELS[r]).join('、');
  return `「${command.name}」仅限${allowed}使用。如有需要，请联系${await officeContact(ctx.em, ctx.actor.person.id)}。`;
}

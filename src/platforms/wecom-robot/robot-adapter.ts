import type { WecomRobotConfig } from '../../config/load-config';
import { PlatformApiError } from '../../core/errors';
import type { BotEvent } from '../../core/events';
import type { Card, OutboundContent, Recipient } from '../../core/messages';
import type { ConnectionLease } from '../../core/connection-lease';
import type { Logger } from '../../lib/logger';
import {
  recipientKey,
  type AdapterServices,
  type DeliveryOutcome,
  type DeliveryRequest,
  type DirectorySnapshot,
  type InboundSink,
  type PlatformAdapter,
} from '../../core/platform-adapter';
import { runDeliveryCalls, type DeliveryCall } from '../delivery-calls';
import { toWecomMarkdown } from '../wecom/wecom-markdown';
import { fetchWecomDirectory } from '../wecom/directory';
import { isInteractive, renderCardAsMarkdown, renderTemplateCard } from '../wecom/render-card';
import { taskIdForCard } from '../wecom/task-id';
import { splitByBytes, withTitle } from '../wecom/wecom-adapter';
import { createWecomClient, type WecomClient } from '../wecom/wecom-client';
import { ConversationPacer, ROBOT_LIMITS, type ConversationLimits } from './conversation-pacer';
import {
  downloadRobotFile,
  RobotConnection,
  RobotNotConnectedError,
  RobotReceiptError,
  type RobotConnectionOptions,
  type RobotFrame,
} from './robot-connection';
import { decodeCardRef, frameToEvent, type RobotFileRef } from './robot-events';

/*
 * WeCom in robot mode (WECOM_MODE=robot): the same platform name `wecom` and the same card
 * renderings as the self-built app, over the intelligent robot's long connection. Everything goes
 * out as a proactive message (aibot_send_msg to the person's userid or the group's chatid), so
 * a reply does not depend on the frame it answers still being answerable; only a card update
 * answers the click's frame (aibot_respond_update_msg, possible within 5 s of the click).
 *
 * WeCom keeps one connection per robot, so of several instances on one database only the holder
 * of the lease `wecom-robot:<bot id>` (core/connection-lease.ts) opens it: it renews the lease
 * while it runs; the others stand by, try to take the lease every renewal period, and connect once
 * they have it. Only the holder sends: the others' dispatchers do not claim `wecom` messages
 * (canDeliver). Without the kernel's services (adapter tests) the adapter connects on its own.
 */

export interface WecomRobotAdapterDeps {
  config: WecomRobotConfig;
  log: Logger;
  now?: () => number;
  /** Test/benchmark knobs for the connection (backoff, watchdog, takeover hold, status). */
  connection?: Partial<Omit<RobotConnectionOptions, 'botId' | 'secret' | 'wsUrl' | 'log' | 'onFrame'>>;
  limits?: ConversationLimits;
  /** How long a delivery waits for a connection that is being re-established. */
  connectWaitMs?: number;
  /** Injected by tests: the directory client (address-book secret). */
  directoryClient?: WecomClient;
  /** The connection lease's timing (tests); the defaults are 30 s, renewed every 10 s. */
  lease?: { leaseMs?: number; renewMs?: number };
}

/** Markdown a robot message carries; longer text goes in parts (the group robot's documented 4,096 bytes). */
export const MAX_ROBOT_MARKDOWN_BYTES = 4096;
/** A click's frame can be answered with a card update within 5 s; keep a margin for the transit. */
export const CARD_UPDATE_WINDOW_MS = 4500;
/** Errcodes meaning the chat or person is unknown to the robot: reported, never retried. */
const UNKNOWN_CHAT = new Set([40003, 60111, 93006]);
/** Errcodes a deployer must fix (credentials, permissions, trusted IP). */
const CONFIGURATION = new Set([40001, 40013, 40056, 48002, 60020, 93000]);
/** Sending to several chats: a few at a time keeps a fan-out short within the global limit. */
const SEND_CONCURRENCY = 4;
const STORE_RETRY_DELAYS_MS = [200, 1000, 3000, 10_000];

type MessageBody = Record<string, unknown> & { msgtype: string };

function chatIdOf(recipient: Recipient): string {
  return recipient.kind === 'user' ? recipient.userId : recipient.groupId;
}

/** The SDK's failures as the outbox understands them. */
function toPlatformError(error: unknown): PlatformApiError {
  if (error instanceof PlatformApiError) return error;
  if (error instanceof RobotNotConnectedError) {
    return new PlatformApiError('wecom', 'WeCom robot connection is not up', { errcode: 'not_connected', retryable: true });
  }
  if (error instanceof RobotReceiptError) {
    return new PlatformApiError('wecom', error.message, {
      errcode: error.errcode,
      retryable: !UNKNOWN_CHAT.has(error.errcode),
      configuration: CONFIGURATION.has(error.errcode),
    });
  }
  // A receipt timeout: WeCom may or may not have taken it; retried like a network error.
  return new PlatformApiError('wecom', error instanceof Error ? error.message : 'robot send failed', { retryable: true }, { cause: error });
}

export interface WecomRobotAdapter extends PlatformAdapter {
  readonly name: 'wecom';
  updateCard(recipient: Recipient, ref: string, card: Card): Promise<void>;
  downloadFile(file: { ref: string; name: string }): Promise<{ data: Buffer; name: string; mimeType?: string }>;
  configurationProblems(): string[];
  connectionStatus(): { state: string; lastError?: string; lease?: 'holder' | 'standby'; holder?: string };
  canDeliver(): boolean;
}

export function createWecomRobotAdapter(deps: WecomRobotAdapterDeps): WecomRobotAdapter {
  const { config } = deps;
  const log = deps.log.child({ platform: 'wecom', transport: 'robot' });
  const now = deps.now ?? Date.now;
  const pacer = new ConversationPacer(deps.limits ?? ROBOT_LIMITS, now);
  const connectWaitMs = deps.connectWaitMs ?? 5000;
  const directory =
    deps.directoryClient ??
    (config.directory ? createWecomClient({ apiBase: config.directory.apiBase, corpId: config.directory.corpId, secret: config.directory.secret, log: deps.log }) : undefined);
  let sink: InboundSink | null = null;
  let stopped = true;
  const storeRetries = new Set<NodeJS.Timeout>();
  let services: AdapterServices | undefined;
  let lease: ConnectionLease | undefined;
  /** This instance holds the lease (always, without a lease); until when, as far as it knows. */
  let holding = false;
  let heldUntil = 0;
  let otherHolder: string | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let leaseTick: Promise<void> | undefined;

  const connection = new RobotConnection({
    botId: config.botId,
    secret: config.secret,
    wsUrl: config.wsUrl,
    log,
    onFrame,
    now,
    ...deps.connection,
  });

  // ---------------------------------------------------------------------------------------------
  // Inbound. The protocol has no acknowledgement of a pushed frame and WeCom does not push an
  // unanswered frame again, so the frame is stored before anything else happens, and a failed
  // store is retried here in memory (the frame exists nowhere else).

  function onFrame(frame: RobotFrame): void {
    const event = frameToEvent(frame, now());
    if (!event) return;
    void store(event, 0);
  }

  async function store(event: BotEvent, attempt: number): Promise<void> {
    if (!sink) return;
    try {
      await sink.accept(event);
    } catch (error) {
      const delay = STORE_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || stopped) {
        log.error({ err: error, id: event.id }, 'wecom robot event could not be stored; it is lost');
        return;
      }
      log.warn({ err: error, id: event.id, attempt: attempt + 1 }, 'wecom robot event not stored yet; retrying');
      const timer = setTimeout(() => {
        storeRetries.delete(timer);
        void store(event, attempt + 1);
      }, delay);
      storeRetries.add(timer);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The lease: one instance holds the robot's connection.

  /** Runs one lease step now, then every renewal period, until stop(). */
  function scheduleLeaseTick(delayMs: number): void {
    if (stopped || !lease) return;
    leaseTimer = setTimeout(() => {
      leaseTimer = undefined;
      leaseTick = leaseStep().finally(() => {
        leaseTick = undefined;
        scheduleLeaseTick(lease!.renewMs);
      });
    }, delayMs);
  }

  async function leaseStep(): Promise<void> {
    if (!lease || stopped) return;
    // The database dates the lease at least this late: counting from here never overestimates it.
    const asOf = Date.now();
    try {
      if (holding) {
        if (await lease.renew()) heldUntil = asOf + lease.leaseMs;
        else await loseLease('another instance holds the lease');
      } else if (await lease.tryAcquire()) {
        await becomeHolder(asOf);
      } else {
        otherHolder = (await lease.holder())?.owner;
      }
    } catch (error) {
      log.warn({ err: error }, 'wecom robot: connection lease not renewed/checked (database)');
      // Our lease may have ended meanwhile and another instance taken the robot: step back in time.
      if (holding && Date.now() >= heldUntil) await loseLease('lease not renewed before it ended');
    }
  }

  async function becomeHolder(asOf: number): Promise<void> {
    holding = true;
    heldUntil = asOf + lease!.leaseMs;
    otherHolder = undefined;
    await countRecentSends();
    if (stopped || !holding) return;
    log.info('wecom robot: this instance holds the connection lease');
    await connection.start();
  }

  async function loseLease(reason: string): Promise<void> {
    holding = false;
    log.warn({ reason }, 'wecom robot: connection lease lost, standing by');
    await connection.stop();
  }

  /** The per-conversation windows as the outbox saw them (an earlier holder's sends included). */
  async function countRecentSends(): Promise<void> {
    if (!services) return;
    pacer.clear();
    try {
      for (const sent of await services.sentSince('wecom', now() - 60 * 60_000)) {
        pacer.record(chatIdOf(sent.recipient), sent.sentAt, sent.content ? messageCount(sent.content) : 1);
      }
    } catch (error) {
      log.warn({ err: error }, 'wecom robot: recent sends not counted (database); limits count from now');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound.

  async function connectionUp(): Promise<void> {
    if (!(await connection.waitUntilConnected(connectWaitMs))) throw toPlatformError(new RobotNotConnectedError());
  }

  /** Sends the bodies to one chat in order, within the chat's limits (else: retry later). */
  async function sendToChat(recipient: Recipient, bodies: MessageBody[]): Promise<{ retryLater?: Recipient[] }> {
    const chatId = chatIdOf(recipient);
    if (!pacer.tryReserve(chatId, bodies.length)) {
      log.warn({ count: bodies.length }, 'wecom robot: conversation limit reached, sending later');
      return { retryLater: [recipient] };
    }
    for (let i = 0; i < bodies.length; i++) {
      try {
        await connection.sendMessage(chatId, bodies[i]);
      } catch (error) {
        // What did not reach WeCom is not counted against the chat's limit; a connection lost before
        // the first part is like no connection at all: later, without counting an attempt.
        if (error instanceof RobotNotConnectedError) {
          pacer.release(chatId, bodies.length - i);
          if (i === 0) return { retryLater: [recipient] };
        }
        throw toPlatformError(error);
      }
    }
    return {};
  }

  function runCalls(calls: DeliveryCall[]) {
    return runDeliveryCalls(calls, {
      concurrency: SEND_CONCURRENCY,
      allRecipientsInvalid: (error) => typeof error.details.errcode === 'number' && UNKNOWN_CHAT.has(error.details.errcode),
      haltsDelivery: (error) => error.details.errcode === 45009 || error.details.errcode === 'not_connected',
    });
  }

  function sendToAll(recipients: Recipient[], bodies: MessageBody[]) {
    return runCalls(recipients.map((recipient) => ({ recipients: [recipient], run: () => sendToChat(recipient, bodies) })));
  }

  /** Each copy of an interactive card has its own task id (unique per robot), its ref for updates. */
  async function deliverCard(recipients: Recipient[], card: Card): Promise<DeliveryOutcome> {
    if (!isInteractive(card)) return sendToAll(recipients, markdownBodies(renderCardAsMarkdown(card)));
    const cardRefs: Record<string, string> = {};
    const outcome = await runCalls(
      recipients.map((recipient) => ({
        recipients: [recipient],
        run: async () => {
          const taskId = taskIdForCard(card.cardId);
          const result = await sendToChat(recipient, [{ msgtype: 'template_card', template_card: renderTemplateCard(card, taskId, 'send').template_card }]);
          if (!result.retryLater) cardRefs[recipientKey(recipient)] = taskId;
          return result;
        },
      })),
    );
    return { ...outcome, cardRefs };
  }

  function deliverContent(recipients: Recipient[], content: OutboundContent): Promise<DeliveryOutcome> {
    switch (content.kind) {
      case 'text':
      case 'markdown':
        return sendToAll(recipients, bodiesOf(content));
      case 'card':
        return deliverCard(recipients, content.card);
      case 'file':
        return deliverFile(recipients, content);
    }
  }

  async function deliverFile(recipients: Recipient[], content: Extract<OutboundContent, { kind: 'file' }>): Promise<DeliveryOutcome> {
    let mediaId: string;
    try {
      // A media_id lives three days, so each delivery uploads afresh.
      mediaId = await connection.uploadFile(Buffer.from(content.dataBase64, 'base64'), content.fileName);
    } catch (error) {
      throw toPlatformError(error);
    }
    return sendToAll(recipients, [{ msgtype: 'file', file: { media_id: mediaId } }]);
  }

  /** A copy that can no longer be replaced gets its new state as a short message. */
  async function sendState(recipient: Recipient, card: Card): Promise<void> {
    const markdown = card.state ? `**${card.title}**\n> 状态：${card.state}` : renderCardAsMarkdown(card);
    const result = await sendToChat(recipient, markdownBodies(markdown));
    if (result.retryLater) throw new PlatformApiError('wecom', 'card state message not sent now (connection down or conversation limit)', { retryable: true });
  }

  // ---------------------------------------------------------------------------------------------

  return {
    name: 'wecom',
    // No global robot limit is documented; the per-conversation limits are kept by the pacer.
    sendRateLimitPerSecond: 20,

    async start(inbound: InboundSink, kernel?: AdapterServices): Promise<void> {
      sink = inbound;
      stopped = false;
      services = kernel;
      lease = kernel?.connectionLease(`wecom-robot:${config.botId}`.slice(0, 64), deps.lease);
      if (!lease) {
        holding = true;
        await connection.start();
        return;
      }
      // The first try at once, so a single instance connects at start-up.
      await leaseStep();
      scheduleLeaseTick(lease.renewMs);
    },

    async stop(): Promise<void> {
      stopped = true;
      sink = null;
      for (const timer of storeRetries) clearTimeout(timer);
      storeRetries.clear();
      clearTimeout(leaseTimer);
      leaseTimer = undefined;
      await leaseTick;
      await connection.stop();
      if (lease && holding) {
        // Handed on at once: a standby takes over at its next try instead of waiting the lease out.
        await lease.release().catch((error: unknown) => log.warn({ err: error }, 'wecom robot: connection lease not released; it ends by itself'));
      }
      holding = false;
    },

    canDeliver() {
      return holding && connection.connected;
    },

    async deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
      const { content, recipients } = request;
      if (recipients.length === 0) return {};
      pacer.prune();
      if (!holding || !(await connection.waitUntilConnected(connectWaitMs))) {
        // Reconnecting, or another instance holds the robot: handed back to the outbox at once without
        // counting an attempt; no dispatcher claims it while it cannot be sent (canDeliver), and the
        // holder sends it as soon as it is connected — an outage or a standby never dead-letters it.
        log.warn({ state: connection.state, count: recipients.length }, 'wecom robot: not connected, delivery handed back');
        return { retryLater: recipients, retryAfterMs: 0 };
      }
      const outcome = await deliverContent(recipients, content);
      if (!outcome.retryLater?.length) return outcome;
      // Lost the connection meanwhile: whoever has it next sends the rest at once. Else a
      // conversation's limit: when its window has room again.
      const retryAfterMs = connection.connected ? Math.max(1000, ...outcome.retryLater.map((r) => pacer.waitMs(chatIdOf(r), messageCount(content)))) : 0;
      return { ...outcome, retryAfterMs };
    },

    async updateCard(recipient, ref, card) {
      const parsed = decodeCardRef(ref);
      if (!parsed) return;
      await connectionUp();
      const click = parsed.click;
      if (click && recipient.kind === 'user' && now() - click.at < CARD_UPDATE_WINDOW_MS) {
        try {
          await connection.updateTemplateCard(click.reqId, renderTemplateCard(card, parsed.taskId, 'update').template_card, [recipient.userId]);
          return;
        } catch (error) {
          if (!(error instanceof RobotReceiptError)) throw toPlatformError(error);
          // WeCom no longer takes the update (the window closed on its side): fall back to a message.
          log.warn({ errcode: error.errcode }, 'wecom robot: card update refused, sending the state as a message');
        }
      }
      await sendState(recipient, card);
    },

    async downloadFile(file) {
      let ref: RobotFileRef;
      try {
        ref = JSON.parse(file.ref) as RobotFileRef;
      } catch {
        throw new PlatformApiError('wecom', 'not a robot file reference', { retryable: false });
      }
      if (typeof ref.url !== 'string' || !ref.url) throw new PlatformApiError('wecom', 'not a robot file reference', { retryable: false });
      try {
        const { data, fileName } = await downloadRobotFile(ref.url, ref.aeskey, log);
        return { data, name: fileName || file.name };
      } catch (error) {
        const status = (error as { response?: { status?: number } }).response?.status;
        // The download URL lives five minutes: a 4xx will not get better; a network error might.
        throw new PlatformApiError('wecom', `robot file download failed${status ? ` (HTTP ${status})` : ''}`, { status, retryable: !status || status >= 500 }, { cause: error });
      }
    },

    ...(directory ? { fetchDirectory: (): Promise<DirectorySnapshot> => fetchWecomDirectory(directory) } : {}),

    configurationProblems() {
      return [connection.configurationProblem, ...(directory?.configurationProblems() ?? [])].filter((p): p is string => !!p);
    },

    connectionStatus() {
      const lastError = connection.lastError;
      if (!lease) return { state: connection.state, ...(lastError ? { lastError } : {}) };
      if (!holding) return { state: 'standby', lease: 'standby', ...(otherHolder ? { holder: otherHolder } : {}) };
      return { state: connection.state, lease: 'holder', ...(lastError ? { lastError } : {}) };
    },
  };
}

/** The markdown messages a text or markdown content goes out as. */
function bodiesOf(content: Extract<OutboundContent, { kind: 'text' | 'markdown' }>): MessageBody[] {
  return markdownBodies(content.kind === 'text' ? content.text : withTitle(content.title, content.markdown));
}

/** How many robot messages a content takes (its parts; a card or file is one). */
function messageCount(content: OutboundContent): number {
  if (content.kind === 'text' || content.kind === 'markdown') return bodiesOf(content).length;
  if (content.kind === 'card' && !isInteractive(content.card)) return markdownBodies(renderCardAsMarkdown(content.card)).length;
  return 1;
}

/** In the markdown subset WeCom renders (no tables), as the self-built app sends it. */
function markdownBodies(markdown: string): MessageBody[] {
  return splitByBytes(toWecomMarkdown(markdown), MAX_ROBOT_MARKDOWN_BYTES).map((part) => ({ msgtype: 'markdown', markdown: { content: part } }));
}

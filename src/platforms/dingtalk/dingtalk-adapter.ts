import crypto from 'node:crypto';
import type { DingtalkConfig } from '../../config/load-config';
import { PayloadError, PlatformApiError } from '../../core/errors';
import type { BotEvent } from '../../core/events';
import type { Card, OutboundContent, Recipient } from '../../core/messages';
import type { PlatformLimits } from '../../core/platform-limits';
import type { Logger } from '../../lib/logger';
import {
  recipientKey,
  type DeliveryOutcome,
  type DeliveryRequest,
  type DirectorySnapshot,
  type InboundSink,
  type PlatformAdapter,
} from '../../core/platform-adapter';
import { chunk, runDeliveryCalls, type DeliveryCall } from '../delivery-calls';
import { createCallbackRouter } from './dingtalk-callback';
import { outTrackIdFor, renderActionCardMessage, renderCardParamMap, renderCardStateMessage, type RobotMessage } from './dingtalk-cards';
import { DingtalkClient, type DingtalkClientOptions } from './dingtalk-client';
import { fetchDingtalkDirectory } from './directory';
import { StreamConnection, TOPIC_CARD, TOPIC_ROBOT, type StreamConnectionOptions, type StreamFrame, type FrameResponder } from './stream-connection';
import { cardCallbackToEvent, parseRobotMessage, robotMessageToEvent } from './to-bot-event';

export interface DingtalkAdapterDeps {
  config: DingtalkConfig;
  log: Logger;
  now?: () => number;
  /** DingTalk's 20 calls/s per app per API, shared by every instance on MySQL. */
  limits?: PlatformLimits;
  /** Test/benchmark knobs for the HTTP client (sleep, fetch, pacing). */
  client?: Partial<DingtalkClientOptions>;
  /** Test/benchmark knobs for the Stream connection (backoff, watchdog, status). */
  stream?: Partial<Pick<StreamConnectionOptions, 'initialDelayMs' | 'maxDelayMs' | 'silenceMs' | 'connectTimeoutMs' | 'random' | 'onStatus'>>;
}

/** oToMessages/batchSend takes at most 20 user ids per call (spec §4.2). */
export const MAX_USERS_PER_BATCH = 20;

/** rate_schedules.bucket holds 64 characters: a longer API path is named by a hash of it. */
function apiBucket(path: string): string {
  const bucket = `dingtalk:api:${path}`;
  return bucket.length <= 64 ? bucket : `dingtalk:api:h:${crypto.createHash('sha256').update(path).digest('hex').slice(0, 40)}`;
}

type UserRecipient = Extract<Recipient, { kind: 'user' }>;
type GroupRecipient = Extract<Recipient, { kind: 'group' }>;

export function createDingtalkAdapter(deps: DingtalkAdapterDeps): PlatformAdapter {
  const { config } = deps;
  const log = deps.log.child({ platform: 'dingtalk' });
  const now = deps.now ?? Date.now;
  const client = new DingtalkClient({
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    apiBase: config.apiBase,
    oapiBase: config.oapiBase,
    log,
    pacerFor: deps.limits ? (path, rate) => deps.limits!.pacer(apiBucket(path), rate) : undefined,
    ...deps.client,
  });
  // Interactive cards call back over Stream; in HTTP mode every card is an action-card message.
  const cardTemplateId = config.mode === 'stream' ? config.cardTemplateId : undefined;
  let sink: InboundSink | null = null;
  let stream: StreamConnection | null = null;

  // ---------------------------------------------------------------------------------------------
  // Inbound.

  /** Stores the event, then acknowledges; a failed store is not acknowledged, so DingTalk redelivers. */
  async function acceptFrame(frame: StreamFrame, respond: FrameResponder): Promise<void> {
    let event: BotEvent;
    try {
      const data = JSON.parse(frame.data) as unknown;
      event = frame.topic === TOPIC_CARD ? cardCallbackToEvent(frame.messageId, data, now()) : robotMessageToEvent(parseRobotMessage(data), now());
    } catch (error) {
      // Redelivering a malformed payload cannot help: acknowledge it and move on.
      log.warn({ topic: frame.topic, reason: error instanceof PayloadError ? error.message : 'not JSON' }, 'dingtalk frame ignored');
      respond(frame.topic === TOPIC_CARD ? {} : null);
      return;
    }
    try {
      await sink!.accept(event);
    } catch (error) {
      log.error({ err: error, id: event.id }, 'dingtalk event not stored; left unacknowledged for redelivery');
      return;
    }
    // Card callbacks must be answered within 2 s; the card's new state follows via updateCard().
    respond(frame.topic === TOPIC_CARD ? {} : null);
  }

  function onFrame(frame: StreamFrame, respond: FrameResponder): void {
    if (frame.topic !== TOPIC_ROBOT && frame.topic !== TOPIC_CARD) return;
    void acceptFrame(frame, respond);
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound.

  /** One batchSend per 20 people; DingTalk names the unknown and the flow-controlled ones. */
  function userCalls(users: UserRecipient[], message: RobotMessage): DeliveryCall[] {
    return chunk(users, MAX_USERS_PER_BATCH).map((batch) => ({
      recipients: batch,
      run: async () => {
        const result = await client.batchSend(config.robotCode, batch.map((u) => u.userId), message.msgKey, message.msgParam);
        const invalid = new Set(result.invalidStaffIdList);
        const throttled = new Set(result.flowControlledStaffIdList);
        if (invalid.size > 0) log.warn({ count: invalid.size }, 'dingtalk recipients unknown (invalidStaffIdList)');
        return { invalid: batch.filter((u) => invalid.has(u.userId)), retryLater: batch.filter((u) => throttled.has(u.userId)) };
      },
    }));
  }

  function groupCalls(groups: GroupRecipient[], message: RobotMessage): DeliveryCall[] {
    return groups.map((group) => ({
      recipients: [group],
      run: async () => {
        await client.groupSend(config.robotCode, group.groupId, message.msgKey, message.msgParam);
      },
    }));
  }

  async function robotMessageFor(content: OutboundContent): Promise<RobotMessage> {
    switch (content.kind) {
      case 'text':
        return { msgKey: 'sampleText', msgParam: { content: content.text } };
      case 'markdown':
        return { msgKey: 'sampleMarkdown', msgParam: { title: content.title, text: content.markdown } };
      case 'card':
        return renderActionCardMessage(content.card);
      case 'file': {
        const mediaId = await client.uploadMedia(content.fileName, content.mimeType, Buffer.from(content.dataBase64, 'base64'));
        const fileType = content.fileName.includes('.') ? content.fileName.split('.').pop()!.toLowerCase() : 'file';
        return { msgKey: 'sampleFile', msgParam: { mediaId, fileName: content.fileName, fileType } };
      }
    }
  }

  async function deliverMessage(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const message = await robotMessageFor(request.content);
    const users = request.recipients.filter((r): r is UserRecipient => r.kind === 'user');
    const groups = request.recipients.filter((r): r is GroupRecipient => r.kind === 'group');
    const outcome = await runDeliveryCalls([...userCalls(users, message), ...groupCalls(groups, message)]);
    const cardRefs =
      request.content.kind === 'card'
        ? Object.fromEntries(request.recipients.map((r) => [recipientKey(r), `msg:${(request.content as { card: Card }).card.cardId}`]))
        : undefined;
    return { ...outcome, cardRefs };
  }

  /** One interactive card per recipient, each with its own outTrackId, so each copy can be updated. */
  async function deliverInteractiveCard(card: Card, recipients: Recipient[], templateId: string): Promise<DeliveryOutcome> {
    const cardRefs: Record<string, string> = {};
    const cardParamMap = renderCardParamMap(card);
    const calls = recipients.map((recipient) => ({
      recipients: [recipient],
      run: async () => {
        const outTrackId = outTrackIdFor(card.cardId, hash(`${card.cardId}\n${recipientKey(recipient)}`));
        await client.createAndDeliverCard({ cardTemplateId: templateId, outTrackId, callbackType: 'STREAM', cardData: { cardParamMap }, userIdType: 1, ...space(recipient) });
        cardRefs[recipientKey(recipient)] = `card:${outTrackId}`;
      },
    }));
    return { ...(await runDeliveryCalls(calls)), cardRefs };
  }

  function space(recipient: Recipient): Record<string, unknown> {
    if (recipient.kind === 'group') {
      return {
        openSpaceId: `dtv1.card//IM_GROUP.${recipient.groupId}`,
        imGroupOpenSpaceModel: { supportForward: false },
        imGroupOpenDeliverModel: { robotCode: config.robotCode },
      };
    }
    return {
      openSpaceId: `dtv1.card//IM_ROBOT.${recipient.userId}`,
      imRobotOpenSpaceModel: { supportForward: false },
      imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: config.robotCode },
    };
  }

  // ---------------------------------------------------------------------------------------------

  return {
    name: 'dingtalk',
    // POST /dingtalk/callback exists only in HTTP mode: in Stream mode nothing is exposed.
    ...(config.mode === 'http' ? { routes: () => createCallbackRouter({ appSecret: config.clientSecret, log, now, sink: () => sink }) } : {}),
    // The client paces each API itself; this bounds the dispatcher's overall rate.
    sendRateLimitPerSecond: 20,

    async start(inbound: InboundSink): Promise<void> {
      sink = inbound;
      if (config.mode !== 'stream' || stream) return;
      stream = new StreamConnection({
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        apiBase: config.apiBase,
        log,
        onFrame,
        now,
        ...deps.stream,
      });
      await stream.start();
    },

    async stop(): Promise<void> {
      sink = null;
      const current = stream;
      stream = null;
      await current?.stop();
    },

    async deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
      if (request.recipients.length === 0) return {};
      if (request.content.kind === 'card' && cardTemplateId) return deliverInteractiveCard(request.content.card, request.recipients, cardTemplateId);
      return deliverMessage(request);
    },

    async updateCard(recipient: Recipient, ref: string, card: Card): Promise<void> {
      if (ref.startsWith('card:')) {
        await client.updateCardInstance(ref.slice('card:'.length), renderCardParamMap(card));
        return;
      }
      // An action-card message cannot be edited: the new state is sent as a short follow-up.
      const outcome = await deliverMessageWith(recipient, renderCardStateMessage(card));
      if (outcome.retryLater.length > 0) {
        throw new PlatformApiError('dingtalk', 'card state message throttled', { retryable: true });
      }
    },

    async downloadFile(file) {
      const got = await client.downloadMessageFile(config.robotCode, file.ref);
      return { data: got.data, name: file.name, mimeType: got.mimeType ?? undefined };
    },

    fetchDirectory(): Promise<DirectorySnapshot> {
      return fetchDingtalkDirectory(client);
    },

    configurationProblems(): string[] {
      return [stream?.configurationProblem, ...client.configurationProblems()].filter((p): p is string => !!p);
    },
  };

  function deliverMessageWith(recipient: Recipient, message: RobotMessage) {
    return runDeliveryCalls(recipient.kind === 'user' ? userCalls([recipient], message) : groupCalls([recipient], message));
  }
}

function hash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

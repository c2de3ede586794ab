import type Router from '@koa/router';
import type { WecomConfig } from '../../config/load-config';
import type { Card, OutboundContent, Recipient } from '../../core/messages';
import type { Logger } from '../../lib/logger';
import { PlatformApiError } from '../../core/errors';
import type { KeyedLimitRule } from '../../core/keyed-limit';
import { createLocalLimits, type PlatformLimits } from '../../core/platform-limits';
import {
  recipientKey,
  type CardBatch,
  type CardBatchUpdateResult,
  type DeliveryOutcome,
  type DeliveryRequest,
  type DirectorySnapshot,
  type InboundSink,
  type PlatformAdapter,
} from '../../core/platform-adapter';
import { fetchWecomDirectory } from './directory';
import { isInteractive, renderCardAsMarkdown, renderTemplateCard } from './render-card';
import { toWecomMarkdown } from './wecom-markdown';
import { chunk, runDeliveryCalls, type DeliveryCall } from '../delivery-calls';
import { decodeCardRef, encodeCardRef, taskIdForCard } from './task-id';
import { createCallbackRouter } from './wecom-callback';
import { createWecomClient, type WecomClient, type WecomResponse } from './wecom-client';

export interface WecomAdapterDeps {
  config: WecomConfig;
  log: Logger;
  /** Injected by tests; built from the config otherwise. */
  client?: WecomClient;
  /** WeCom's messages per member per minute, shared by every instance on MySQL; in memory when absent. */
  limits?: PlatformLimits;
  now?: () => number;
}

export interface WecomAdapter extends PlatformAdapter {
  readonly name: 'wecom';
  routes(): Router;
  updateCard(recipient: Recipient, ref: string, card: Card): Promise<void>;
  updateCardBatch(batch: { ref: string; sentAt: number }, recipients: Recipient[], card: Card): Promise<CardBatchUpdateResult>;
  fetchDirectory(): Promise<DirectorySnapshot>;
  configurationProblems(): string[];
}

/** message/send takes at most 1000 user ids per call (spec §5.1). */
export const MAX_USERS_PER_SEND = 1000;
/** text and markdown content is cut by WeCom beyond 2048 bytes; longer messages go in parts. */
export const MAX_CONTENT_BYTES = 2048;
/** WeCom: all recipients invalid. The whole batch is reported invalid instead of retried. */
const ALL_RECIPIENTS_INVALID = 81013;
const RATE_LIMITED = 45009;
/**
 * How long a send's response_code can update its copies. The current doc says 72 h (D94945); older
 * docs and SDKs say 24 h. A code older than 72 h is not tried; between 24 h and 72 h it is tried, and
 * a refusal is taken as the code's end rather than as a failure (spec §5.2, §10.7).
 */
export const RESPONSE_CODE_MAX_AGE_MS = 72 * 3600_000;
export const RESPONSE_CODE_SAFE_AGE_MS = 24 * 3600_000;
/**
 * WeCom takes at most 30 messages a minute from one app to one member and silently drops the rest
 * (spec §6.3): at most 20 at once, then one every 6 s, so no minute ever holds more than 30 (nor
 * an hour more than 1000). A member over it gets the message a minute later, through the outbox.
 */
export const MEMBER_LIMIT: KeyedLimitRule = { count: 30, perMs: 60_000, burst: 20 };
/** Cards go one call per person; a few at a time keeps a large delivery short and within the limits. */
const CARD_SEND_CONCURRENCY = 4;

type UserRecipient = Extract<Recipient, { kind: 'user' }>;
type GroupRecipient = Extract<Recipient, { kind: 'group' }>;
/** A message body without the addressing, e.g. `{ msgtype: 'text', text: { content } }`. */
type MessageBody = Record<string, unknown> & { msgtype: string };
type Call = DeliveryCall;

export function createWecomAdapter(deps: WecomAdapterDeps): WecomAdapter {
  const { config } = deps;
  const log = deps.log.child({ platform: 'wecom' });
  const client =
    deps.client ?? createWecomClient({ apiBase: config.apiBase, corpId: config.corpId, secret: config.secret, log: deps.log, now: deps.now });
  const agentid = Number(config.agentId);
  const now = deps.now ?? Date.now;
  const memberLimit = (deps.limits ?? createLocalLimits()).perKey(`wecom:m:${config.agentId}`, MEMBER_LIMIT);
  let sink: InboundSink | null = null;

  const router = createCallbackRouter({
    keys: { token: config.token, encodingAesKey: config.encodingAesKey, corpId: config.corpId },
    log,
    sink: () => sink,
    now: deps.now,
  });

  /** Sends one body to a batch of users; returns the users WeCom reported as unknown or unlicensed. */
  async function sendToUsers(users: UserRecipient[], body: MessageBody): Promise<{ invalid: UserRecipient[]; response: WecomResponse }> {
    const response = await client.post('message/send', { touser: users.map((u) => u.userId).join('|'), agentid, ...body });
    // WeCom lower-cases the user ids it returns (they are case-insensitive).
    const refused = new Set(
      [response.invaliduser, response.unlicenseduser]
        .filter((v): v is string => typeof v === 'string' && v !== '')
        .flatMap((v) => v.split('|'))
        .map((id) => id.toLowerCase()),
    );
    if (refused.size > 0) log.warn({ count: refused.size }, 'wecom recipients refused (invaliduser/unlicenseduser)');
    return { invalid: users.filter((u) => refused.has(u.userId.toLowerCase())), response };
  }

  /** Splits users into those who may get `messages` more now and those over WeCom's per-member limit. */
  async function admitMembers(users: UserRecipient[], messages: number): Promise<{ admitted: UserRecipient[]; later: UserRecipient[] }> {
    // WeCom user ids are case-insensitive: one member, one budget.
    const allowed = await memberLimit.admit(users.map((u) => u.userId.toLowerCase()), messages);
    const admitted = users.filter((u) => allowed.has(u.userId.toLowerCase()));
    const later = users.filter((u) => !allowed.has(u.userId.toLowerCase()));
    if (later.length > 0) log.warn({ count: later.length }, 'wecom: members over 30 messages a minute, their messages wait a minute');
    return { admitted, later };
  }

  async function sendToGroup(group: GroupRecipient, body: MessageBody): Promise<void> {
    await client.post('appchat/send', { chatid: group.groupId, ...body });
  }

  /** A rate limit or "all recipients invalid" concerns the whole delivery, not one call. */
  function runCalls(calls: Call[], concurrency = 1) {
    return runDeliveryCalls(calls, {
      concurrency,
      allRecipientsInvalid: (error) => error.details.errcode === ALL_RECIPIENTS_INVALID,
      haltsDelivery: (error) => error.details.errcode === RATE_LIMITED,
    });
  }

  function sendBodies(recipients: Recipient[], bodies: MessageBody[]) {
    const users = recipients.filter((r): r is UserRecipient => r.kind === 'user');
    const groups = recipients.filter((r): r is GroupRecipient => r.kind === 'group');
    const calls: Call[] = [];
    for (const batch of chunk(users, MAX_USERS_PER_SEND)) {
      calls.push({
        recipients: batch,
        run: async () => {
          // Every part of the message counts for each member: all parts go, or none yet.
          const { admitted, later } = await admitMembers(batch, bodies.length);
          const invalid = new Set<Recipient>();
          if (admitted.length > 0) for (const body of bodies) (await sendToUsers(admitted, body)).invalid.forEach((u) => invalid.add(u));
          return { invalid: [...invalid], retryLater: later };
        },
      });
    }
    for (const group of groups) {
      calls.push({ recipients: [group], run: async () => { for (const body of bodies) await sendToGroup(group, body); } });
    }
    return runCalls(calls);
  }

  /**
   * Each user gets the card in a call of its own: a task id may be used once per app, and the
   * response_code a send returns can update one copy once. Groups get the card as markdown.
   */
  async function deliverCard(recipients: Recipient[], card: Card): Promise<DeliveryOutcome> {
    if (!isInteractive(card)) return sendBodies(recipients, markdownBodies(renderCardAsMarkdown(card)));
    const cardRefs: Record<string, string> = {};
    const cardBatches: CardBatch[] = [];
    const users = recipients.filter((r): r is UserRecipient => r.kind === 'user');
    const groups = recipients.filter((r) => r.kind === 'group');
    const calls: Call[] = card.shared ? sharedCardCalls(users, card, cardBatches) : users.map((user) => ({
      recipients: [user],
      run: async () => {
        if ((await admitMembers([user], 1)).later.length > 0) return { retryLater: [user] };
        const taskId = taskIdForCard(card.cardId);
        const { invalid, response } = await sendToUsers([user], { msgtype: 'template_card', ...renderTemplateCard(card, taskId, 'send') });
        if (typeof response.response_code === 'string' && invalid.length === 0) {
          cardRefs[recipientKey(user)] = encodeCardRef(taskId, response.response_code);
        }
        return { invalid };
      },
    }));
    const outcome = await runCalls(calls, CARD_SEND_CONCURRENCY);
    if (groups.length > 0) {
      const groupOutcome = await sendBodies(groups, markdownBodies(renderCardAsMarkdown(card)));
      outcome.invalid.push(...groupOutcome.invalid);
      outcome.retryLater.push(...groupOutcome.retryLater);
    }
    return { ...outcome, cardRefs, cardBatches };
  }

  /**
   * A shared card (a questionnaire page) goes to up to 1,000 people per call, one task id per call.
   * The send's response_code updates the copies of that call in one update_template_card (userids
   * ≤ 1000), once: it is kept as the call's batch ref. A person who clicks gets a code of their own,
   * with which that person's copy is updated (stored by the card store).
   */
  function sharedCardCalls(users: UserRecipient[], card: Card, batches: CardBatch[]): Call[] {
    return chunk(users, MAX_USERS_PER_SEND).map((batch) => ({
      recipients: batch,
      run: async () => {
        const { admitted, later } = await admitMembers(batch, 1);
        if (admitted.length === 0) return { retryLater: later };
        const taskId = taskIdForCard(card.cardId);
        const { invalid, response } = await sendToUsers(admitted, { msgtype: 'template_card', ...renderTemplateCard(card, taskId, 'send') });
        if (typeof response.response_code === 'string' && response.response_code !== '') {
          const refused = new Set(invalid);
          batches.push({ recipients: admitted.filter((u) => !refused.has(u)), ref: encodeCardRef(taskId, response.response_code) });
        }
        return { invalid, retryLater: later };
      },
    }));
  }

  async function deliverFile(recipients: Recipient[], content: Extract<OutboundContent, { kind: 'file' }>): Promise<DeliveryOutcome> {
    // A media_id lives three days, so each delivery uploads afresh rather than reusing an old one.
    const mediaId = await client.uploadFile(content.fileName, content.mimeType, Buffer.from(content.dataBase64, 'base64'));
    return sendBodies(recipients, [{ msgtype: 'file', file: { media_id: mediaId } }]);
  }

  return {
    name: 'wecom',
    // The per-API limit is 10,000 calls a minute per corp; stay well below it.
    sendRateLimitPerSecond: 50,

    async start(nextSink) {
      sink = nextSink;
    },
    async stop() {
      sink = null;
    },
    routes() {
      return router;
    },

    async deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
      const { content, recipients } = request;
      switch (content.kind) {
        case 'text':
          return sendBodies(recipients, splitByBytes(content.text, MAX_CONTENT_BYTES).map((part) => ({ msgtype: 'text', text: { content: part } })));
        case 'markdown':
          return sendBodies(recipients, markdownBodies(withTitle(content.title, content.markdown)));
        case 'card':
          return deliverCard(recipients, content.card);
        case 'file':
          return deliverFile(recipients, content);
      }
    },

    async updateCard(recipient, ref, card) {
      const parsed = decodeCardRef(ref);
      // Group copies are markdown, which cannot change; an unknown ref cannot be used either.
      if (recipient.kind !== 'user' || !parsed) return;
      await client.post('message/update_template_card', {
        userids: [recipient.userId],
        agentid,
        response_code: parsed.responseCode,
        ...renderTemplateCard(card, parsed.taskId, 'update'),
      });
    },

    /** One update_template_card for the copies of one shared send: its response_code, their userids. */
    async updateCardBatch(batch, recipients, card) {
      const parsed = decodeCardRef(batch.ref);
      const userids = recipients.filter((r): r is UserRecipient => r.kind === 'user').map((u) => u.userId);
      if (!parsed || userids.length === 0) return 'updated';
      if (userids.length > MAX_USERS_PER_SEND) throw new Error(`a WeCom card batch has at most ${MAX_USERS_PER_SEND} people, got ${userids.length}`);
      const age = now() - batch.sentAt;
      if (age > RESPONSE_CODE_MAX_AGE_MS) return 'expired';
      try {
        await client.post('message/update_template_card', { userids, agentid, response_code: parsed.responseCode, ...renderTemplateCard(card, parsed.taskId, 'update') });
      } catch (error) {
        if (error instanceof PlatformApiError && !error.details.retryable && !error.details.configuration && age > RESPONSE_CODE_SAFE_AGE_MS) {
          log.warn({ errcode: error.details.errcode, ageHours: Math.round(age / 3600_000) }, 'wecom refused a send response_code older than 24 h: taken as expired');
          return 'expired';
        }
        throw error;
      }
      return 'updated';
    },

    async downloadFile(file) {
      const got = await client.downloadMedia(file.ref);
      return { data: got.data, name: got.name ?? file.name, mimeType: got.mimeType ?? undefined };
    },

    fetchDirectory() {
      return fetchWecomDirectory(client);
    },

    configurationProblems() {
      return client.configurationProblems();
    },
  };
}

export function withTitle(title: string, markdown: string): string {
  const start = markdown.trimStart();
  if (!title || start.startsWith(`**${title}**`) || /^#{1,6} /.test(start) && start.replace(/^#{1,6} /, '').startsWith(title)) return markdown;
  return `**${title}**\n${markdown}`;
}

/** Every markdown message, cards shown as markdown included, in the subset WeCom renders (no tables). */
function markdownBodies(markdown: string): MessageBody[] {
  return splitByBytes(toWecomMarkdown(markdown), MAX_CONTENT_BYTES).map((part) => ({ msgtype: 'markdown', markdown: { content: part } }));
}

/**
 * Splits text into parts of at most `maxBytes` UTF-8 bytes, at line breaks where possible and never
 * inside a character, so a long summary arrives whole instead of cut off by WeCom.
 */
export function splitByBytes(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxBytes) return [text];
  const parts: string[] = [];
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    if (Buffer.byteLength(current + line) <= maxBytes) {
      current += line;
      continue;
    }
    if (current) parts.push(current);
    current = '';
    for (const char of line) {
      if (Buffer.byteLength(current + char) > maxBytes) {
        parts.push(current);
        current = '';
      }
      current += char;
    }
  }
  if (current) parts.push(current);
  return parts.map((p) => p.replace(/\n+$/, '')).filter((p) => p.length > 0);
}

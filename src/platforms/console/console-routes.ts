import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { CardEntity, OutboundMessageEntity, type OutboundMessageRow } from '../../db/entities/messaging.entity';
import type { DataCipher } from '../../lib/data-cipher';
import type { BotEvent, InboundFile } from '../../core/events';
import { MAX_FILE_BYTES, isAcceptedFileName, mimeTypeFor } from '../../core/file-store';
import type { Card, OutboundContent } from '../../core/messages';
import { readRawBody } from '../../http/raw-body';
import { In } from 'typeorm';

/** The console's message form (PRODUCT.md §7). */
export type ConsoleMessage =
  | { id: number; to: string; text: string }
  | { id: number; to: string; card: Card }
  | { id: number; to: string; file: { name: string; size: number; mimeType: string; url: string } };

export interface ConsoleDeps {
  dataSource: DataSource;
  cipher: DataCipher;
  /** Stores a file a console user sends (as the platforms' downloads are stored), returning its id. */
  storeUpload(file: { name: string; data: Buffer }): Promise<string>;
  /** Stores and processes an event; resolves when its replies are committed. */
  acceptAndProcess(event: BotEvent): Promise<boolean>;
  now?: () => number;
}

const UserId = z.string().trim().min(1).max(64);
const MessageBody = z.object({ from: UserId, text: z.string(), id: z.string().max(100).optional() });
const ActionBody = z.object({
  from: UserId,
  cardId: z.string().min(1).max(64),
  action: z.string().min(1).max(64),
  values: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  id: z.string().max(100).optional(),
});

const FileBody = z.object({
  from: UserId,
  name: z.string().trim().min(1).max(200),
  dataBase64: z.string().min(1),
  caption: z.string().max(4000).optional(),
  id: z.string().max(100).optional(),
});

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** The console platform answers only on the loopback interface: it trusts the `from` it is given. */
export async function loopbackOnly(ctx: Context, next: Next): Promise<void> {
  if (!isLoopback(ctx.req.socket.remoteAddress)) {
    ctx.status = 403;
    ctx.body = { error: 'the console platform answers only on 127.0.0.1 / ::1' };
    return;
  }
  await next();
}

async function readJson<T>(ctx: Context, schema: z.ZodType<T>, limit = 64 * 1024): Promise<T> {
  const raw = await readRawBody(ctx, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    ctx.throw(400, 'body must be JSON');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    ctx.throw(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

export function createConsoleRouter(deps: ConsoleDeps): Router {
  const now = deps.now ?? Date.now;
  const router = new Router({ prefix: '/console' });
  router.use(loopbackOnly);

  const base = (from: string, id?: string) => ({
    id: `console:${id ?? randomUUID()}`,
    platform: 'console' as const,
    senderId: from,
    conversation: { kind: 'direct' as const, id: from },
    receivedAt: now(),
  });

  router.post('/messages', async (ctx) => {
    const body = await readJson(ctx, MessageBody);
    const event: BotEvent = { ...base(body.from, body.id), type: 'message', text: body.text };
    const fresh = await deps.acceptAndProcess(event);
    ctx.body = { duplicate: !fresh || undefined, replies: await repliesTo(deps, event.id, body.from, consoleOrigin(ctx)) };
  });

  router.post('/actions', async (ctx) => {
    const body = await readJson(ctx, ActionBody);
    const event: BotEvent = { ...base(body.from, body.id), type: 'card_action', cardId: body.cardId, action: body.action, values: body.values };
    const fresh = await deps.acceptAndProcess(event);
    ctx.body = { duplicate: !fresh || undefined, replies: await repliesTo(deps, event.id, body.from, consoleOrigin(ctx)) };
  });

  // A file the console user sends: stored at once, then handled as the platforms' file messages are.
  router.post('/files', async (ctx) => {
    const body = await readJson(ctx, FileBody, Math.ceil((MAX_FILE_BYTES * 4) / 3) + 64 * 1024);
    const data = Buffer.from(body.dataBase64, 'base64');
    const tooLarge = data.length > MAX_FILE_BYTES;
    const wrongType = !isAcceptedFileName(body.name);
    const storedFileId = tooLarge || wrongType ? undefined : await deps.storeUpload({ name: body.name, data });
    const file: InboundFile = { name: body.name, ref: storedFileId ?? 'refused', size: data.length, mimeType: mimeTypeFor(body.name), storedFileId };
    if (tooLarge) file.refused = 'too_large';
    else if (wrongType) file.refused = 'type';
    const event: BotEvent = { ...base(body.from, body.id), type: 'file', file, caption: body.caption };
    const fresh = await deps.acceptAndProcess(event);
    ctx.body = { duplicate: !fresh || undefined, replies: await repliesTo(deps, event.id, body.from, consoleOrigin(ctx)) };
  });

  // Downloads a file message of the console inbox (loopback only, as every console route).
  router.get('/files/:id', async (ctx) => {
    const id = Number(ctx.params.id);
    const row = Number.isInteger(id) ? await deps.dataSource.getRepository(OutboundMessageEntity).findOneBy({ id, platform: 'console' }) : null;
    const content = row ? (JSON.parse(deps.cipher.decrypt(row.contentEnc)) as OutboundContent) : null;
    if (!content || content.kind !== 'file') {
      ctx.status = 404;
      ctx.body = { error: 'no such file message' };
      return;
    }
    ctx.set('Content-Type', content.mimeType);
    ctx.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(content.fileName)}`);
    ctx.body = Buffer.from(content.dataBase64, 'base64');
  });

  router.get('/inbox/:user', async (ctx) => {
    const user = UserId.safeParse(ctx.params.user);
    if (!user.success) ctx.throw(400, 'user: expected a user id');
    const rows = await deps.dataSource.getRepository(OutboundMessageEntity).find({
      where: { platform: 'console', recipient: `user:${user.data}`, kind: 'send', status: 'sent' },
      order: { id: 'ASC' },
    });
    ctx.body = { messages: await present(deps, rows, consoleOrigin(ctx)) };
  });

  return router;
}

async function repliesTo(deps: ConsoleDeps, eventId: string, from: string, origin: string): Promise<ConsoleMessage[]> {
  const rows = await deps.dataSource.getRepository(OutboundMessageEntity).find({
    where: { eventId, platform: 'console', recipient: `user:${from}` },
    order: { id: 'ASC' },
  });
  return present(deps, rows, origin);
}

/** Renders stored messages; a card shows its current content and state, as every copy does. */
async function present(deps: ConsoleDeps, rows: OutboundMessageRow[], origin: string): Promise<ConsoleMessage[]> {
  const cardIds = [...new Set(rows.map((r) => r.cardId).filter((id): id is string => Boolean(id)))];
  const cards = cardIds.length ? await deps.dataSource.getRepository(CardEntity).findBy({ id: In(cardIds) }) : [];
  const current = new Map(cards.map((c) => [c.id, { ...(JSON.parse(deps.cipher.decrypt(c.contentEnc)).card as Card), state: c.state }]));
  return rows.map((row) => {
    const to = row.recipient.replace(/^user:/, '');
    const content = JSON.parse(deps.cipher.decrypt(row.contentEnc)) as OutboundContent;
    switch (content.kind) {
      case 'text':
        return { id: row.id, to, text: content.text };
      case 'markdown':
        return { id: row.id, to, text: content.markdown };
      case 'card':
        return { id: row.id, to, card: current.get(content.card.cardId) ?? content.card };
      case 'file':
        return {
          id: row.id,
          to,
          file: { name: content.fileName, size: Buffer.from(content.dataBase64, 'base64').length, mimeType: content.mimeType, url: `${origin}/console/files/${row.id}` },
        };
    }
  });
}

/** Where this console was reached (the loopback address and port), for file download links. */
function consoleOrigin(ctx: Context): string {
  return `${ctx.protocol}://${ctx.host}`;
}

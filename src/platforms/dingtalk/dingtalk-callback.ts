import Router from '@koa/router';
import type { Context } from 'koa';
import { PayloadError, SignatureError } from '../../core/errors';
import { BodyTooLargeError, readRawBody } from '../../http/raw-body';
import type { Logger } from '../../lib/logger';
import type { InboundSink } from '../platform-adapter';
import { verifyCallbackSignature } from './dingtalk-signature';
import { parseRobotMessage, robotMessageToEvent } from './to-bot-event';

export const CALLBACK_PATH = '/dingtalk/callback';
/** Robot messages are a few kilobytes. */
export const MAX_CALLBACK_BODY_BYTES = 256 * 1024;

export interface CallbackDeps {
  appSecret: string;
  log: Logger;
  /** The sink once the adapter has started; until then callbacks get 503. */
  sink: () => InboundSink | null;
  now?: () => number;
}

/**
 * HTTP-mode robot callback (spec §3). The timestamp and sign headers are checked before anything
 * else — the body is not even read for a bad signature; then the message is recorded through the
 * sink and answered with an empty JSON object (replies go out later through the outbox).
 */
export function createCallbackRouter(deps: CallbackDeps): Router {
  const now = deps.now ?? Date.now;
  const router = new Router();

  router.post(CALLBACK_PATH, (ctx) =>
    refuseBadInput(ctx, deps.log, async () => {
      verifyCallbackSignature({ timestamp: ctx.get('timestamp'), sign: ctx.get('sign') }, deps.appSecret, now());
      const sink = deps.sink();
      if (!sink) {
        ctx.status = 503;
        return;
      }
      const raw = await readRawBody(ctx, MAX_CALLBACK_BODY_BYTES);
      const event = robotMessageToEvent(parseRobotMessage(parseJson(raw)), now());
      const fresh = await sink.accept(event);
      deps.log.debug({ eventId: event.id, type: event.type, duplicate: !fresh }, 'dingtalk callback recorded');
      ctx.status = 200;
      ctx.body = {};
    }),
  );

  return router;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PayloadError('dingtalk callback: body is not JSON');
  }
}

/** Refusals get a status without detail; anything else is a server error. */
async function refuseBadInput(ctx: Context, log: Logger, handle: () => Promise<void>): Promise<void> {
  try {
    await handle();
  } catch (error) {
    const status =
      error instanceof BodyTooLargeError ? 413 : error instanceof SignatureError ? 401 : error instanceof PayloadError ? 400 : 0;
    if (status === 0) throw error;
    log.warn({ status, reason: (error as Error).message }, 'dingtalk callback refused');
    ctx.status = status;
    ctx.body = { errcode: status, errmsg: status === 401 ? 'invalid signature' : status === 413 ? 'payload too large' : 'bad request' };
    if (status === 413) ctx.set('Connection', 'close');
  }
}

import Router from '@koa/router';
import { PayloadError } from '../../core/errors';
import { readRawBody } from '../../http/raw-body';
import type { Logger } from '../../lib/logger';
import type { InboundSink } from '../../core/platform-adapter';
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

  router.post(CALLBACK_PATH, async (ctx) => {
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
  });

  return router;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PayloadError('dingtalk callback: body is not JSON');
  }
}

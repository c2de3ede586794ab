import Router from '@koa/router';
import type { Context } from 'koa';
import { answerEmpty } from '../../http/answer-empty';
import { readRawBody } from '../../http/raw-body';
import type { Logger } from '../../lib/logger';
import type { InboundSink } from '../../core/platform-adapter';
import { toBotEvent } from './to-bot-event';
import { openSigned, type SignedParams, type WecomCipherKeys } from './wecom-crypto';
import { extractEncrypt, parseMessageXml } from './wecom-xml';

export const CALLBACK_PATH = '/wecom/callback';
/** WeCom messages are a few kilobytes; anything near this is not from WeCom. */
export const MAX_CALLBACK_BODY_BYTES = 256 * 1024;

export interface CallbackDeps {
  keys: WecomCipherKeys;
  log: Logger;
  /** The sink once the adapter has started; until then callbacks are refused with 503 (WeCom retries). */
  sink: () => InboundSink | null;
  now?: () => number;
}

/**
 * GET: URL verification (echo the decrypted echostr). POST: verify, decrypt, check the corp, parse,
 * record durably through the sink, then answer 200 with an empty body, well inside WeCom's 5 s.
 * The reply never carries content: answers go out later through the outbox.
 */
export function createCallbackRouter(deps: CallbackDeps): Router {
  const now = deps.now ?? Date.now;
  const router = new Router();

  router.get(CALLBACK_PATH, async (ctx) => {
    // Koa has URL-decoded the query; a raw '+' that arrived unencoded would have become a space.
    const echostr = singleParam(ctx.query.echostr).replace(/ /g, '+');
    const plaintext = openSigned(deps.keys, signedParams(ctx), echostr);
    ctx.type = 'text/plain';
    ctx.body = plaintext;
  });

  router.post(CALLBACK_PATH, async (ctx) => {
    const sink = deps.sink();
    if (!sink) {
      ctx.status = 503;
      return;
    }
    const params = signedParams(ctx);
    const raw = await readRawBody(ctx, MAX_CALLBACK_BODY_BYTES);
    const xml = openSigned(deps.keys, params, extractEncrypt(raw.toString('utf8')));
    const event = toBotEvent(parseMessageXml(xml), now());
    if (event) {
      const fresh = await sink.accept(event);
      deps.log.debug({ eventId: event.id, type: event.type, duplicate: !fresh }, 'wecom callback recorded');
    }
    answerEmpty(ctx);
  });

  return router;
}

function singleParam(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}

function signedParams(ctx: Context): SignedParams {
  // Koa's query getter parses the URL again on every read: read it once.
  const query = ctx.query;
  return {
    signature: singleParam(query.msg_signature),
    timestamp: singleParam(query.timestamp),
    nonce: singleParam(query.nonce),
  };
}

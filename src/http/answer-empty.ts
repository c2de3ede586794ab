import type { Context } from 'koa';

/**
 * Answers 200 with an empty body straight on Node's response and tells Koa to leave it alone.
 *
 * On the platform callbacks (the hot path) Koa's own way, `ctx.status = 200; ctx.body = ''`, goes
 * through the body setter and respond(): a content-type lookup and header bookkeeping for a body
 * nobody reads. Measured on loopback at 100 connections, that was about 25 µs of the 80 µs Koa
 * spent on a request. Node still sends `Content-Length: 0` and keeps the connection alive.
 * Errors thrown before this call still reach the error middleware as usual.
 */
export function answerEmpty(ctx: Context): void {
  ctx.respond = false;
  ctx.res.statusCode = 200;
  ctx.res.end();
}

import Koa from 'koa';
import Router from '@koa/router';
import { BotError, ErrorCode } from '../core/errors';
import type { Logger } from '../lib/logger';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.Signature]: 401,
  [ErrorCode.Payload]: 400,
  [ErrorCode.Validation]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
};

export interface Readiness {
  ready: boolean;
  checks: Record<string, unknown>;
}

export interface HttpServerDeps {
  log: Logger;
  routers: Router[];
  readiness(): Promise<Readiness>;
  /** TRUST_PROXY: behind a reverse proxy, the client address is the last X-Forwarded-For entry (the proxy's view). */
  trustProxy?: boolean;
}

/** The Koa app: one error handler at the top, health probes, then every router it is given. */
export function createHttpServer(deps: HttpServerDeps): Koa {
  const app = new Koa();
  app.proxy = deps.trustProxy ?? false;
  // Only the address the proxy itself saw (the last entry): earlier entries are whatever the client sent.
  app.maxIpsCount = 1;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const err = error as { status?: number; statusCode?: number; expose?: boolean; message?: string };
      const status = err.status || err.statusCode || (error instanceof BotError && STATUS_BY_CODE[error.code]) || 500;
      ctx.status = status;
      // Signature failures get no detail; 5xx details stay in the log.
      ctx.body = { error: status === 401 ? 'unauthorized' : status >= 500 ? 'internal error' : (err.message ?? 'bad request') };
      // An oversized body is not read to its end: close the connection after answering.
      if (status === 413) ctx.set('Connection', 'close');
      if (status >= 500) deps.log.error({ err: error, path: ctx.path, ip: ctx.ip }, 'request failed');
      else deps.log.warn({ method: ctx.method, path: ctx.path, status, reason: err.message, ip: ctx.ip }, 'request refused');
    }
  });

  const health = new Router();
  health.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  health.get('/readyz', async (ctx) => {
    const readiness = await deps.readiness();
    ctx.status = readiness.ready ? 200 : 503;
    ctx.body = readiness;
  });
  // Platform callbacks first: a matched route ends the chain, so a callback (the hot path) never
  // runs the other routers' matching.
  for (const router of [...deps.routers, health]) app.use(router.routes()).use(router.allowedMethods());
  return app;
}

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { BodyTooLargeError, readRawBody } from '../../src/http/raw-body';

/** A server whose only route reads the body and reports what readRawBody gave. */
async function serve(limit: number, outcomes: Array<Buffer | Error>): Promise<{ port: number; close(): Promise<void> }> {
  const app = new Koa();
  app.use(async (ctx) => {
    try {
      const body = await readRawBody(ctx, limit);
      outcomes.push(body);
      ctx.body = `${body.length}`;
    } catch (error) {
      outcomes.push(error as Error);
      ctx.status = error instanceof BodyTooLargeError ? 413 : 400;
      ctx.set('Connection', 'close');
    }
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setTimeout(poll, 5));
    poll();
  });
}

describe('readRawBody', () => {
  it('returns the exact bytes of a body sent in several chunks', async () => {
    const outcomes: Array<Buffer | Error> = [];
    const server = await serve(1024, outcomes);
    const bytes = Buffer.from('<xml>心声</xml>'.repeat(20));
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ port: server.port, method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      for (let i = 0; i < bytes.length; i += 7) req.write(bytes.subarray(i, i + 7));
      req.end();
    });
    expect(outcomes).toEqual([bytes]);
    await server.close();
  });

  it('refuses a chunked body that grows past the limit, without a Content-Length to warn of it', async () => {
    const outcomes: Array<Buffer | Error> = [];
    const server = await serve(100, outcomes);
    // The rest of the body is not read: the connection is dropped, so the client sees it end.
    const ending = await new Promise<string>((resolve) => {
      const req = http.request({ port: server.port, method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      req.on('error', () => resolve('connection closed'));
      req.write(Buffer.alloc(60));
      setTimeout(() => req.write(Buffer.alloc(60)), 20);
      setTimeout(() => req.write(Buffer.alloc(60)), 40);
    });
    expect(['status 413', 'connection closed']).toContain(ending);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toBeInstanceOf(BodyTooLargeError);
    await server.close();
  });

  it('gives up on a client that goes away halfway through its body, rather than waiting forever', async () => {
    const outcomes: Array<Buffer | Error> = [];
    const server = await serve(1024, outcomes);
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + 'a'.repeat(40));
    setTimeout(() => socket.destroy(), 20);
    await until(() => outcomes.length > 0);
    expect(Buffer.isBuffer(outcomes[0])).toBe(false);
    expect(outcomes[0]).not.toBeInstanceOf(BodyTooLargeError);
    await server.close();
  });
});

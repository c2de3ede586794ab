import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { isLoopback, loopbackOnly } from '../../src/platforms/console/console-routes';
import { InboundEventEntity } from '../../src/db/entities/messaging.entity';
import type { Context } from 'koa';

describe('the console platform', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.stop());

  it('answers messages and keeps every delivered message in the inbox, oldest first', async () => {
    const chat = consoleClient(t);
    await chat.say('lisi', '帮助');
    await chat.say('lisi', '我的');
    const inbox = await chat.inbox('lisi');
    expect(inbox).toHaveLength(2);
    expect(inbox[0].id).toBeLessThan(inbox[1].id);
    expect(inbox.every((m) => m.to === 'lisi')).toBe(true);
    expect(await chat.inbox('nobody')).toEqual([]);
  });

  it('refuses malformed requests with 400 and stores nothing', async () => {
    await t.request.post('/console/messages').set('content-type', 'application/json').send('{"from":').expect(400);
    const missing = await t.request.post('/console/messages').send({ text: '帮助' }).expect(400);
    expect(missing.body.error).toContain('from');
    await t.request.post('/console/actions').send({ from: 'lisi', action: 'x' }).expect(400);
    await t.request.post('/console/messages').send({ from: 'lisi', text: 'x'.repeat(70 * 1024) }).expect(413);
    expect(await t.app.dataSource.getRepository(InboundEventEntity).count()).toBe(0);
  });

  it('processes a repeated request id once', async () => {
    const first = await t.request.post('/console/messages').send({ from: 'lisi', text: '帮助', id: 'same' }).expect(200);
    const again = await t.request.post('/console/messages').send({ from: 'lisi', text: '帮助', id: 'same' }).expect(200);
    expect(first.body.replies).toHaveLength(1);
    expect(again.body.duplicate).toBe(true);
    expect(await consoleClient(t).inbox('lisi')).toHaveLength(1);
  });

  it('answers a card action on an unknown card with guidance', async () => {
    const replies = await consoleClient(t).act('lisi', 'no-such-card', 'correct');
    expect(replies[0]).toMatchObject({ text: expect.stringContaining('卡片已失效') });
  });

  it('accepts only loopback peers', async () => {
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.5', undefined].some(isLoopback)).toBe(false);
    const ctx = { req: { socket: { remoteAddress: '192.168.1.20' } }, status: 200, body: undefined } as unknown as Context;
    const next = jest.fn();
    await loopbackOnly(ctx, next);
    expect(ctx.status).toBe(403);
    expect(next).not.toHaveBeenCalled();
  });

  it('is not mounted when the console is off', async () => {
    const off = await startTestApp({ env: { CONSOLE: 'off' } });
    try {
      await off.request.post('/console/messages').send({ from: 'lisi', text: '帮助' }).expect(404);
    } finally {
      await off.stop();
    }
  });
});

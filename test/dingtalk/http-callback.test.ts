import crypto from 'node:crypto';
import { createHttpServer } from '../../src/http/create-http-server';
import request from 'supertest';
import { createLogger } from '../../src/lib/logger';
import { createDingtalkAdapter } from '../../src/platforms/dingtalk/dingtalk-adapter';
import { signCallback, verifyCallbackSignature } from '../../src/platforms/dingtalk/dingtalk-signature';
import type { PlatformAdapter } from '../../src/core/platform-adapter';
import { SignatureError } from '../../src/core/errors';
import { robotMessagePayload } from './fake-gateway';
import { CLIENT_SECRET, dingtalkConfig, FakeSink } from './helpers';

const NOW = 1_764_000_000_000;
const HOUR = 3_600_000;

describe('DingTalk HTTP mode: POST /dingtalk/callback', () => {
  let adapter: PlatformAdapter;
  let sink: FakeSink;
  let agent: ReturnType<typeof request>;

  beforeEach(async () => {
    sink = new FakeSink();
    adapter = createDingtalkAdapter({ config: dingtalkConfig({ mode: 'http' }), log: createLogger('silent'), now: () => NOW });
    await adapter.start(sink);
    const koa = createHttpServer({ log: createLogger('silent'), routers: [adapter.routes!()], readiness: async () => ({ ready: true, checks: {} }) });
    agent = request(koa.callback());
  });

  afterEach(() => adapter.stop());

  function post(body: unknown, headers: { timestamp?: string; sign?: string }) {
    const req = agent.post('/dingtalk/callback').set('content-type', 'application/json; charset=utf-8');
    if (headers.timestamp !== undefined) req.set('timestamp', headers.timestamp);
    if (headers.sign !== undefined) req.set('sign', headers.sign);
    return req.send(typeof body === 'string' ? body : JSON.stringify(body));
  }

  const signed = (timestamp: number, secret = CLIENT_SECRET) => ({ timestamp: String(timestamp), sign: signCallback(String(timestamp), secret) });

  it('records a correctly signed message and answers 200', async () => {
    const res = await post(robotMessagePayload({ msgId: 'http-1', text: '我的', senderStaffId: 'u-9' }), signed(NOW - 5000));

    expect(res.status).toBe(200);
    expect(sink.events).toEqual([expect.objectContaining({ id: 'dingtalk:msg:http-1', type: 'message', text: '我的', senderId: 'u-9' })]);
  });

  it('accepts a timestamp slightly ahead of our clock (skew within the hour)', async () => {
    const res = await post(robotMessagePayload(), signed(NOW + 60_000));
    expect(res.status).toBe(200);
  });

  it('refuses a sign made with another secret, and records nothing', async () => {
    const res = await post(robotMessagePayload(), signed(NOW, 'not-the-secret'));

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'unauthorized' });
    expect(sink.events).toHaveLength(0);
  });

  it('refuses a correctly signed but stale timestamp (more than an hour old)', async () => {
    const res = await post(robotMessagePayload(), signed(NOW - HOUR - 1));

    expect(res.status).toBe(401);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses a request without timestamp or sign', async () => {
    expect((await post(robotMessagePayload(), {})).status).toBe(401);
    expect((await post(robotMessagePayload(), { timestamp: String(NOW) })).status).toBe(401);
    expect(sink.events).toHaveLength(0);
  });

  it('checks the signature before reading the body: a forged request with garbage is still 401', async () => {
    const res = await post('not json at all', signed(NOW, 'forged'));
    expect(res.status).toBe(401);
  });

  it('answers 400 to a signed body that is not a robot message', async () => {
    expect((await post('not json', signed(NOW))).status).toBe(400);
    expect((await post({ hello: 'world' }, signed(NOW))).status).toBe(400);
    expect(sink.events).toHaveLength(0);
  });

  it('keeps a redelivered message once (same id)', async () => {
    const payload = robotMessagePayload({ msgId: 'dup' });
    await post(payload, signed(NOW));
    await post(payload, signed(NOW));
    expect(sink.ids).toEqual(new Set(['dingtalk:msg:dup']));
  });
});

describe('verifyCallbackSignature', () => {
  it('accepts exactly the documented HmacSHA256(timestamp + "\\n" + secret) in base64', () => {
    const timestamp = '1577262236757';
    const sign = crypto.createHmac('sha256', 'secret').update(`${timestamp}\nsecret`).digest('base64');
    expect(() => verifyCallbackSignature({ timestamp, sign }, 'secret', 1577262236757)).not.toThrow();
    expect(() => verifyCallbackSignature({ timestamp, sign: sign.slice(0, -2) }, 'secret', 1577262236757)).toThrow(SignatureError);
    expect(() => verifyCallbackSignature({ timestamp: `${timestamp}x`, sign }, 'secret', 1577262236757)).toThrow(SignatureError);
  });
});

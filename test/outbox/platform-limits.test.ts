import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { createSharedKeyedLimit } from '../../src/core/keyed-limit';
import { createSharedLimits } from '../../src/core/platform-limits';
import type { Recipient } from '../../src/core/messages';
import { DingtalkClient } from '../../src/platforms/dingtalk/dingtalk-client';
import { MEMBER_LIMIT, createWecomAdapter } from '../../src/platforms/wecom/wecom-adapter';
import { createWecomClient } from '../../src/platforms/wecom/wecom-client';
import { VECTOR_B, silentLog, wecomConfig } from '../wecom/wecom-fixtures';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';

jest.setTimeout(120_000);

const MINUTE = 60_000;

/** The most times in any window of `windowMs` starting at one of them. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return Math.max(0, ...sorted.map((start) => sorted.filter((at) => at >= start && at < start + windowMs).length));
}

describe('WeCom: at most 30 messages a minute to one member', () => {
  const BASE = 'https://qyapi.test';
  afterEach(() => nock.cleanAll());

  it('a member sent 25 messages at once gets 20 now; the other 5 are handed back to go a minute later', async () => {
    const config = wecomConfig(VECTOR_B, BASE);
    const client = createWecomClient({ apiBase: BASE, corpId: config.corpId, secret: config.secret, log: silentLog, sleep: async () => {} });
    const adapter = createWecomAdapter({ config, log: silentLog, client });
    const sent: string[] = [];
    nock(BASE).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 });
    nock(BASE)
      .post('/cgi-bin/message/send', (body: { touser: string }) => {
        sent.push(body.touser);
        return true;
      })
      .query(true)
      .times(30)
      .reply(200, { errcode: 0, errmsg: 'ok' });
    const zhang: Recipient = { kind: 'user', userId: 'ZhangSan' };
    const li: Recipient = { kind: 'user', userId: 'lisi' };
    const later: Recipient[] = [];
    for (let i = 0; i < 25; i++) {
      const outcome = await adapter.deliver({ recipients: [zhang], content: { kind: 'text', text: `第 ${i} 条` } });
      later.push(...(outcome.retryLater ?? []));
    }
    // Another member is not held back by the first one's messages; case does not make a new member.
    const other = await adapter.deliver({ recipients: [li, { kind: 'user', userId: 'zhangsan' }], content: { kind: 'text', text: '通知' } });
    expect(sent.filter((to) => to === 'ZhangSan')).toHaveLength(MEMBER_LIMIT.burst);
    expect(later).toHaveLength(25 - MEMBER_LIMIT.burst);
    expect(other.retryLater).toEqual([{ kind: 'user', userId: 'zhangsan' }]);
    expect(sent[sent.length - 1]).toBe('lisi');
  });
});

describe.each(testDatabases())('per-member limits shared through the database (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
  });
  afterEach(async () => {
    await t.stop();
  });

  it('two limiters on one database never let a member get more than 30 in any minute, and use that room', async () => {
    let clock = 1_800_000_000_000;
    const make = () => createSharedKeyedLimit({ bucket: 'wecom:m:1000002', rule: MEMBER_LIMIT, transact: t.app.transact, clock: () => clock });
    const [a, b] = [make(), make()];
    const admitted = new Map<string, number[]>([['u1', []], ['u2', []]]);
    // Both instances try to send both members a message every half second for five minutes.
    for (let step = 0; step < 600; step++) {
      for (const limiter of step % 2 ? [a, b] : [b, a]) {
        for (const key of await limiter.admit(['u1', 'u2'])) admitted.get(key)!.push(clock);
      }
      clock += 500;
    }
    for (const times of admitted.values()) {
      expect(busiestWindow(times, MINUTE)).toBeLessThanOrEqual(30);
      // The burst goes at once, then about one every 6 s: 20 + 5 minutes of 10.
      expect(times.slice(0, MEMBER_LIMIT.burst).every((at) => at - times[0] < 10_000)).toBe(true);
      expect(times.length).toBeGreaterThanOrEqual(65);
    }
  });
});

// Several instances share the limits only on MySQL/MariaDB (SQLite serves one instance), so this runs where TEST_MYSQL_URL is set.
(process.env.TEST_MYSQL_URL ? describe : describe.skip)('two instances on one MariaDB share the platforms’ limits', () => {
  let first: TestApp;
  let second: TestApp;
  beforeEach(async () => {
    first = await startTestApp({ database: 'mysql', env: { INSTANCE_ID: 'node-1' } });
    second = await startTestApp({ shareDatabaseOf: first, env: { INSTANCE_ID: 'node-2' } });
  });
  afterEach(async () => {
    await second.app.stop();
    await first.stop();
  });

  it('per member (WeCom): two instances with their own connections never exceed 30 a minute for one member together', async () => {
    let clock = 1_800_000_000_000;
    const limiterOf = (app: TestApp) => createSharedLimits({ transact: app.app.transact, clock: () => clock }).perKey('wecom:m:1000002', MEMBER_LIMIT);
    const [a, b] = [limiterOf(first), limiterOf(second)];
    const times: number[] = [];
    // Both instances at once, as two servers would: their transactions overlap on the same member's row.
    for (let step = 0; step < 240; step++) {
      const [fromA, fromB] = await Promise.all([a.admit(['wangwu']), b.admit(['wangwu'])]);
      for (const got of [fromA, fromB]) if (got.has('wangwu')) times.push(clock);
      clock += 500;
    }
    expect(busiestWindow(times, MINUTE)).toBeLessThanOrEqual(30);
    expect(times.length).toBeGreaterThanOrEqual(30);
  });

  it('per API (DingTalk): two instances calling batchSend together stay under 20 calls a second, never refused', async () => {
    const calls: number[] = [];
    const refused: number[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/v1.0/oauth2/accessToken') return res.end(JSON.stringify({ accessToken: 'T', expireIn: 7200 }));
        const at = Date.now();
        // DingTalk's own limit: 20 calls of one API in any second, refused beyond it.
        if (calls.filter((c) => c > at - 1000).length >= 20) {
          refused.push(at);
          res.statusCode = 403;
          return res.end(JSON.stringify({ code: 'Forbidden.AccessDenied.QpsLimit', message: 'qps limit' }));
        }
        calls.push(at);
        res.end(JSON.stringify({ processQueryKey: 'k', invalidStaffIdList: [], flowControlledStaffIdList: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clientOf = (app: TestApp) => {
      const limits = createSharedLimits({ transact: app.app.transact });
      return new DingtalkClient({
        clientId: 'ding-app',
        clientSecret: 's',
        apiBase: base,
        oapiBase: base,
        log: silentLog,
        callsPerSecond: 20,
        attempts: 1,
        pacerFor: (path, rate) => limits.pacer(`dingtalk:api:${path}`, rate),
      });
    };
    try {
      const send = async (client: DingtalkClient, n: number) => {
        for (let i = 0; i < n; i++) await client.batchSend('robot', [`u${i}`], 'sampleText', { content: '通知' });
      };
      // Each instance alone would go at 20 a second; together they get 20 a second between them.
      await Promise.all([send(clientOf(first), 40), send(clientOf(second), 40)]);
      expect(refused).toEqual([]);
      expect(calls).toHaveLength(80);
      expect(busiestWindow(calls, 1000)).toBeLessThanOrEqual(20);
    } finally {
      server.close();
    }
  });
});

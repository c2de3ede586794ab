import nock from 'nock';
import { PlatformApiError } from '../../src/core/errors';
import { createWecomClient } from '../../src/platforms/wecom/wecom-client';
import { silentLog } from './wecom-fixtures';

const BASE = 'https://qyapi.test';

function clientAt(clock = { now: 1_000_000 }) {
  const delays: number[] = [];
  const client = createWecomClient({
    apiBase: BASE,
    corpId: 'wwcorp',
    secret: 'app-secret',
    log: silentLog,
    now: () => clock.now,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  return { client, delays, clock };
}

const tokenQuery = { corpid: 'wwcorp', corpsecret: 'app-secret' };

function expectApiError(error: unknown, details: Partial<PlatformApiError['details']>) {
  expect(error).toBeInstanceOf(PlatformApiError);
  expect((error as PlatformApiError).details).toMatchObject(details);
}

describe('WeCom client: access token', () => {
  it('fetches the token once and reuses it for later calls', async () => {
    const api = nock(BASE)
      .get('/cgi-bin/gettoken')
      .query(tokenQuery)
      .reply(200, { errcode: 0, access_token: 'TOKEN-1', expires_in: 7200 })
      .post('/cgi-bin/message/send')
      .query({ access_token: 'TOKEN-1' })
      .times(2)
      .reply(200, { errcode: 0, errmsg: 'ok' });
    const { client } = clientAt();
    await client.post('message/send', { a: 1 });
    await client.post('message/send', { a: 2 });
    expect(api.pendingMocks()).toEqual([]);
  });

  it('makes concurrent callers share one gettoken request (single flight)', async () => {
    const api = nock(BASE)
      .get('/cgi-bin/gettoken')
      .query(true)
      .once()
      .delay(20)
      .reply(200, { errcode: 0, access_token: 'TOKEN-1', expires_in: 7200 })
      .get('/cgi-bin/department/simplelist')
      .query({ access_token: 'TOKEN-1' })
      .times(3)
      .reply(200, { errcode: 0, department_id: [] });
    const { client } = clientAt();
    await Promise.all([client.get('department/simplelist'), client.get('department/simplelist'), client.get('department/simplelist')]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('refreshes the token shortly before WeCom says it expires', async () => {
    const api = nock(BASE)
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'OLD', expires_in: 7200 })
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'NEW', expires_in: 7200 })
      .get('/cgi-bin/department/simplelist')
      .query({ access_token: 'OLD' })
      .times(2)
      .reply(200, { errcode: 0 })
      .get('/cgi-bin/department/simplelist')
      .query({ access_token: 'NEW' })
      .reply(200, { errcode: 0 });
    const { client, clock } = clientAt();
    await client.get('department/simplelist');
    clock.now += 6000_000; // 100 minutes: still fresh
    await client.get('department/simplelist');
    clock.now += 1000_000; // 116 minutes: inside the refresh margin before 120
    await client.get('department/simplelist');
    expect(api.pendingMocks()).toEqual([]);
  });

  it.each([40014, 42001, 41001])('on errcode %i fetches a new token and retries the call once', async (errcode) => {
    const api = nock(BASE)
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'REVOKED', expires_in: 7200 })
      .post('/cgi-bin/message/send')
      .query({ access_token: 'REVOKED' })
      .reply(200, { errcode, errmsg: 'invalid access_token' })
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'FRESH', expires_in: 7200 })
      .post('/cgi-bin/message/send', { touser: 'u1' })
      .query({ access_token: 'FRESH' })
      .reply(200, { errcode: 0, errmsg: 'ok' });
    const { client } = clientAt();
    await expect(client.post('message/send', { touser: 'u1' })).resolves.toMatchObject({ errcode: 0 });
    expect(api.pendingMocks()).toEqual([]);
  });
});

describe('WeCom client: failures', () => {
  const withToken = () => nock(BASE).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 });

  it('retries "system busy" (-1) and concurrency limits (45033) with backoff, then succeeds', async () => {
    const api = withToken()
      .post('/cgi-bin/message/send')
      .query(true)
      .reply(200, { errcode: -1, errmsg: 'system busy' })
      .post('/cgi-bin/message/send')
      .query(true)
      .reply(200, { errcode: 45033, errmsg: 'api concurrent out of limit' })
      .post('/cgi-bin/message/send')
      .query(true)
      .reply(200, { errcode: 0 });
    const { client, delays } = clientAt();
    await expect(client.post('message/send', {})).resolves.toMatchObject({ errcode: 0 });
    expect(delays).toEqual([300, 1500]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('gives a retryable error for 45009 (frequency limit) without hammering WeCom', async () => {
    const api = withToken().post('/cgi-bin/message/send').query(true).once().reply(200, { errcode: 45009, errmsg: 'api freq out of limit' });
    const { client, delays } = clientAt();
    const error = await client.post('message/send', {}).catch((e: unknown) => e);
    expectApiError(error, { errcode: 45009, retryable: true, configuration: false });
    expect(delays).toEqual([]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('gives a retryable error after network errors and 5xx answers keep failing', async () => {
    const api = withToken()
      .post('/cgi-bin/message/send')
      .query(true)
      .replyWithError('socket hang up')
      .post('/cgi-bin/message/send')
      .query(true)
      .reply(502, '<html>bad gateway</html>')
      .post('/cgi-bin/message/send')
      .query(true)
      .replyWithError('ECONNRESET');
    const { client } = clientAt();
    const error = await client.post('message/send', {}).catch((e: unknown) => e);
    expectApiError(error, { retryable: true });
    expect(api.pendingMocks()).toEqual([]);
  });

  it('reports a refused secret (40001) as a configuration problem and does not call gettoken again at once', async () => {
    const api = nock(BASE).get('/cgi-bin/gettoken').query(true).once().reply(200, { errcode: 40001, errmsg: 'invalid credential' });
    const { client } = clientAt();
    const first = await client.post('message/send', {}).catch((e: unknown) => e);
    expectApiError(first, { errcode: 40001, retryable: false, configuration: true });
    const second = await client.post('message/send', {}).catch((e: unknown) => e);
    expectApiError(second, { errcode: 40001, configuration: true });
    expect(client.configurationProblems()).toEqual([expect.stringContaining('40001')]);
    expect(client.configurationProblems()[0]).toContain('WECOM_SECRET');
    expect(api.pendingMocks()).toEqual([]);
  });

  it.each([60020, 48002])('reports errcode %i as a configuration problem until the API works again', async (errcode) => {
    const api = withToken()
      .get('/cgi-bin/user/simplelist')
      .query(true)
      .reply(200, { errcode, errmsg: 'not allow' })
      .get('/cgi-bin/user/simplelist')
      .query(true)
      .reply(200, { errcode: 0, userlist: [] });
    const { client } = clientAt();
    const error = await client.get('user/simplelist', { department_id: '1' }).catch((e: unknown) => e);
    expectApiError(error, { errcode, retryable: false, configuration: true });
    expect(client.configurationProblems()).toEqual([expect.stringContaining(String(errcode))]);
    await client.get('user/simplelist', { department_id: '1' });
    expect(client.configurationProblems()).toEqual([]);
    expect(api.pendingMocks()).toEqual([]);
  });

  it('gives a non-retryable error for an ordinary refusal', async () => {
    withToken().post('/cgi-bin/message/send').query(true).reply(200, { errcode: 42014, errmsg: 'taskid has existed' });
    const { client } = clientAt();
    const error = await client.post('message/send', {}).catch((e: unknown) => e);
    expectApiError(error, { errcode: 42014, retryable: false, configuration: false });
    expect(client.configurationProblems()).toEqual([]);
  });
});

describe('WeCom client: media upload', () => {
  it('uploads with type=file as multipart "media", keeping the Chinese file name', async () => {
    let received = '';
    let contentType = '';
    const api = nock(BASE)
      .get('/cgi-bin/gettoken')
      .query(true)
      .reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 })
      .post('/cgi-bin/media/upload', (body) => {
        received = typeof body === 'string' ? body : Buffer.from(body as string, 'hex').toString('utf8');
        return true;
      })
      .query({ access_token: 'T', type: 'file' })
      .reply(function () {
        contentType = String(this.req.headers['content-type']);
        return [200, { errcode: 0, errmsg: '', type: 'file', media_id: 'MEDIA-1', created_at: '1380000000' }];
      });
    const { client } = clientAt();
    const mediaId = await client.uploadFile('2026年第三季度思想动态报告.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', Buffer.from('report-bytes'));
    expect(mediaId).toBe('MEDIA-1');
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(received).toContain('name="media"; filename="2026年第三季度思想动态报告.docx"; filelength=12');
    expect(received).toContain('report-bytes');
    expect(api.pendingMocks()).toEqual([]);
  });
});

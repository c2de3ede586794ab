import nock from 'nock';
import { createLogger } from '../../src/lib/logger';
import { createDingtalkAdapter } from '../../src/platforms/dingtalk/dingtalk-adapter';
import { dingtalkConfig } from './helpers';

const API = 'https://api.dingtalk.test';
const OAPI = 'https://oapi.dingtalk.test';

describe('DingTalk directory sync (DINGTALK_OAPI_BASE)', () => {
  afterEach(() => {
    expect(nock.pendingMocks()).toEqual([]);
  });

  function adapter() {
    return createDingtalkAdapter({
      config: dingtalkConfig(),
      log: createLogger('silent'),
      client: { sleep: async () => undefined },
    });
  }

  function oapi(path: string, body: Record<string, string | number>, result: unknown) {
    return nock(OAPI).post(path, body).query({ access_token: 'tok' }).reply(200, { errcode: 0, errmsg: 'ok', result });
  }

  it('walks departments recursively and pages users with the cursor, merging people in several departments', async () => {
    nock(API).post('/v1.0/oauth2/accessToken').reply(200, { accessToken: 'tok', expireIn: 7200 });
    oapi('/topapi/v2/department/get', { dept_id: 1 }, { dept_id: 1, name: '市局机关' });
    oapi('/topapi/v2/department/listsub', { dept_id: 1 }, [
      { dept_id: 2, name: '综合处', parent_id: 1 },
      { dept_id: 3, name: '政策法规处', parent_id: 1 },
    ]);
    oapi('/topapi/v2/department/listsub', { dept_id: 2 }, [{ dept_id: 4, name: '文秘科', parent_id: 2 }]);
    oapi('/topapi/v2/department/listsub', { dept_id: 3 }, []);
    oapi('/topapi/v2/department/listsub', { dept_id: 4 }, []);
    oapi('/topapi/v2/user/list', { dept_id: 1, cursor: 0, size: 100 }, { has_more: false, list: [{ userid: 'boss', name: '王书记', dept_id_list: [1] }] });
    oapi('/topapi/v2/user/list', { dept_id: 2, cursor: 0, size: 100 }, {
      has_more: true,
      next_cursor: 100,
      list: [{ userid: 'a', name: '甲', dept_id_list: [2, 3] }],
    });
    oapi('/topapi/v2/user/list', { dept_id: 2, cursor: 100, size: 100 }, { has_more: false, list: [{ userid: 'b', name: '乙', dept_id_list: [2] }] });
    oapi('/topapi/v2/user/list', { dept_id: 3, cursor: 0, size: 100 }, { has_more: false, list: [{ userid: 'a', name: '甲', dept_id_list: [2, 3] }] });
    oapi('/topapi/v2/user/list', { dept_id: 4, cursor: 0, size: 100 }, { has_more: false, list: [] });

    const snapshot = await adapter().fetchDirectory!();

    expect(snapshot.departments).toEqual([
      { id: '1', name: '市局机关', parentId: null },
      { id: '2', name: '综合处', parentId: '1' },
      { id: '3', name: '政策法规处', parentId: '1' },
      { id: '4', name: '文秘科', parentId: '2' },
    ]);
    expect(snapshot.people).toEqual([
      { id: 'boss', name: '王书记', departmentIds: ['1'] },
      { id: 'a', name: '甲', departmentIds: ['2', '3'] },
      { id: 'b', name: '乙', departmentIds: ['2'] },
    ]);
  });

  it('fails the sync when the contacts permission is missing, and reports it as a configuration problem', async () => {
    nock(API).post('/v1.0/oauth2/accessToken').reply(200, { accessToken: 'tok', expireIn: 7200 });
    nock(OAPI).post('/topapi/v2/department/get').query(true).reply(200, { errcode: 60011, errmsg: '没有调用该接口的权限' });
    const a = adapter();

    await expect(a.fetchDirectory!()).rejects.toMatchObject({ details: { errcode: 60011, configuration: true } });
    expect(a.configurationProblems!()).toEqual([expect.stringContaining('通讯录')]);
  });
});

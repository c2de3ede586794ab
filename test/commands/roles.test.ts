import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { RoleGrantEntity } from '../../src/db/entities/org.entity';
import { verifyLedger } from '../../src/core/ledger';

describe('联络员 and 角色 through the console platform', () => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  const grants = (personId: string) => t.app.dataSource.getRepository(RoleGrantEntity).findBy({ personId });

  beforeEach(async () => {
    t = await startTestApp();
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('lets the office appoint a liaison, replacing the previous one, and tells both', async () => {
    expect(await chat.sayText('liu', '联络员 办公室 李四')).toContain('已指定 李四 为「办公室」联络员');
    expect((await grants('lisi')).map((g) => [g.role, g.scope])).toEqual([['liaison', 'd1']]);
    expect(await grants('zhangsan')).toEqual([]);
    expect(texts(await chat.inbox('lisi'))).toContain('您已被指定为「办公室」的思想动态信息联络员');
    expect(texts(await chat.inbox('zhangsan'))).toContain('改由 李四 担任');
    expect(await chat.sayText('lisi', '上报 #观察 同事对调休安排有意见')).toContain('S-');
    expect(await chat.sayText('zhangsan', '上报 #观察 同事对调休安排有意见')).toContain('联络员');
  });

  it('refuses 联络员 to anyone but the office, and changes nothing', async () => {
    for (const who of ['wang', 'zhangsan', 'lisi']) {
      expect(await chat.sayText(who, '联络员 办公室 李四')).toContain('仅限机关党委');
    }
    expect(await grants('lisi')).toEqual([]);
  });

  it('answers unknown and ambiguous names with guidance, and changes nothing', async () => {
    expect(await chat.sayText('liu', '联络员 不存在处 李四')).toContain('找不到部门「不存在处」');
    expect(await chat.sayText('liu', '联络员 办公室 查无此人')).toContain('找不到人员「查无此人」');
    expect(await chat.sayText('liu', '联络员 办公室')).toContain('用法：联络员 部门 人员');
    await importSampleOrg(t, { ...SAMPLE_ORG, people: [...SAMPLE_ORG.people, { id: 'lisi2', name: '李四', departmentIds: ['d2'] }] });
    const reply = await chat.sayText('liu', '联络员 办公室 李四');
    expect(reply).toContain('有多个人员叫这个名字');
    expect(reply).toContain('lisi2');
    expect(await grants('lisi')).toEqual([]);
  });

  it('lets the office and the secretary grant and revoke unit roles', async () => {
    expect(await chat.sayText('liu', '角色 李四 分管领导')).toContain('已授予 李四「分管领导」');
    expect((await grants('lisi')).map((g) => g.role)).toEqual(['deputy']);
    expect(texts(await chat.inbox('lisi'))).toContain('您已被授予「分管领导」角色');
    expect(await chat.sayText('wang', '/role lisi -deputy')).toContain('已撤销');
    expect(await grants('lisi')).toEqual([]);
    expect(await chat.sayText('wang', '角色 李四 机关党委')).toContain('已授予');
    expect(await chat.sayText('wang', '角色 李四 机关党委')).toContain('已经是');
  });

  it('refuses 角色 to a deputy, a liaison and staff, and unknown roles to everyone', async () => {
    for (const who of ['zhao', 'zhangsan', 'lisi']) {
      expect(await chat.sayText(who, '角色 李四 机关党委')).toContain('仅限机关党委、党组(党委)书记');
    }
    expect(await chat.sayText('liu', '角色 李四 皇帝')).toContain('不认识的角色');
    expect(await chat.sayText('liu', '角色 李四 联络员')).toContain('联络员 部门 人员');
    expect(await grants('lisi')).toEqual([]);
  });

  it('writes every role change to the ledger, whose chain verifies', async () => {
    await chat.say('liu', '联络员 财务处 钱五');
    await chat.say('liu', '角色 李四 书记');
    const verdict = await verifyLedger(t.app.dataSource);
    expect(verdict.ok).toBe(true);
    const kinds = (await t.app.dataSource.query('SELECT kind FROM ledger_entries ORDER BY id')).map((r: { kind: string }) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['role.liaison', 'role.granted']));
  });
});

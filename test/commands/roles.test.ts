import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { InsightEntity } from '../../src/db/entities/insight.entity';
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

  it('refuses a liaison from another department with the reason, and appoints him only when the office confirms', async () => {
    const refused = await chat.sayText('liu', '联络员 财务处 李四');
    expect(refused).toContain('李四 不在「财务处」（所在部门：「办公室」）');
    expect(refused).toContain('办法第六条');
    expect(refused).toContain('联络员 财务处 李四 确认');
    expect(await grants('lisi')).toEqual([]);
    expect(await chat.sayText('liu', '联络员 财务处 李四 好的')).toContain('用法');
    const confirmed = await chat.sayText('liu', '联络员 财务处 李四 确认');
    expect(confirmed).toContain('已指定 李四 为「财务处」联络员');
    expect(confirmed).toContain('已按您的确认指定');
    expect((await grants('lisi')).map((g) => [g.role, g.scope])).toEqual([['liaison', 'd2']]);
  });

  it('files a liaison’s reports under the department he is liaison of, not his own', async () => {
    await chat.say('liu', '联络员 财务处 李四 确认');
    const card = onlyCard(await chat.say('lisi', '上报 #观察 财务处同事对报销流程有意见'));
    expect(card.fields.find((f) => f.label === '所属部门')?.value).toBe('财务处');
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect(row.departmentId).toBe('d2');
  });

  it('files the reports of a liaison moved to another department under the new one, after the office confirms the move', async () => {
    const asked = await chat.sayText('liu', '联络员 财务处 张三');
    expect(asked).toContain('张三 已是「办公室」的联络员；一人只担任一个部门的联络员');
    expect(asked).toContain('联络员 财务处 张三 确认');
    expect((await grants('zhangsan')).map((g) => g.scope)).toEqual(['d1']);
    const moved = await chat.sayText('liu', '联络员 财务处 张三 确认');
    expect(moved).toContain('张三 不再担任「办公室」联络员，「办公室」现在没有联络员');
    expect((await grants('zhangsan')).map((g) => [g.role, g.scope])).toEqual([['liaison', 'd2']]);
    const card = onlyCard(await chat.say('zhangsan', '上报 #观察 财务处同事对报销流程有意见'));
    expect(card.fields.find((f) => f.label === '所属部门')?.value).toBe('财务处');
    const [row] = await t.app.dataSource.getRepository(InsightEntity).find();
    expect(row.departmentId).toBe('d2');
  });

  it('accepts a liaison from a department below the one he serves without asking', async () => {
    expect(await chat.sayText('liu', '联络员 本单位 钱五')).toContain('已指定 钱五 为「本单位」联络员');
  });

  it('refuses to revoke the last office role, also one’s own, and allows it once someone else has it', async () => {
    const refused = await chat.sayText('liu', '角色 刘主任 -机关党委');
    expect(refused).toContain('没有撤销');
    expect(refused).toContain('最后一名「机关党委」成员');
    expect((await grants('liu')).map((g) => g.role)).toEqual(['office']);
    expect(await chat.sayText('wang', '角色 刘主任 -机关党委')).toContain('最后一名');
    await chat.say('liu', '角色 李四 机关党委');
    expect(await chat.sayText('liu', '角色 刘主任 -机关党委')).toContain('已撤销 刘主任 的「机关党委」角色');
    expect(await grants('liu')).toEqual([]);
  });

  it('grants a second secretary but says one is the norm (Art. 5)', async () => {
    const reply = await chat.sayText('liu', '角色 李四 书记');
    expect(reply).toContain('已授予 李四「党组(党委)书记」角色');
    expect(reply).toMatch(/现有 2 名书记（(王书记、李四|李四、王书记)）/);
    expect(reply).toContain('第五条');
    expect(await chat.sayText('liu', '角色 钱五 分管领导')).not.toContain('注意');
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

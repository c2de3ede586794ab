import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { SAMPLE_ORG, importSampleOrg } from '../helpers/org-fixture';
import { changeRoleFromCli, importOrgFile } from '../../src/cli/org-commands';
import { DepartmentEntity, PersonEntity, RoleGrantEntity } from '../../src/db/entities/org.entity';
import { grantRole } from '../../src/modules/org/org-service';

const HEADER = 'type,id,name,parentId,departmentIds,roles\n';

describe.each(testDatabases())('organisation import rules on %s', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
  });
  afterEach(() => t.stop());

  const write = (name: string, content: string | Buffer) => {
    const file = path.join(t.dataDir, name);
    fs.writeFileSync(file, content);
    return file;
  };
  const grants = (where: Partial<{ personId: string; role: string; scope: string }>) =>
    t.app.dataSource.getRepository(RoleGrantEntity).find({ where: where as never, order: { id: 'ASC' } });
  const liaisonsOf = async (departmentId: string) => (await grants({ role: 'liaison', scope: departmentId })).map((g) => g.personId);
  const count = (entity: typeof PersonEntity | typeof DepartmentEntity) => t.app.dataSource.getRepository(entity).count();
  const withPeople = (people: typeof SAMPLE_ORG.people) => ({ ...SAMPLE_ORG, people });

  describe('one liaison per department (Art. 6)', () => {
    it('refuses a file that gives one department two liaisons, naming both lines, and imports nothing', async () => {
      const csv = write(
        'two.csv',
        HEADER + 'department,d1,办公室,,,\nperson,zhangsan,张三,,d1,liaison\nperson,lisi,李四,,d1,staff;liaison\n',
      );
      const refusal = importOrgFile(t.app, csv);
      await expect(refusal).rejects.toThrow('two.csv 第 4 行，roles：部门 d1 已有联络员 张三（第 3 行）');
      await expect(importOrgFile(t.app, csv)).rejects.toThrow('每个部门只设一名联络员');
      expect(await count(PersonEntity)).toBe(0);
      expect(await grants({})).toEqual([]);
    });

    it('a re-import that moves the liaison to someone else leaves only the new one, and says so', async () => {
      await importSampleOrg(t);
      const moved = withPeople(SAMPLE_ORG.people.map((p) => (p.id === 'zhangsan' ? { ...p, roles: [] } : p.id === 'lisi' ? { ...p, roles: ['liaison'] } : p)));
      const file = write('moved.json', JSON.stringify(moved, null, 2));
      const output = await importOrgFile(t.app, file);
      expect(await liaisonsOf('d1')).toEqual(['lisi']);
      expect(output).toContain('「办公室」联络员由 张三 改为 李四');
    });

    it('a file liaison replaces the one appointed in chat; the database holds one liaison per department on every path', async () => {
      await importSampleOrg(t);
      await t.app.transact((em) => grantRole(em, { personId: 'qianwu', role: 'liaison', scope: 'd2', grantedBy: 'liu' }, Date.now()));
      // A second liaison for d2 by any other path (a direct grant, a concurrent appointment) is refused by the database.
      await expect(t.app.transact((em) => grantRole(em, { personId: 'lisi', role: 'liaison', scope: 'd2', grantedBy: 'liu' }, Date.now()))).rejects.toThrow();
      expect(await liaisonsOf('d2')).toEqual(['qianwu']);
      const file = write('d2.json', JSON.stringify(withPeople([...SAMPLE_ORG.people.filter((p) => p.id !== 'lisi'), { id: 'lisi', name: '李四', departmentIds: ['d2'], roles: ['liaison'] }])));
      expect(await importOrgFile(t.app, file)).toContain('「财务处」联络员由 钱五 改为 李四');
      expect(await liaisonsOf('d2')).toEqual(['lisi']);
    });
    it('a person the file makes liaison of one department stops being liaison of another (his reports go to one)', async () => {
      await importSampleOrg(t);
      await t.app.transact((em) => grantRole(em, { personId: 'zhangsan', role: 'liaison', scope: 'd2', grantedBy: 'liu' }, Date.now()));
      const output = await importOrgFile(t.app, write('again.json', JSON.stringify(SAMPLE_ORG)));
      expect((await grants({ personId: 'zhangsan' })).map((g) => g.scope)).toEqual(['d1']);
      expect(await liaisonsOf('d2')).toEqual([]);
      expect(output).toContain('已导入 again.json：部门 3 个，人员 6 名（新增 0 名）；角色授予 0 项，撤销 1 项。');
      expect(output).toContain('张三 不再担任「财务处」联络员（文件指定其为「办公室」联络员，一人只担任一个部门的联络员）');
    });
  });

  describe('re-import takes away what the file no longer gives', () => {
    it("removes a role an earlier file gave, and keeps roles granted in chat or with xinsheng role", async () => {
      await importSampleOrg(t);
      await changeRoleFromCli(t.app, 'lisi', 'deputy');
      const fewer = withPeople(SAMPLE_ORG.people.map((p) => (p.id === 'zhao' ? { ...p, roles: [] } : p)));
      const output = await importOrgFile(t.app, write('fewer.json', JSON.stringify(fewer)));
      expect(await grants({ personId: 'zhao' })).toEqual([]);
      expect(output).toContain('撤销 赵处长 的「分管领导」（文件不再给出）');
      expect((await grants({ personId: 'lisi' })).map((g) => g.role)).toEqual(['deputy']);
      expect((await grants({ personId: 'wang' })).map((g) => g.role)).toEqual(['secretary']);
    });

    it('a role the file restates becomes the file’s, and leaves with it', async () => {
      await importSampleOrg(t);
      await changeRoleFromCli(t.app, 'lisi', 'deputy');
      await importSampleOrg(t, withPeople(SAMPLE_ORG.people.map((p) => (p.id === 'lisi' ? { ...p, roles: ['deputy'] } : p))));
      await importSampleOrg(t);
      expect(await grants({ personId: 'lisi' })).toEqual([]);
    });

    it('leaves people the file does not list as they are (a partial file)', async () => {
      await importSampleOrg(t);
      await importOrgFile(t.app, write('part.csv', HEADER + 'department,d3,人事处,root,,\nperson,sunliu,孙六,,d3,liaison\n'));
      expect(await liaisonsOf('d1')).toEqual(['zhangsan']);
      expect(await liaisonsOf('d3')).toEqual(['sunliu']);
    });
  });

  describe('the office', () => {
    it('refuses a re-import that would leave nobody in the office, and changes nothing', async () => {
      await importSampleOrg(t);
      const noOffice = withPeople(SAMPLE_ORG.people.map((p) => (p.id === 'liu' ? { ...p, roles: [] } : p.id === 'lisi' ? { ...p, name: '李四改' } : p)));
      await expect(importOrgFile(t.app, write('no-office.json', JSON.stringify(noOffice)))).rejects.toThrow('导入后将没有人担任「机关党委」');
      expect((await grants({ personId: 'liu' })).map((g) => g.role)).toEqual(['office']);
      expect((await t.app.dataSource.getRepository(PersonEntity).findOneByOrFail({ id: 'lisi' })).name).toBe('李四');
    });

    it('refuses to revoke the last office member from the command line, and allows it once another is granted', async () => {
      await importSampleOrg(t);
      await expect(changeRoleFromCli(t.app, 'liu', '-office')).rejects.toThrow('最后一名「机关党委」成员');
      expect((await grants({ personId: 'liu' })).map((g) => g.role)).toEqual(['office']);
      await changeRoleFromCli(t.app, 'lisi', 'office');
      expect(await changeRoleFromCli(t.app, 'liu', '-office')).toContain('已撤销');
    });

    it('lets only one of two office members revoked at the same moment go', async () => {
      await importSampleOrg(t);
      await changeRoleFromCli(t.app, 'lisi', 'office');
      const outcomes = await Promise.allSettled([changeRoleFromCli(t.app, 'liu', '-office'), changeRoleFromCli(t.app, 'lisi', '-office')]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(await grants({ role: 'office' })).toHaveLength(1);
    });

    it('grants a second secretary but says that one is the norm, from the command line and in an import', async () => {
      await importSampleOrg(t);
      const output = await changeRoleFromCli(t.app, 'lisi', 'secretary');
      expect(output).toContain('已授予 李四（lisi）「党组(党委)书记」角色');
      expect(output).toContain('现有 2 名书记（');
      expect(output).toContain('一般只设一名书记');
      const two = withPeople(SAMPLE_ORG.people.map((p) => (p.id === 'zhao' ? { ...p, roles: ['secretary'] } : p)));
      expect(await importOrgFile(t.app, write('two-secretaries.json', JSON.stringify(two)))).toContain('一般只设一名书记');
    });
  });

  describe('departments', () => {
    it('refuses departments in a cycle, naming the line', async () => {
      const csv = write('cycle.csv', HEADER + 'department,a,甲处,b,,\ndepartment,b,乙处,a,,\n');
      await expect(importOrgFile(t.app, csv)).rejects.toThrow('cycle.csv 第 2 行，parentId：上级部门形成循环：a → b → a');
      await expect(importOrgFile(t.app, write('self.csv', HEADER + 'department,a,甲处,a,,\n'))).rejects.toThrow('第 2 行，parentId：上级部门形成循环：a → a');
      expect(await count(DepartmentEntity)).toBe(0);
    });

    it('refuses a cycle that goes through departments already in the database', async () => {
      await importSampleOrg(t);
      const csv = write('through.csv', HEADER + 'department,d3,人事处,d1,,\ndepartment,d1,办公室,d3,,\n');
      await expect(importOrgFile(t.app, csv)).rejects.toThrow('through.csv 第 2 行，parentId：上级部门形成循环：d3 → d1 → d3');
      const json = write('root.json', JSON.stringify({ departments: [{ id: 'root', name: '本单位', parentId: 'd2' }] }, null, 2));
      await expect(importOrgFile(t.app, json)).rejects.toThrow('root.json 第 3 行（departments[0]），parentId：上级部门形成循环：root → d2 → root');
      expect((await t.app.dataSource.getRepository(DepartmentEntity).findOneByOrFail({ id: 'root' })).parentId).toBeNull();
    });

    it('accepts a file naming parent departments and departments already in the database', async () => {
      await importSampleOrg(t);
      const csv = write('add.csv', HEADER + 'department,d11,文秘科,d1,,\nperson,zhouqi,周七,,d11;d2,\n');
      expect(await importOrgFile(t.app, csv)).toContain('部门 1 个，人员 1 名');
      expect((await t.app.dataSource.getRepository(DepartmentEntity).findOneByOrFail({ id: 'd11' })).parentId).toBe('d1');
    });

    it('names the CSV line and field of an unknown parent, in Chinese', async () => {
      const csv = write('unknown.csv', HEADER + 'department,d1,办公室,,,\ndepartment,d2,财务处,d9,,\n');
      await expect(importOrgFile(t.app, csv)).rejects.toThrow(/^unknown\.csv 第 3 行，parentId：找不到部门 d9/);
      const dup = write('dup.csv', HEADER + 'department,d1,办公室,,,\ndepartment,d1,财务处,,,\n');
      await expect(importOrgFile(t.app, dup)).rejects.toThrow('dup.csv 第 3 行，id：部门编号 d1 重复（第 2 行已有）');
      expect(await count(DepartmentEntity)).toBe(0);
    });
  });

  describe('encodings', () => {
    const csvText = HEADER + 'department,d1,办公室,,,\nperson,ouyang,欧阳娜娜,,d1,liaison\nperson,zhangsan,张三,,d1,\n';
    const names = async () => (await t.app.dataSource.getRepository(PersonEntity).find({ order: { id: 'ASC' } })).map((p) => p.name);

    it('reads a GBK CSV as Excel saves it on Chinese Windows', async () => {
      const output = await importOrgFile(t.app, write('gbk.csv', iconv.encode(csvText.replace(/\n/g, '\r\n'), 'gbk')));
      expect(await names()).toEqual(['欧阳娜娜', '张三']);
      expect((await t.app.dataSource.getRepository(DepartmentEntity).findOneByOrFail({ id: 'd1' })).name).toBe('办公室');
      expect(output).toContain('GBK');
    });

    it('reads UTF-8 with and without BOM', async () => {
      await importOrgFile(t.app, write('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csvText)])));
      expect(await names()).toEqual(['欧阳娜娜', '张三']);
      await importOrgFile(t.app, write('plain.csv', csvText.replace('张三', '张三丰')));
      expect(await names()).toEqual(['欧阳娜娜', '张三丰']);
    });

    it('refuses a file it cannot decode, in Chinese, and imports nothing', async () => {
      const garbage = Buffer.concat([Buffer.from(HEADER + 'person,p1,'), Buffer.from([0x80, 0xff, 0x80, 0xff, 0xfe, 0x80]), Buffer.from(',,,\n')]);
      await expect(importOrgFile(t.app, write('garbage.csv', garbage))).rejects.toThrow('garbage.csv：无法识别文件的编码');
      await expect(importOrgFile(t.app, write('garbage.csv', garbage))).rejects.toThrow('CSV UTF-8');
      expect(await count(PersonEntity)).toBe(0);
    });

    it('refuses a Big5 file rather than import it as garbled simplified names', async () => {
      const traditional = ['陳偉強', '黃志明', '張家豪', '林美玲', '王淑芬', '李建國', '吳怡君', '劉俊傑', '蔡佩珊', '楊宗翰', '許雅婷', '鄭文雄'];
      const big5 = iconv.encode(HEADER + 'department,d1,辦公室,,,\n' + traditional.map((name, i) => `person,p${i},${name},,d1,\n`).join(''), 'big5');
      await expect(importOrgFile(t.app, write('big5.csv', big5))).rejects.toThrow('big5.csv：无法识别文件的编码');
      expect(await count(PersonEntity)).toBe(0);
    });
  });
});

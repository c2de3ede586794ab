import fs from 'node:fs';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { SAMPLE_ORG, importSampleOrg } from '../helpers/org-fixture';
import { importOrgFile, changeRoleFromCli } from '../../src/cli/org-commands';
import { DepartmentEntity, PersonDepartmentEntity, PersonEntity, RoleGrantEntity } from '../../src/db/entities/org.entity';

describe.each(testDatabases())('organisation import on %s', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
  });
  afterEach(() => t.stop());

  const write = (name: string, text: string) => {
    const file = path.join(t.dataDir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const count = (entity: typeof PersonEntity | typeof DepartmentEntity) => t.app.dataSource.getRepository(entity).count();

  it('loads departments, people and roles from JSON, and a re-import updates in place', async () => {
    await importSampleOrg(t);
    expect(await count(DepartmentEntity)).toBe(3);
    expect(await count(PersonEntity)).toBe(6);
    const liaison = await t.app.dataSource.getRepository(RoleGrantEntity).findOneByOrFail({ personId: 'zhangsan' });
    expect([liaison.role, liaison.scope]).toEqual(['liaison', 'd1']);

    const renamed = { ...SAMPLE_ORG, people: SAMPLE_ORG.people.map((p) => (p.id === 'lisi' ? { ...p, name: '李四新', departmentIds: ['d2'] } : p)) };
    await importSampleOrg(t, renamed);
    expect(await count(PersonEntity)).toBe(6);
    expect((await t.app.dataSource.getRepository(PersonEntity).findOneByOrFail({ id: 'lisi' })).name).toBe('李四新');
    expect(await t.app.dataSource.getRepository(PersonDepartmentEntity).findBy({ personId: 'lisi' })).toEqual([{ personId: 'lisi', departmentId: 'd2' }]);
  });

  it('loads the documented CSV columns, with quoted fields', async () => {
    const file = write(
      'org.csv',
      'type,id,name,parentId,departmentIds,roles\n' +
        'department,root,本单位,,,\n' +
        'department,d1,"办公室, 综合科",root,,\n' +
        'person,wang,王书记,,root,secretary\n' +
        'person,zhangsan,张三,,d1;root,liaison\n',
    );
    expect(await importOrgFile(t.app, file)).toContain('部门 2 个，人员 2 名');
    expect((await t.app.dataSource.getRepository(DepartmentEntity).findOneByOrFail({ id: 'd1' })).name).toBe('办公室, 综合科');
    expect(await t.app.dataSource.getRepository(PersonDepartmentEntity).countBy({ personId: 'zhangsan' })).toBe(2);
  });

  it('reports the line and field of a malformed file and imports nothing', async () => {
    const csv = write('bad.csv', 'type,id,name,parentId,departmentIds,roles\ndepartment,d1,办公室,,,\nperson,p1,,,d1,\n');
    await expect(importOrgFile(t.app, csv)).rejects.toThrow('bad.csv 第 3 行，name：不能为空');
    const json = write('bad.json', JSON.stringify({ departments: [{ id: 'd1', name: '办公室' }], people: [{ id: 'p1', name: '甲', departmentIds: ['d9'] }] }));
    await expect(importOrgFile(t.app, json)).rejects.toThrow('bad.json 第 1 行（people[0]），departmentIds：找不到部门 d9');
    await expect(importOrgFile(t.app, write('broken.json', '{"departments": ['))).rejects.toThrow(/broken\.json：不是有效的 JSON/);
    await expect(importOrgFile(t.app, write('role.json', JSON.stringify({ people: [{ id: 'p', name: '甲', roles: ['king'] }] })))).rejects.toThrow(
      'role.json 第 1 行（people[0]），roles：不认识「king」，可用：staff、liaison、office、deputy、secretary',
    );
    expect(await count(DepartmentEntity)).toBe(0);
    expect(await count(PersonEntity)).toBe(0);
  });

  it('imports the example files of the README, and the CSV re-import after the JSON changes no role', async () => {
    const examples = path.join(__dirname, '../../examples');
    expect(await importOrgFile(t.app, path.join(examples, 'org.json'))).toContain('已导入 org.json：部门 3 个，人员 6 名（新增 6 名）；角色授予 4 项，撤销 0 项。');
    expect(await importOrgFile(t.app, path.join(examples, 'org.csv'))).toContain('角色授予 0 项，撤销 0 项');
    expect(await t.app.dataSource.getRepository(RoleGrantEntity).count()).toBe(4);
  });

  it('grants and revokes a role from the command line, refusing unknown people and roles', async () => {
    await importSampleOrg(t);
    expect(await changeRoleFromCli(t.app, '李四', 'office')).toContain('已授予 李四（lisi）「机关党委」角色');
    expect(await t.app.dataSource.getRepository(RoleGrantEntity).countBy({ personId: 'lisi', role: 'office' })).toBe(1);
    expect(await changeRoleFromCli(t.app, 'lisi', '-office')).toContain('已撤销 李四（lisi）的「机关党委」角色');
    expect(await t.app.dataSource.getRepository(RoleGrantEntity).countBy({ personId: 'lisi', role: 'office' })).toBe(0);
    await expect(changeRoleFromCli(t.app, 'nobody', 'office')).rejects.toThrow('找不到人员「nobody」');
    await expect(changeRoleFromCli(t.app, 'lisi', 'king')).rejects.toThrow('不认识的角色「king」');
    await expect(changeRoleFromCli(t.app, 'lisi', 'liaison')).rejects.toThrow('联络员 部门 人员');
  });
});

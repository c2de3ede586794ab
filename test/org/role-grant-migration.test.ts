import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { RoleGrantEntity } from '../../src/db/entities/org.entity';
import { migrations } from '../../migrations';

describe.each(testDatabases())('the role-grant migration on existing data (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
  });
  afterEach(() => t.stop());

  it('keeps the latest of two liaisons of a department, marks file-made liaisons as the file’s, and then refuses a second', async () => {
    // Back to the schema just before this migration (the later ones undone first).
    const later = migrations.slice(migrations.findIndex((m) => m.name === 'RoleGrantSource1764510000000')).map((m) => m.name);
    for (let i = 0; i < later.length; i++) await t.app.dataSource.undoLastMigration();
    const insert = (personId: string, role: string, scope: string, grantedBy: string | null, at: number) =>
      t.app.dataSource.query('INSERT INTO role_grants (person_id, role, scope, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)', [personId, role, scope, grantedBy, at]);
    await insert('zhangsan', 'liaison', 'd1', null, 1);
    await insert('lisi', 'liaison', 'd1', 'liu', 2);
    await insert('qianwu', 'liaison', 'd2', null, 3);
    await insert('liu', 'office', '', null, 4);
    expect(await t.app.migrate()).toEqual(later);
    const rows = await t.app.dataSource.getRepository(RoleGrantEntity).find({ order: { id: 'ASC' } });
    expect(rows.map((g) => [g.personId, g.role, g.scope, g.source, g.liaisonDepartment])).toEqual([
      ['lisi', 'liaison', 'd1', 'manual', 'd1'],
      ['qianwu', 'liaison', 'd2', 'import', 'd2'],
      ['liu', 'office', '', 'manual', null],
    ]);
    await expect(insert('zhangsan', 'liaison', 'd2', null, 5).then(() => t.app.dataSource.query("UPDATE role_grants SET liaison_department = 'd2' WHERE person_id = 'zhangsan'"))).rejects.toThrow();
  });
});

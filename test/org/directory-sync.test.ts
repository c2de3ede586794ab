import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import type { DeliveryRequest, DirectorySnapshot, PlatformAdapter } from '../../src/core/platform-adapter';
import { PersonEntity, DepartmentEntity } from '../../src/db/entities/org.entity';

/** A platform whose directory is whatever the test says, and which records deliveries. */
function directoryPlatform(snapshot: () => DirectorySnapshot) {
  const delivered: DeliveryRequest[] = [];
  const adapter: PlatformAdapter = {
    name: 'wecom',
    async start() {},
    async stop() {},
    async deliver(request) {
      delivered.push(request);
      return {};
    },
    fetchDirectory: async () => snapshot(),
  };
  return { adapter, delivered };
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

describe('同步通讯录 and xinsheng org sync', () => {
  let t: TestApp;
  let directory: DirectorySnapshot;
  let platform: ReturnType<typeof directoryPlatform>;

  beforeEach(async () => {
    directory = {
      departments: [{ id: 'root', name: '本单位' }, { id: 'd1', name: '办公室', parentId: 'root' }, { id: 'd3', name: '新设处', parentId: 'root' }],
      people: [
        { id: 'liu', name: '刘主任', departmentIds: ['root'] },
        { id: 'zhangsan', name: '张三', departmentIds: ['d1'] },
        { id: 'sunliu', name: '孙六', departmentIds: ['d3'] },
      ],
    };
    platform = directoryPlatform(() => directory);
    t = await startTestApp({ appOptions: { adapters: [platform.adapter] } });
    await importSampleOrg(t);
    await t.app.dataSource.query("UPDATE people SET platform = 'wecom'");
    await t.app.dataSource.query("UPDATE departments SET platform = 'wecom'");
  });
  afterEach(() => t.stop());

  it('lets the office sync: upserts, marks people who left inactive (never deletes), and reports back', async () => {
    expect(await consoleClient(t).sayText('liu', '同步通讯录')).toContain('正在同步通讯录');
    const report = await until(async () => {
      await t.app.outbox.runOnce();
      const sent = platform.delivered.find((d) => d.content.kind === 'text' && d.content.text.includes('通讯录'));
      return sent?.content.kind === 'text' ? sent.content.text : undefined;
    });
    expect(report).toContain('通讯录已同步');
    expect(report).toContain('新增 1');
    const people = t.app.dataSource.getRepository(PersonEntity);
    expect((await people.findOneByOrFail({ id: 'sunliu' })).active).toBe(true);
    expect((await people.findOneByOrFail({ id: 'lisi' })).active).toBe(false);
    expect(await people.count()).toBe(7);
    expect((await t.app.dataSource.getRepository(DepartmentEntity).findOneByOrFail({ id: 'd2' })).active).toBe(false);
  });

  it('leaves departments it did not sync alone: one imported from a file stays active', async () => {
    await t.app.dataSource.query("UPDATE departments SET platform = NULL WHERE id = 'd2'");
    expect(await t.app.syncDirectories()).toHaveLength(1);
    const departments = t.app.dataSource.getRepository(DepartmentEntity);
    expect((await departments.findOneByOrFail({ id: 'd2' })).active).toBe(true);
    expect((await departments.findOneByOrFail({ id: 'd3' })).platform).toBe('wecom');
  });

  it('refuses staff and syncs from the command line too', async () => {
    expect(await consoleClient(t).sayText('lisi', '同步通讯录')).toContain('仅限机关党委');
    expect(await t.app.syncDirectories()).toEqual(['企业微信：部门 3 个，人员 3 人（新增 1，离开 4）']);
  });

  it('tells the office when the directory cannot be read', async () => {
    platform.adapter.fetchDirectory = async () => {
      throw new Error('60020 IP 不在可信列表');
    };
    await consoleClient(t).say('liu', '同步通讯录');
    const report = await until(async () => {
      await t.app.outbox.runOnce();
      const sent = platform.delivered.find((d) => d.content.kind === 'text' && d.content.text.includes('通讯录同步失败'));
      return sent ? 'seen' : undefined;
    });
    expect(report).toBe('seen');
    expect((await t.app.dataSource.getRepository(PersonEntity).findOneByOrFail({ id: 'lisi' })).active).toBe(true);
  });
});

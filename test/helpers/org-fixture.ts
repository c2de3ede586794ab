import fs from 'node:fs';
import path from 'node:path';
import type { TestApp } from './test-app';
import { importOrgFile } from '../../src/cli/org-commands';

/**
 * A small unit: 办公室 (d1) and 财务处 (d2) under the unit (root); 王书记 secretary, 赵处长 deputy,
 * 刘主任 office, 张三 liaison of 办公室, 李四 staff of 办公室, 钱五 staff of 财务处.
 */
export const SAMPLE_ORG = {
  departments: [
    { id: 'root', name: '本单位' },
    { id: 'd1', name: '办公室', parentId: 'root' },
    { id: 'd2', name: '财务处', parentId: 'root' },
  ],
  people: [
    { id: 'wang', name: '王书记', departmentIds: ['root'], roles: ['secretary'] },
    { id: 'zhao', name: '赵处长', departmentIds: ['root'], roles: ['deputy'] },
    { id: 'liu', name: '刘主任', departmentIds: ['root'], roles: ['office'] },
    { id: 'zhangsan', name: '张三', departmentIds: ['d1'], roles: ['liaison'] },
    { id: 'lisi', name: '李四', departmentIds: ['d1'] },
    { id: 'qianwu', name: '钱五', departmentIds: ['d2'] },
  ],
};

export async function importSampleOrg(testApp: TestApp, org: unknown = SAMPLE_ORG): Promise<void> {
  const file = path.join(testApp.dataDir, `org-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(org));
  await importOrgFile(testApp.app, file);
}

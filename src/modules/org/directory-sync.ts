import type { Transact } from '../../db/data-source';
import type { DirectorySnapshot } from '../../core/platform-adapter';
import { appendLedger } from '../../core/ledger';
import { applyOrgSnapshot, type OrgChangeSummary } from './org-sync';

export interface DirectorySource {
  platform: string;
  fetch(): Promise<DirectorySnapshot>;
}

/**
 * Reads each platform's directory (slow, paged API calls) outside any transaction, then applies it
 * in one short transaction per platform, with a ledger entry.
 */
export async function syncDirectories(
  sources: DirectorySource[],
  transact: Transact,
  now: () => number,
): Promise<(OrgChangeSummary & { platform: string })[]> {
  const results: (OrgChangeSummary & { platform: string })[] = [];
  for (const source of sources) {
    const snapshot = await source.fetch();
    const summary = await transact(async (em) => {
      const applied = await applyOrgSnapshot(em, snapshot, { platform: source.platform, deactivateMissingFrom: source.platform, now: now() });
      await appendLedger(em, { kind: 'org.synced', subjectType: 'platform', subjectId: source.platform, data: { ...applied } }, now());
      return applied;
    });
    results.push({ platform: source.platform, ...summary });
  }
  return results;
}

export function describeSync(result: OrgChangeSummary & { platform: string }): string {
  const name = { wecom: '企业微信', dingtalk: '钉钉' }[result.platform] ?? result.platform;
  return `${name}：部门 ${result.departments} 个，人员 ${result.people} 人（新增 ${result.created}，离开 ${result.deactivated}）`;
}

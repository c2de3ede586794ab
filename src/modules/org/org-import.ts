import { In, type EntityManager } from 'typeorm';
import { DepartmentEntity, PersonEntity, RoleGrantEntity, type GrantableRole } from '../../db/entities/org.entity';
import { appendLedger } from '../../core/ledger';
import { peopleWithRole } from '../../core/actor';
import { ValidationError } from '../../core/errors';
import { ROLE_LABELS } from '../../domain/glossary';
import { applyOrgSnapshot, type OrgChangeSummary } from './org-sync';
import { entryError, type ParsedOrgFile } from './org-file';
import { grantRole, secretaryNote } from './org-service';

export interface OrgImportReport extends OrgChangeSummary {
  rolesGranted: number;
  rolesRevoked: number;
  /** Role changes and warnings, one readable line each, for the office. */
  notes: string[];
}

/**
 * Imports a checked file in the caller's transaction: first what only the database can tell
 * (parents and departments already there, cycles through them), then departments and people, then
 * the file's roles; a refusal anywhere rolls all of it back.
 */
export async function importOrg(em: EntityManager, file: ParsedOrgFile, now: number): Promise<OrgImportReport> {
  await checkAgainstDatabase(em, file);
  const officeBefore = await peopleWithRole(em, 'office');
  const summary = await applyOrgSnapshot(em, file.org, { platform: null, now });
  const roles = await applyFileRoles(em, file, now);
  if (officeBefore.length > 0 && (await peopleWithRole(em, 'office')).length === 0) {
    throw new ValidationError(
      `${file.fileName}：导入后将没有人担任「机关党委」（${officeBefore.map((p) => p.name).join('、')} 的机关党委角色是此前的文件给的，这个文件不再给出），已取消导入，什么也没有改变。请在文件中保留至少一名机关党委成员（roles 写 office）。`,
    );
  }
  const note = await secretaryNote(em);
  if (note) roles.notes.push(note);
  const report = { ...summary, ...roles };
  await appendLedger(
    em,
    {
      kind: 'org.imported',
      subjectType: 'file',
      subjectId: file.fileName.slice(0, 64),
      data: { departments: report.departments, people: report.people, created: report.created, rolesGranted: report.rolesGranted, rolesRevoked: report.rolesRevoked },
    },
    now,
  );
  return report;
}

/** Parents and departments may be in the file or already in the database; a parent chain must end. */
async function checkAgainstDatabase(em: EntityManager, file: ParsedOrgFile): Promise<void> {
  const stored = await em.find(DepartmentEntity, { select: { id: true, parentId: true } });
  const parentOf = new Map<string, string | null>(stored.map((d) => [d.id, d.parentId]));
  for (const d of file.org.departments) parentOf.set(d.id, d.parentId ?? null);
  file.org.departments.forEach((d, i) => {
    if (d.parentId && !parentOf.has(d.parentId)) throw entryError(file, 'departments', i, 'parentId', `找不到部门 ${d.parentId}（文件和系统中都没有）`);
    const cycle = cycleFrom(d.id, parentOf);
    if (cycle) throw entryError(file, 'departments', i, 'parentId', `上级部门形成循环：${cycle.join(' → ')}，请改正其中一个部门的 parentId`);
  });
  file.org.people.forEach((p, i) => {
    const unknown = p.departmentIds.find((id) => !parentOf.has(id));
    if (unknown) throw entryError(file, 'people', i, 'departmentIds', `找不到部门 ${unknown}（文件和系统中都没有）`);
  });
}

/** The chain `a → b → a` when walking up from `start` comes back to it. */
function cycleFrom(start: string, parentOf: Map<string, string | null>): string[] | null {
  const chain = [start];
  const seen = new Set(chain);
  for (let at = parentOf.get(start); at; at = parentOf.get(at)) {
    if (at === start) return [...chain, start];
    if (seen.has(at)) return null; // a loop further up, reported at its own department
    seen.add(at);
    chain.push(at);
  }
  return null;
}

type GrantKey = `${GrantableRole}:${string}`;

/**
 * The file manages the roles it gives (README, organisation files): for each person it lists, a
 * role an earlier file gave and this one no longer gives is taken away; roles granted in chat or
 * with `xinsheng role` stay. A department the file gives a liaison has that one liaison: the
 * previous one, however appointed, is replaced (Art. 6). A role the file restates becomes the file's.
 */
async function applyFileRoles(em: EntityManager, file: ParsedOrgFile, now: number): Promise<Pick<OrgImportReport, 'rolesGranted' | 'rolesRevoked' | 'notes'>> {
  const notes: string[] = [];
  let rolesGranted = 0;
  let rolesRevoked = 0;
  const listed = file.org.people.map((p) => p.id);
  if (listed.length === 0) return { rolesGranted, rolesRevoked, notes };
  const names = await personNames(em, listed);
  const departmentNames = new Map((await em.find(DepartmentEntity, { select: { id: true, name: true } })).map((d) => [d.id, d.name]));
  const describe = (role: GrantableRole, scope: string) => (role === 'liaison' ? `「${departmentNames.get(scope) ?? scope}」联络员` : `「${ROLE_LABELS[role]}」`);

  const wanted = new Map<string, Set<GrantKey>>();
  for (const p of file.org.people) {
    const keys = (p.roles ?? []).filter((r) => r !== 'staff').map((r): GrantKey => `${r}:${r === 'liaison' ? p.departmentIds[0] : ''}`);
    wanted.set(p.id, new Set(keys));
  }

  const liaisonIn = new Map(file.org.people.filter((p) => p.roles?.includes('liaison')).map((p) => [p.id, p.departmentIds[0]]));
  for (const p of file.org.people.filter((q) => liaisonIn.has(q.id))) {
    const department = p.departmentIds[0];
    const previous = await em.findBy(RoleGrantEntity, { role: 'liaison', scope: department });
    for (const grant of previous.filter((g) => g.personId !== p.id)) {
      await em.delete(RoleGrantEntity, { id: grant.id });
      rolesRevoked++;
      const was = names.get(grant.personId) ?? (await personNames(em, [grant.personId])).get(grant.personId) ?? grant.personId;
      notes.push(`${describe('liaison', department)}由 ${was} 改为 ${p.name}`);
    }
  }

  const held = await em.findBy(RoleGrantEntity, { personId: In(listed) });
  for (const grant of held) {
    const key: GrantKey = `${grant.role}:${grant.scope}`;
    if (wanted.get(grant.personId)?.has(key)) {
      if (grant.source !== 'import') await em.update(RoleGrantEntity, { id: grant.id }, { source: 'import' });
      wanted.get(grant.personId)!.delete(key);
    } else if (grant.source === 'import') {
      await em.delete(RoleGrantEntity, { id: grant.id });
      rolesRevoked++;
      notes.push(`撤销 ${names.get(grant.personId)} 的${describe(grant.role, grant.scope)}（文件不再给出）`);
    } else if (grant.role === 'liaison' && liaisonIn.has(grant.personId)) {
      // One department per liaison, so that his reports are filed under it: the file's wins.
      await em.delete(RoleGrantEntity, { id: grant.id });
      rolesRevoked++;
      notes.push(`${names.get(grant.personId)} 不再担任${describe('liaison', grant.scope)}（文件指定其为${describe('liaison', liaisonIn.get(grant.personId)!)}，一人只担任一个部门的联络员）`);
    }
  }

  for (const [personId, keys] of wanted) {
    for (const key of keys) {
      const [role, scope] = key.split(':') as [GrantableRole, string];
      if (await grantRole(em, { personId, role, scope, grantedBy: null, source: 'import' }, now)) rolesGranted++;
    }
  }
  return { rolesGranted, rolesRevoked, notes };
}

async function personNames(em: EntityManager, ids: string[]): Promise<Map<string, string>> {
  const rows = await em.find(PersonEntity, { where: { id: In(ids) }, select: { id: true, name: true } });
  return new Map(rows.map((p) => [p.id, p.name]));
}

/** The office's summary of an import (Chinese, one line per role change). */
export function describeImport(fileName: string, report: OrgImportReport): string {
  const lines = [
    `已导入 ${fileName}：部门 ${report.departments} 个，人员 ${report.people} 名（新增 ${report.created} 名）；角色授予 ${report.rolesGranted} 项，撤销 ${report.rolesRevoked} 项。`,
    ...report.notes.map((n) => (n.startsWith('注意') ? n : `- ${n}`)),
  ];
  return lines.join('\n');
}

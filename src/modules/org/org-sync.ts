import { In, Not, type EntityManager } from 'typeorm';
import { DepartmentEntity, PersonDepartmentEntity, PersonEntity } from '../../db/entities/org.entity';
import type { DirectorySnapshot } from '../../core/platform-adapter';

export interface OrgChangeSummary {
  departments: number;
  people: number;
  created: number;
  deactivated: number;
}

/**
 * Upserts departments and people in place (roles are not part of a snapshot: a file's roles are
 * applied by org-import.ts, and a directory carries none). With `deactivateMissingFrom`, people and departments of
 * that platform that are no longer in the snapshot are marked inactive — never deleted, because the
 * ledger and old insights refer to them.
 */
export async function applyOrgSnapshot(
  em: EntityManager,
  snapshot: DirectorySnapshot,
  options: { platform: string | null; deactivateMissingFrom?: string; now: number },
): Promise<OrgChangeSummary> {
  const { now } = options;
  for (const d of snapshot.departments) {
    await em.upsert(DepartmentEntity, { id: d.id, name: d.name, parentId: d.parentId ?? null, active: true, updatedAt: now, ...(options.platform ? { platform: options.platform } : {}) }, ['id']);
  }
  const existing = new Set(
    (snapshot.people.length ? await em.findBy(PersonEntity, { id: In(snapshot.people.map((p) => p.id)) }) : []).map((p) => p.id),
  );
  for (const p of snapshot.people) {
    if (existing.has(p.id)) {
      await em.update(PersonEntity, { id: p.id }, { name: p.name, active: true, updatedAt: now, ...(options.platform ? { platform: options.platform } : {}) });
    } else {
      await em.insert(PersonEntity, { id: p.id, name: p.name, active: true, platform: options.platform, welcomedAt: null, updatedAt: now });
    }
    await em.delete(PersonDepartmentEntity, { personId: p.id });
    if (p.departmentIds.length) await em.insert(PersonDepartmentEntity, p.departmentIds.map((departmentId) => ({ personId: p.id, departmentId })));
  }
  const deactivated = options.deactivateMissingFrom ? await deactivateMissing(em, snapshot, options.deactivateMissingFrom, now) : 0;
  return { departments: snapshot.departments.length, people: snapshot.people.length, created: snapshot.people.length - existing.size, deactivated };
}

async function deactivateMissing(em: EntityManager, snapshot: DirectorySnapshot, platform: string, now: number): Promise<number> {
  const keepPeople = snapshot.people.map((p) => p.id);
  const gone = await em.findBy(PersonEntity, { platform, active: true, ...(keepPeople.length ? { id: Not(In(keepPeople)) } : {}) });
  if (gone.length) await em.update(PersonEntity, { id: In(gone.map((p) => p.id)) }, { active: false, updatedAt: now });
  const keepDepartments = snapshot.departments.map((d) => d.id);
  // Only this platform's departments: another platform's, and those imported from a file, stay.
  if (keepDepartments.length) {
    await em.update(DepartmentEntity, { platform, active: true, id: Not(In(keepDepartments)) }, { active: false, updatedAt: now });
  }
  return gone.length;
}

import { In, type EntityManager } from 'typeorm';
import {
  DepartmentEntity,
  PersonDepartmentEntity,
  PersonEntity,
  RoleGrantEntity,
  type Department,
  type GrantableRole,
  type Person,
  type Role,
  type RoleGrantSource,
} from '../../db/entities/org.entity';
import { peopleWithRole, type Actor } from '../../core/actor';
import { forUpdate } from '../../db/row-locks';

export type Resolution<T> = { found: T } | { missing: string } | { ambiguous: T[] };

/** Finds a person by id or by unique name among active people. */
export async function resolvePerson(em: EntityManager, word: string): Promise<Resolution<Person>> {
  const byId = await em.findOneBy(PersonEntity, { id: word });
  if (byId) return { found: byId };
  const byName = await em.findBy(PersonEntity, { name: word, active: true });
  if (byName.length === 1) return { found: byName[0] };
  if (byName.length > 1) return { ambiguous: byName };
  return { missing: word };
}

export async function resolveDepartment(em: EntityManager, word: string): Promise<Resolution<Department>> {
  const byId = await em.findOneBy(DepartmentEntity, { id: word });
  if (byId) return { found: byId };
  const byName = await em.findBy(DepartmentEntity, { name: word, active: true });
  if (byName.length === 1) return { found: byName[0] };
  if (byName.length > 1) return { ambiguous: byName };
  return { missing: word };
}

export async function departmentNames(em: EntityManager, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await em.findBy(DepartmentEntity, { id: In(ids) });
  return new Map(rows.map((d) => [d.id, d.name]));
}

export async function grantRole(
  em: EntityManager,
  grant: { personId: string; role: GrantableRole; scope?: string; grantedBy: string | null; source?: RoleGrantSource },
  now: number,
): Promise<boolean> {
  const scope = grant.scope ?? '';
  const existing = await em.findOneBy(RoleGrantEntity, { personId: grant.personId, role: grant.role, scope });
  if (existing) return false;
  await em.insert(RoleGrantEntity, {
    personId: grant.personId,
    role: grant.role,
    scope,
    grantedBy: grant.grantedBy,
    grantedAt: now,
    source: grant.source ?? 'manual',
    // Unique: a second liaison for the department fails here whatever path tried it (Art. 6).
    liaisonDepartment: grant.role === 'liaison' ? scope : null,
  });
  return true;
}

export async function revokeRole(em: EntityManager, personId: string, role: GrantableRole, scope = ''): Promise<boolean> {
  const result = await em.delete(RoleGrantEntity, { personId, role, scope });
  return Boolean(result.affected);
}

/**
 * Why revoking this person's office role must be refused: it would leave no active office member,
 * and with it nobody to appoint liaisons, sync the directory or answer suggestions.
 */
export async function lastOfficeProblem(em: EntityManager, personId: string): Promise<string | null> {
  // Two office members revoking each other at once must not both pass: on MySQL the office grants
  // are read with a lock, which also reads past the turn's snapshot, and held until it ends
  // (SQLite serves one instance, whose turns run one by one).
  const query = em
    .createQueryBuilder(RoleGrantEntity, 'g')
    .innerJoin('people', 'p', 'p.id = g.person_id AND p.active = :active', { active: true })
    .where('g.role = :role', { role: 'office' });
  const holders = new Set((await forUpdate(em, query).getMany()).map((g) => g.personId));
  if (!holders.has(personId) || holders.size > 1) return null;
  return '这是最后一名「机关党委」成员，撤销后将没有人能指定联络员、同步通讯录或答复意见。请先授予另一人机关党委角色，再撤销。';
}

/** Said when a grant makes a second secretary: allowed (a handover), but one is the norm (Art. 5). */
export async function secretaryNote(em: EntityManager): Promise<string | null> {
  const secretaries = await peopleWithRole(em, 'secretary');
  if (secretaries.length < 2) return null;
  return `注意：现有 ${secretaries.length} 名书记（${secretaries.map((p) => p.name).join('、')}）；按办法第五条，一般只设一名书记（第一责任人）。如是交接，请撤销原书记的角色。`;
}

/** The department and every department below it, for "is this person of that department". */
export async function departmentWithDescendants(em: EntityManager, departmentId: string): Promise<Set<string>> {
  const all = await em.find(DepartmentEntity, { select: { id: true, parentId: true } });
  const children = new Map<string, string[]>();
  for (const d of all) if (d.parentId) children.set(d.parentId, [...(children.get(d.parentId) ?? []), d.id]);
  const found = new Set<string>([departmentId]);
  const queue = [departmentId];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const child of children.get(next) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return found;
}

export async function isMemberOf(em: EntityManager, personId: string, departmentId: string): Promise<boolean> {
  const within = await departmentWithDescendants(em, departmentId);
  const memberships = await em.findBy(PersonDepartmentEntity, { personId });
  return memberships.some((m) => within.has(m.departmentId));
}

/**
 * Appoints a department's one liaison (seed Art. 6), replacing the previous one. A person is the
 * liaison of one department, so that his reports are filed under it: one who served another
 * department leaves it. Returns who was replaced and which departments the person left.
 */
export async function appointLiaison(
  em: EntityManager,
  departmentId: string,
  personId: string,
  grantedBy: string | null,
  now: number,
): Promise<{ replaced: string[]; left: string[] }> {
  const previous = await em.findBy(RoleGrantEntity, { role: 'liaison', scope: departmentId });
  const replaced = previous.map((g) => g.personId).filter((id) => id !== personId);
  if (replaced.length > 0) await em.delete(RoleGrantEntity, { role: 'liaison', scope: departmentId, personId: In(replaced) });
  const left = await liaisonDepartmentsOf(em, personId, departmentId);
  if (left.length > 0) await em.delete(RoleGrantEntity, { role: 'liaison', personId, scope: In(left) });
  await grantRole(em, { personId, role: 'liaison', scope: departmentId, grantedBy }, now);
  return { replaced, left };
}

/** The departments a person is liaison of, other than `except`. */
export async function liaisonDepartmentsOf(em: EntityManager, personId: string, except?: string): Promise<string[]> {
  const grants = await em.findBy(RoleGrantEntity, { role: 'liaison', personId });
  return grants.map((g) => g.scope).filter((scope) => scope !== except);
}

/**
 * The department an insight is filed under: the one the reporter is liaison of (Art. 6: a liaison
 * reports for that department, even one appointed from another department), else their first.
 */
export function reportingDepartment(actor: Actor): string | null {
  return actor.liaisonOf[0] ?? actor.departmentIds[0] ?? null;
}

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
} from '../../db/entities/org.entity';
import { peopleWithRole, type Actor } from '../../core/actor';

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
  grant: { personId: string; role: GrantableRole; scope?: string; grantedBy: string | null },
  now: number,
): Promise<boolean> {
  const scope = grant.scope ?? '';
  const existing = await em.findOneBy(RoleGrantEntity, { personId: grant.personId, role: grant.role, scope });
  if (existing) return false;
  await em.insert(RoleGrantEntity, { personId: grant.personId, role: grant.role, scope, grantedBy: grant.grantedBy, grantedAt: now });
  return true;
}

export async function revokeRole(em: EntityManager, personId: string, role: GrantableRole, scope = ''): Promise<boolean> {
  const result = await em.delete(RoleGrantEntity, { personId, role, scope });
  return Boolean(result.affected);
}

/** Appoints a department's one liaison (seed Art. 6), replacing the previous one. Returns who was replaced. */
export async function appointLiaison(
  em: EntityManager,
  departmentId: string,
  personId: string,
  grantedBy: string | null,
  now: number,
): Promise<string[]> {
  const previous = await em.findBy(RoleGrantEntity, { role: 'liaison', scope: departmentId });
  const replaced = previous.map((g) => g.personId).filter((id) => id !== personId);
  if (replaced.length > 0) await em.delete(RoleGrantEntity, { role: 'liaison', scope: departmentId, personId: In(replaced) });
  await grantRole(em, { personId, role: 'liaison', scope: departmentId, grantedBy }, now);
  return replaced;
}

/** The department an insight is filed under: the one the reporter is liaison of, else their first. */
export function reportingDepartment(actor: Actor): string | null {
  return actor.liaisonOf[0] ?? actor.departmentIds[0] ?? null;
}

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

/** Who is acting, with the roles that decide what they may do and see (PRODUCT.md §2). */
export interface Actor {
  person: Person;
  roles: Set<Role>;
  /** Departments the person belongs to. */
  departmentIds: string[];
  /** Departments the person is the liaison of. */
  liaisonOf: string[];
}

export type Resolution<T> = { found: T } | { missing: string } | { ambiguous: T[] };

export async function loadActor(em: EntityManager, personId: string): Promise<Actor | null> {
  const person = await em.findOneBy(PersonEntity, { id: personId });
  if (!person) return null;
  const grants = await em.findBy(RoleGrantEntity, { personId });
  const memberships = await em.findBy(PersonDepartmentEntity, { personId });
  return {
    person,
    roles: new Set<Role>(['staff', ...grants.map((g) => g.role)]),
    departmentIds: memberships.map((m) => m.departmentId),
    liaisonOf: grants.filter((g) => g.role === 'liaison').map((g) => g.scope),
  };
}

/** A sender the directory does not know yet is registered as staff, so that they can use the bot at once. */
export async function ensurePerson(em: EntityManager, id: string, name: string | undefined, platform: string, now: number): Promise<void> {
  const existing = await em.findOneBy(PersonEntity, { id });
  if (existing) return;
  await em.insert(PersonEntity, { id, name: (name || id).slice(0, 64), active: true, platform, welcomedAt: null, updatedAt: now });
}

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

export async function peopleWithRole(em: EntityManager, role: GrantableRole, scope = ''): Promise<Person[]> {
  const grants = await em.findBy(RoleGrantEntity, { role, scope });
  if (grants.length === 0) return [];
  return em.findBy(PersonEntity, { id: In(grants.map((g) => g.personId)), active: true });
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

/** How a refusal names whom to ask: 机关党委 with its members' names, when there are any. */
export async function officeContact(em: EntityManager): Promise<string> {
  const office = await peopleWithRole(em, 'office');
  return office.length ? `机关党委（${office.map((p) => p.name).join('、')}）` : '机关党委';
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

import { In, type EntityManager } from 'typeorm';
import { PersonDepartmentEntity, PersonEntity, RoleGrantEntity, type GrantableRole, type Person, type Role } from '../db/entities/org.entity';

/*
 * The actor of a turn: a kernel service, so the bot (and every module) can know who acts and what
 * they may do without depending on the org feature module.
 */

/** Who is acting, with the roles that decide what they may do and see (PRODUCT.md §2). */
export interface Actor {
  person: Person;
  roles: Set<Role>;
  /** Departments the person belongs to. */
  departmentIds: string[];
  /** Departments the person is the liaison of. */
  liaisonOf: string[];
}

export async function loadActor(em: EntityManager, personId: string): Promise<Actor | null> {
  const person = await em.findOneBy(PersonEntity, { id: personId });
  if (!person) return null;
  const grants = await em.find(RoleGrantEntity, { where: { personId }, order: { id: 'ASC' } });
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

export async function peopleWithRole(em: EntityManager, role: GrantableRole, scope = ''): Promise<Person[]> {
  const grants = await em.findBy(RoleGrantEntity, { role, scope });
  if (grants.length === 0) return [];
  return em.findBy(PersonEntity, { id: In(grants.map((g) => g.personId)), active: true });
}

/**
 * How a refusal names whom to ask: 机关党委 with its members' names, when there are any, never the
 * asker (an office member is pointed at the other members, or, alone in the office, at the secretary).
 */
export async function officeContact(em: EntityManager, askerId?: string): Promise<string> {
  const office = await peopleWithRole(em, 'office');
  const others = office.filter((p) => p.id !== askerId);
  if (others.length) return `机关党委（${others.map((p) => p.name).join('、')}）`;
  if (office.length === 0) return '机关党委';
  const secretaries = (await peopleWithRole(em, 'secretary')).filter((p) => p.id !== askerId);
  return secretaries.length ? `党组(党委)书记（${secretaries.map((p) => p.name).join('、')}）` : '党组(党委)';
}

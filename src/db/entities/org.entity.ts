import { EntitySchema } from 'typeorm';
import { epochMs, idColumn, increment } from '../columns';

export interface Department {
  id: string;
  name: string;
  parentId: string | null;
  active: boolean;
  /** The platform the department was synced from; null for imported ones. */
  platform: string | null;
  updatedAt: number;
}

export interface Person {
  id: string;
  name: string;
  active: boolean;
  /** The platform the person was synced from; alerts go there. Null for imported people. */
  platform: string | null;
  welcomedAt: number | null;
  updatedAt: number;
}

export interface PersonDepartment {
  personId: string;
  departmentId: string;
}

export type GrantableRole = 'liaison' | 'office' | 'deputy' | 'secretary';
export type Role = GrantableRole | 'staff';

export interface RoleGrant {
  id: number;
  personId: string;
  role: GrantableRole;
  /** The department a liaison serves; '' for unit-wide roles. */
  scope: string;
  grantedBy: string | null;
  grantedAt: number;
  /** `import`: given by an organisation file, which a re-import may take back; `manual`: chat or command line. */
  source: RoleGrantSource;
  /** The scope of a liaison grant, null for other roles: unique, so a department has one liaison (Art. 6). */
  liaisonDepartment: string | null;
}

export type RoleGrantSource = 'import' | 'manual';

export const DepartmentEntity = new EntitySchema<Department>({
  name: 'Department',
  tableName: 'departments',
  columns: {
    id: idColumn(),
    name: { type: 'varchar', length: 128 },
    parentId: { name: 'parent_id', type: 'varchar', length: 64, nullable: true },
    active: { type: 'boolean', default: true },
    platform: { type: 'varchar', length: 16, nullable: true },
    updatedAt: { name: 'updated_at', ...epochMs() },
  },
});

export const PersonEntity = new EntitySchema<Person>({
  name: 'Person',
  tableName: 'people',
  columns: {
    id: idColumn(),
    name: { type: 'varchar', length: 64 },
    active: { type: 'boolean', default: true },
    platform: { type: 'varchar', length: 16, nullable: true },
    welcomedAt: { name: 'welcomed_at', ...epochMs(true) },
    updatedAt: { name: 'updated_at', ...epochMs() },
  },
});

export const PersonDepartmentEntity = new EntitySchema<PersonDepartment>({
  name: 'PersonDepartment',
  tableName: 'person_departments',
  columns: {
    personId: { name: 'person_id', ...idColumn() },
    departmentId: { name: 'department_id', ...idColumn() },
  },
});

export const RoleGrantEntity = new EntitySchema<RoleGrant>({
  name: 'RoleGrant',
  tableName: 'role_grants',
  columns: {
    id: increment(),
    personId: { name: 'person_id', type: 'varchar', length: 64 },
    role: { type: 'varchar', length: 16 },
    scope: { type: 'varchar', length: 64, default: '' },
    grantedBy: { name: 'granted_by', type: 'varchar', length: 64, nullable: true },
    grantedAt: { name: 'granted_at', ...epochMs() },
    source: { type: 'varchar', length: 8, default: 'manual' },
    liaisonDepartment: { name: 'liaison_department', type: 'varchar', length: 64, nullable: true },
  },
});

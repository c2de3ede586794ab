import type { DirectorySnapshot } from '../../core/platform-adapter';
import { mapLimited } from '../../lib/map-limited';
import type { WecomClient } from './wecom-client';

/**
 * Reads the directory the app can see (spec §7): department/simplelist for the tree, then per
 * department department/get for its name and user/simplelist for its direct members (current docs
 * dropped fetch_child, so members are read level by level). A few calls at a time keeps well
 * inside the 10,000 calls/minute per API.
 */
const CONCURRENCY = 4;

interface SimpleDepartment {
  id: number;
  parentid?: number;
}

interface DepartmentDetail {
  id: number;
  name?: string;
  parentid?: number;
}

interface SimpleUser {
  userid: string;
  name?: string;
  department?: number[];
}

export async function fetchWecomDirectory(client: WecomClient): Promise<DirectorySnapshot> {
  const tree = await client.get('department/simplelist');
  const departments = (tree.department_id as SimpleDepartment[] | undefined) ?? [];
  const visibleIds = new Set(departments.map((d) => d.id));

  const details = await mapLimited(departments, CONCURRENCY, async (d) => {
    const answer = await client.get('department/get', { id: String(d.id) });
    return answer.department as DepartmentDetail;
  });
  const members = await mapLimited(departments, CONCURRENCY, async (d) => {
    const answer = await client.get('user/simplelist', { department_id: String(d.id) });
    return (answer.userlist as SimpleUser[] | undefined) ?? [];
  });

  return {
    departments: departments.map((d, i) => ({
      id: String(d.id),
      name: details[i]?.name ?? String(d.id),
      // The root's parent (0), or a parent outside the visible range, is no parent here.
      parentId: d.parentid !== undefined && visibleIds.has(d.parentid) ? String(d.parentid) : null,
    })),
    people: mergePeople(members.flat(), visibleIds),
  };
}

/** A person in several departments is listed once per department; merge them. */
function mergePeople(users: SimpleUser[], visibleIds: Set<number>): DirectorySnapshot['people'] {
  const byId = new Map<string, { id: string; name: string; departmentIds: Set<string> }>();
  for (const user of users) {
    const person = byId.get(user.userid) ?? { id: user.userid, name: user.name ?? user.userid, departmentIds: new Set<string>() };
    // Departments outside the app's visible range are not in the snapshot, so they are left out here too.
    for (const department of user.department ?? []) {
      if (visibleIds.has(department)) person.departmentIds.add(String(department));
    }
    byId.set(user.userid, person);
  }
  return [...byId.values()].map((p) => ({ id: p.id, name: p.name, departmentIds: [...p.departmentIds] }));
}

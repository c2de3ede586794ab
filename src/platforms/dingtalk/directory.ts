import type { DirectorySnapshot } from '../../core/platform-adapter';
import type { DingtalkClient } from './dingtalk-client';

/** DingTalk's root department. */
const ROOT_DEPT_ID = 1;

/**
 * Reads the whole directory: departments by walking listsub from the root (it lists one level),
 * then each department's members with v2/user/list cursor paging. A person in several departments
 * appears once, with all of them. Upserting and marking the missing inactive is the org service's job.
 */
export async function fetchDingtalkDirectory(client: DingtalkClient): Promise<DirectorySnapshot> {
  const root = await client.getDepartment(ROOT_DEPT_ID);
  const departments: DirectorySnapshot['departments'] = [{ id: String(ROOT_DEPT_ID), name: root.name, parentId: null }];
  const queue = [ROOT_DEPT_ID];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const dept of await client.listSubDepartments(parent)) {
      if (seen.has(dept.dept_id)) continue; // guards against a cycle in bad data
      seen.add(dept.dept_id);
      departments.push({ id: String(dept.dept_id), name: dept.name, parentId: String(dept.parent_id ?? parent) });
      queue.push(dept.dept_id);
    }
  }

  const people = new Map<string, { id: string; name: string; departmentIds: Set<string> }>();
  for (const deptId of seen) {
    for (let cursor = 0, more = true; more; ) {
      const page = await client.listUsers(deptId, cursor);
      for (const user of page.list) {
        const person = people.get(user.userid) ?? { id: user.userid, name: user.name, departmentIds: new Set<string>() };
        person.departmentIds.add(String(deptId));
        for (const id of user.dept_id_list ?? []) if (seen.has(id)) person.departmentIds.add(String(id));
        people.set(user.userid, person);
      }
      more = page.hasMore && page.nextCursor !== cursor;
      cursor = page.nextCursor;
    }
  }
  return {
    departments,
    people: [...people.values()].map((p) => ({ id: p.id, name: p.name, departmentIds: [...p.departmentIds] })),
  };
}

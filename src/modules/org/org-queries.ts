import type { EntityManager } from 'typeorm';

/** Departments with their names and active head count, for suppression (MIN_GROUP_SIZE) in documents. */
export async function departmentSizes(em: EntityManager): Promise<Map<string, { name: string; size: number }>> {
  const rows: Record<string, unknown>[] = await em.query(
    `SELECT d.id AS id, d.name AS name, COUNT(p.id) AS n FROM departments d
     LEFT JOIN person_departments pd ON pd.department_id = d.id
     LEFT JOIN people p ON p.id = pd.person_id AND p.active = 1
     GROUP BY d.id, d.name`,
  );
  return new Map(rows.map((r) => [String(r.id), { name: String(r.name), size: Number(r.n) }]));
}

/** Every name in the directory (people who left too), to strip from text that must name nobody. */
export async function personNames(em: EntityManager): Promise<string[]> {
  const rows: Record<string, unknown>[] = await em.query('SELECT DISTINCT name FROM people');
  return rows.map((r) => String(r.name));
}

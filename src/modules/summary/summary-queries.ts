import type { EntityManager } from 'typeorm';
import type { PeriodBounds } from './period';

/**
 * The SQL behind 汇总 (PRODUCT.md §6). Every figure is a GROUP BY in the database over the covering
 * index idx_insights_period (created_at, department_id, category, method) or idx_insights_open, so a
 * summary over a million insights stays fast; JavaScript only formats the few rows that come back.
 */
export interface SummaryScope {
  /** null: the whole unit; otherwise only these departments (a liaison's own). */
  departmentIds: string[] | null;
  /** Below the office, departments smaller than minGroupSize people are shown as 其他部门. */
  mergeSmall: boolean;
  minGroupSize: number;
}

export interface CountRow {
  key: string;
  label: string | null;
  current: number;
  previous: number;
}

/** Open insights as they stand now, whatever period they were recorded in. */
export interface Backlog {
  /** 待定性: status new. */
  unclassified: number;
  /** 已定性、待处置: status classified. */
  unhandled: number;
  /** Immediate reports not yet handled. */
  immediate: number;
  /** When the oldest unclassified insight was recorded, or null. */
  oldestUnclassified: number | null;
}

export const OTHER_DEPARTMENTS = '其他部门';
export const NO_DEPARTMENT = '未归属部门';

type Sql = { sql: string; params: unknown[] };

function inScope(scope: SummaryScope, column: string): Sql {
  if (scope.departmentIds === null) return { sql: '', params: [] };
  if (scope.departmentIds.length === 0) return { sql: ' AND 1 = 0', params: [] };
  return { sql: ` AND ${column} IN (${scope.departmentIds.map(() => '?').join(', ')})`, params: scope.departmentIds };
}

/** Current and previous period counted in one pass over both periods' index range. */
function twoPeriodCounts(bounds: PeriodBounds): Sql {
  return {
    sql: 'SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END) AS cur, SUM(CASE WHEN created_at < ? THEN 1 ELSE 0 END) AS prev',
    params: [bounds.start, bounds.start],
  };
}

function bothPeriods(bounds: PeriodBounds, scope: SummaryScope): Sql {
  const filter = inScope(scope, 'department_id');
  return { sql: `created_at >= ? AND created_at < ?${filter.sql}`, params: [bounds.previous.start, bounds.end, ...filter.params] };
}

/** People per department (active people only), for the MIN_GROUP_SIZE rule. */
const DEPARTMENT_SIZES =
  'SELECT pd.department_id, COUNT(*) AS n FROM person_departments pd JOIN people p ON p.id = pd.person_id WHERE p.active = 1 GROUP BY pd.department_id';

function smallDepartment(scope: SummaryScope, sizeColumn: string): string {
  if (!scope.mergeSmall) return '1 = 0';
  if (!Number.isInteger(scope.minGroupSize)) throw new Error('minGroupSize must be an integer');
  return `COALESCE(${sizeColumn}, 0) < ${scope.minGroupSize}`;
}

const toCount = (row: Record<string, unknown>): CountRow => ({
  key: String(row.k ?? ''),
  label: row.label === null || row.label === undefined ? null : String(row.label),
  current: Number(row.cur ?? 0),
  previous: Number(row.prev ?? 0),
});

export async function totals(em: EntityManager, bounds: PeriodBounds, scope: SummaryScope): Promise<CountRow> {
  const counts = twoPeriodCounts(bounds);
  const where = bothPeriods(bounds, scope);
  const rows = await em.query(`SELECT ${counts.sql} FROM insights WHERE ${where.sql}`, [...counts.params, ...where.params]);
  return toCount({ k: 'total', ...rows[0] });
}

export async function countsBy(em: EntityManager, column: 'category' | 'method', bounds: PeriodBounds, scope: SummaryScope): Promise<CountRow[]> {
  const counts = twoPeriodCounts(bounds);
  const where = bothPeriods(bounds, scope);
  const rows = await em.query(`SELECT ${column} AS k, ${counts.sql} FROM insights WHERE ${where.sql} GROUP BY ${column}`, [...counts.params, ...where.params]);
  return rows.map(toCount);
}

/** Per department, small departments folded into one 其他部门 row when the viewer is below the office. */
export async function countsByDepartment(em: EntityManager, bounds: PeriodBounds, scope: SummaryScope): Promise<CountRow[]> {
  const counts = twoPeriodCounts(bounds);
  const where = bothPeriods(bounds, scope);
  const small = smallDepartment(scope, 's.n');
  const sql = `
    SELECT CASE WHEN c.department_id IS NULL THEN '-' WHEN ${small} THEN '*' ELSE c.department_id END AS k,
           MAX(CASE WHEN c.department_id IS NULL THEN ? WHEN ${small} THEN ? ELSE d.name END) AS label,
           SUM(c.cur) AS cur, SUM(c.prev) AS prev
    FROM (SELECT department_id, ${counts.sql} FROM insights WHERE ${where.sql} GROUP BY department_id) c
    LEFT JOIN departments d ON d.id = c.department_id
    LEFT JOIN (${DEPARTMENT_SIZES}) s ON s.department_id = c.department_id
    GROUP BY CASE WHEN c.department_id IS NULL THEN '-' WHEN ${small} THEN '*' ELSE c.department_id END
    ORDER BY cur DESC, label ASC`;
  const rows = await em.query(sql, [NO_DEPARTMENT, OTHER_DEPARTMENTS, ...counts.params, ...where.params]);
  return rows.map(toCount);
}

/** Insights not yet classified or handled, as they stand now (the current state, not the period's). */
export async function backlog(em: EntityManager, scope: SummaryScope): Promise<Backlog> {
  const filter = inScope(scope, 'department_id');
  const [row] = await em.query(
    `SELECT SUM(CASE WHEN status = 'new' THEN 1 ELSE 0 END) AS unclassified,
            SUM(CASE WHEN status = 'classified' THEN 1 ELSE 0 END) AS unhandled,
            SUM(CASE WHEN kind = 'immediate' THEN 1 ELSE 0 END) AS immediate,
            MIN(CASE WHEN status = 'new' THEN created_at END) AS oldest
     FROM insights WHERE status IN ('new', 'classified')${filter.sql}`,
    filter.params,
  );
  return {
    unclassified: Number(row?.unclassified ?? 0),
    unhandled: Number(row?.unhandled ?? 0),
    immediate: Number(row?.immediate ?? 0),
    oldestUnclassified: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest),
  };
}

/** The oldest open immediate reports (即时报告 not yet handled), by number, as they stand now. */
export async function openImmediate(em: EntityManager, scope: SummaryScope, limit = 5): Promise<string[]> {
  const filter = inScope(scope, 'department_id');
  const rows = await em.query(
    `SELECT number FROM insights WHERE status IN ('new', 'classified') AND kind = 'immediate'${filter.sql}
     ORDER BY created_at ASC LIMIT ${Number(limit)}`,
    filter.params,
  );
  return rows.map((r: Record<string, unknown>) => String(r.number));
}

/** Late (Art. 18 督促检查): a department with a liaison and no insight in the period. */
export async function lateDepartments(em: EntityManager, bounds: PeriodBounds, scope: SummaryScope): Promise<string[]> {
  const filter = inScope(scope, 'd.id');
  const small = smallDepartment(scope, 's.n');
  const rows = await em.query(
    `SELECT DISTINCT CASE WHEN ${small} THEN ? ELSE d.name END AS name
     FROM departments d LEFT JOIN (${DEPARTMENT_SIZES}) s ON s.department_id = d.id
     WHERE d.active = 1
       AND EXISTS (SELECT 1 FROM role_grants g WHERE g.role = 'liaison' AND g.scope = d.id)
       AND NOT EXISTS (SELECT 1 FROM insights i WHERE i.department_id = d.id AND i.created_at >= ? AND i.created_at < ?)${filter.sql}
     ORDER BY name`,
    [OTHER_DEPARTMENTS, bounds.start, bounds.end, ...filter.params],
  );
  return rows.map((r: Record<string, unknown>) => String(r.name));
}

/** Departments below the unit with no liaison appointed (Art. 6), for the office and leaders. */
export async function departmentsWithoutLiaison(em: EntityManager, limit = 20): Promise<{ names: string[]; count: number }> {
  const where = `d.active = 1 AND d.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM role_grants g WHERE g.role = 'liaison' AND g.scope = d.id)`;
  const [{ n }] = await em.query(`SELECT COUNT(*) AS n FROM departments d WHERE ${where}`);
  const rows = await em.query(`SELECT d.name FROM departments d WHERE ${where} ORDER BY d.name LIMIT ${Number(limit)}`);
  return { names: rows.map((r: Record<string, unknown>) => String(r.name)), count: Number(n) };
}

/** The suggestion box (意见信箱, Art. 9(六)) in the period and the previous one, and what still awaits an answer. */
export async function suggestionCounts(em: EntityManager, bounds: PeriodBounds): Promise<{ current: number; previous: number; waiting: number }> {
  const counts = twoPeriodCounts(bounds);
  const [row] = await em.query(
    `SELECT ${counts.sql}, (SELECT COUNT(*) FROM suggestions WHERE status = 'received') AS waiting
     FROM suggestions WHERE created_at >= ? AND created_at < ?`,
    [...counts.params, bounds.previous.start, bounds.end],
  );
  return { current: Number(row?.cur ?? 0), previous: Number(row?.prev ?? 0), waiting: Number(row?.waiting ?? 0) };
}

/** Immediate reports whose alert no leader has acknowledged yet (PRODUCT.md §4), as they stand now. */
export async function unacknowledgedAlerts(em: EntityManager, scope: SummaryScope): Promise<number> {
  const filter = inScope(scope, 'i.department_id');
  const [row] = await em.query(
    `SELECT COUNT(*) AS n FROM escalations e JOIN insights i ON i.id = e.insight_id
     WHERE e.state <> 'acknowledged'${filter.sql}`,
    filter.params,
  );
  return Number(row?.n ?? 0);
}

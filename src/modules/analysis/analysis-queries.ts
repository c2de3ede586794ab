import type { EntityManager } from 'typeorm';
import type { DataCipher } from '../../lib/data-cipher';
import { wordsOf } from './keyword-store';
import { wholeMonths } from './months';
import type { ThemeFact } from '../../domain/facts';

/**
 * The SQL behind 研判, exported for the unit report (主要表现, 原因分析). Counts run on keyword
 * hashes (insight_keywords → analysis_keywords.id); only the few words shown are decrypted. A
 * submitted department report counts like one insight of its department (reportSourceId), its
 * category left out of a theme's categories.
 */
export type { ThemeFact };

export interface ThemeQueryDeps {
  cipher: DataCipher;
  /** THEME_SPREAD */
  themeSpread: number;
  /** MIN_THEME_COUNT */
  minThemeCount: number;
  /** TZ: months are counted in the unit's time zone. */
  timeZone: string;
}

export interface ThemeOptions {
  /** null or absent: the whole unit; otherwise only these departments (a liaison's own). */
  departmentIds?: string[] | null;
  /** How many themes at most (default 10). */
  limit?: number;
  /** Start of the previous period (its end is `start`); default: a period of the same length before `start`. */
  previousStart?: number;
}

type Sql = { sql: string; params: unknown[] };
type Range = { start: number; end: number };
type Counted = { id: number; insights: number };

function inDepartments(departmentIds: string[] | null | undefined, column: string): Sql {
  if (!departmentIds) return { sql: '', params: [] };
  if (departmentIds.length === 0) return { sql: ' AND 1 = 0', params: [] };
  return { sql: ` AND ${column} IN (${departmentIds.map(() => '?').join(', ')})`, params: departmentIds };
}

const list = (values: unknown[]) => values.map(() => '?').join(', ');
const counted = (rows: { k: unknown; n: unknown }[]): Counted[] => rows.map((r) => ({ id: Number(r.k), insights: Number(r.n) }));

/**
 * The leading themes of [start, end): at least minThemeCount insights each, most insights first
 * (then by keyword id, so the order is stable). Whole months of the whole unit are ranked from the
 * month counts; anything else (a liaison's departments, other bounds) from the keyword rows.
 */
export async function themesForPeriod(em: EntityManager, deps: ThemeQueryDeps, period: Range, options: ThemeOptions = {}): Promise<ThemeFact[]> {
  const limit = Math.max(1, Math.floor(options.limit ?? 10));
  const scope = options.departmentIds ?? null;
  // More candidates than shown: a theme folded into another's cluster leaves its place to the next.
  const candidates = await rankKeywords(em, deps, period, scope, limit * 2);
  if (candidates.length === 0) return [];
  const leading = (await clusterThemes(em, candidates, period, scope)).slice(0, limit);
  const ids = leading.map((r) => r.id);
  const previousStart = options.previousStart ?? period.start - (period.end - period.start);
  const previousPeriod = { start: previousStart, end: period.start };
  const anyPrevious = await em.query(`SELECT 1 AS x FROM insights WHERE created_at >= ? AND created_at < ?${inDepartments(scope, 'department_id').sql} LIMIT 1`, [
    previousStart,
    period.start,
    ...inDepartments(scope, 'department_id').params,
  ]);
  const previous = anyPrevious.length ? new Map((await countKeywords(em, deps, ids, previousPeriod, scope)).map((r) => [r.id, r.insights])) : null;
  const departments = await departmentsBehind(em, deps, ids, period, scope);
  const categories = await categoriesOf(em, ids, period, scope);
  const words = await wordsOf(em, deps.cipher, leading.flatMap((r) => r.members));
  return leading.map(({ id, insights, members }) => {
    const count = departments.get(id) ?? 0;
    const clusterWords = members.map((m) => words.get(m) ?? '');
    return {
      word: clusterWords.join('·'),
      words: clusterWords,
      insights,
      departments: count,
      previousInsights: previous === null ? null : (previous.get(id) ?? 0),
      categories: categories.get(id) ?? [],
      spread: count >= deps.themeSpread,
    };
  });
}

/** Co-occurrence is judged on at most this many of a theme's latest insights in the period: a share needs no more, and the cost stays bounded. */
const COOCCURRENCE_SAMPLE = 500;
/** A keyword joins a theme when it is in at least this share of the theme's insights. */
const CLUSTER_SHARE = 2 / 3;
const MAX_CLUSTER_WORDS = 3;

/** The keywords most often found in the same insights as keyword `id` (among its latest in the period). */
async function companions(em: EntityManager, id: number, period: Range, scope: string[] | null): Promise<Counted[]> {
  const filter = inDepartments(scope, 'department_id');
  return counted(
    await em.query(
      `SELECT b.keyword_id AS k, COUNT(*) AS n FROM
         (SELECT insight_id FROM insight_keywords WHERE keyword_id = ? AND created_at >= ? AND created_at < ?${filter.sql}
          ORDER BY created_at DESC LIMIT ${COOCCURRENCE_SAMPLE}) a
       JOIN insight_keywords b ON b.insight_id = a.insight_id AND b.keyword_id <> ?
       GROUP BY b.keyword_id ORDER BY n DESC, k ASC LIMIT 10`,
      [id, period.start, period.end, ...filter.params, id],
    ),
  );
}

/**
 * Themes as small clusters of co-occurring keywords (食堂·饭菜): a leading keyword found in at least
 * two thirds of another leading keyword's insights is the same subject seen from two words. Going
 * down the ranking, a theme whose companion ranks above it joins that theme's cluster (and gives up
 * its place); otherwise its best companion below joins it. A cluster keeps its first keyword's
 * counts (its companions' insights are mostly the same ones), and has at most three words.
 */
async function clusterThemes(em: EntityManager, ranked: Counted[], period: Range, scope: string[] | null): Promise<(Counted & { members: number[] })[]> {
  const rank = new Map(ranked.map((t, i) => [t.id, i]));
  const clusterOf = new Map<number, number[]>(ranked.map((t) => [t.id, [t.id]]));
  const absorbed = new Set<number>();
  for (const theme of ranked) {
    if (absorbed.has(theme.id)) continue;
    const needed = Math.ceil(CLUSTER_SHARE * Math.min(theme.insights, COOCCURRENCE_SAMPLE));
    const close = (await companions(em, theme.id, period, scope)).filter((c) => c.insights >= needed && rank.has(c.id) && !absorbed.has(c.id));
    const own = clusterOf.get(theme.id)!;
    const above = close.filter((c) => rank.get(c.id)! < rank.get(theme.id)! && clusterOf.get(c.id)!.length < MAX_CLUSTER_WORDS);
    if (above.length > 0 && own.length === 1) {
      const lead = above.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!)[0];
      clusterOf.get(lead.id)!.push(theme.id);
      absorbed.add(theme.id);
      continue;
    }
    const below = close.find((c) => rank.get(c.id)! > rank.get(theme.id)! && clusterOf.get(c.id)!.length === 1);
    if (below && own.length < MAX_CLUSTER_WORDS) {
      own.push(below.id);
      absorbed.add(below.id);
    }
  }
  return ranked.filter((t) => !absorbed.has(t.id)).map((t) => ({ ...t, members: clusterOf.get(t.id)! }));
}

async function rankKeywords(em: EntityManager, deps: ThemeQueryDeps, period: Range, scope: string[] | null, limit: number): Promise<Counted[]> {
  const months = scope === null ? wholeMonths(deps.timeZone, period.start, period.end) : null;
  if (months) {
    return counted(
      await em.query(
        `SELECT keyword_id AS k, SUM(n) AS n FROM keyword_months WHERE month >= ? AND month <= ?
         GROUP BY keyword_id HAVING SUM(n) >= ? ORDER BY n DESC, k ASC LIMIT ${limit}`,
        [months.from, months.to, deps.minThemeCount],
      ),
    );
  }
  const filter = inDepartments(scope, 'department_id');
  return counted(
    await em.query(
      `SELECT keyword_id AS k, COUNT(*) AS n FROM insight_keywords WHERE created_at >= ? AND created_at < ?${filter.sql}
       GROUP BY keyword_id HAVING COUNT(*) >= ? ORDER BY n DESC, k ASC LIMIT ${limit}`,
      [period.start, period.end, ...filter.params, deps.minThemeCount],
    ),
  );
}

/** Insights per keyword (among ids) in a period. */
async function countKeywords(em: EntityManager, deps: ThemeQueryDeps, ids: number[], period: Range, scope: string[] | null): Promise<Counted[]> {
  const months = scope === null ? wholeMonths(deps.timeZone, period.start, period.end) : null;
  if (months) {
    return counted(
      await em.query(
        `SELECT keyword_id AS k, SUM(n) AS n FROM keyword_month_departments WHERE keyword_id IN (${list(ids)}) AND month >= ? AND month <= ? GROUP BY keyword_id`,
        [...ids, months.from, months.to],
      ),
    );
  }
  const filter = inDepartments(scope, 'department_id');
  return counted(
    await em.query(
      `SELECT keyword_id AS k, COUNT(*) AS n FROM insight_keywords
       WHERE keyword_id IN (${list(ids)}) AND created_at >= ? AND created_at < ?${filter.sql} GROUP BY keyword_id`,
      [...ids, period.start, period.end, ...filter.params],
    ),
  );
}

/** Distinct departments behind each keyword (insights of no department not counted). */
async function departmentsBehind(em: EntityManager, deps: ThemeQueryDeps, ids: number[], period: Range, scope: string[] | null): Promise<Map<number, number>> {
  const months = scope === null ? wholeMonths(deps.timeZone, period.start, period.end) : null;
  const filter = inDepartments(scope, 'department_id');
  const rows: { k: unknown; d: unknown }[] = months
    ? await em.query(
        `SELECT keyword_id AS k, COUNT(DISTINCT department_id) AS d FROM keyword_month_departments
         WHERE keyword_id IN (${list(ids)}) AND month >= ? AND month <= ? AND department_id <> '' GROUP BY keyword_id`,
        [...ids, months.from, months.to],
      )
    : await em.query(
        `SELECT keyword_id AS k, COUNT(DISTINCT department_id) AS d FROM insight_keywords
         WHERE keyword_id IN (${list(ids)}) AND created_at >= ? AND created_at < ?${filter.sql} GROUP BY keyword_id`,
        [...ids, period.start, period.end, ...filter.params],
      );
  return new Map(rows.map((r) => [Number(r.k), Number(r.d)]));
}

async function categoriesOf(em: EntityManager, ids: number[], period: Range, departmentIds: string[] | null): Promise<Map<number, string[]>> {
  const scope = inDepartments(departmentIds, 'department_id');
  const rows: { k: unknown; c: unknown; n: unknown }[] = await em.query(
    `SELECT keyword_id AS k, category AS c, COUNT(*) AS n FROM insight_keywords
     WHERE keyword_id IN (${list(ids)}) AND created_at >= ? AND created_at < ?${scope.sql} AND category <> ''
     GROUP BY keyword_id, category`,
    [...ids, period.start, period.end, ...scope.params],
  );
  const byKeyword = new Map<number, { c: string; n: number }[]>();
  for (const r of rows) {
    const entry = byKeyword.get(Number(r.k)) ?? [];
    entry.push({ c: String(r.c), n: Number(r.n) });
    byKeyword.set(Number(r.k), entry);
  }
  return new Map([...byKeyword].map(([k, cs]) => [k, cs.sort((a, b) => b.n - a.n || a.c.localeCompare(b.c)).map((x) => x.c)]));
}

/**
 * For the reporter's confirmation card: the largest number of other departments that raised one of
 * these keywords in the months from `sinceMonth` (a count only).
 */
export async function otherDepartmentsRaising(em: EntityManager, keywordIds: number[], sinceMonth: number, ownDepartment: string | null): Promise<number> {
  if (keywordIds.length === 0) return 0;
  const rows: { d: unknown }[] = await em.query(
    `SELECT COUNT(DISTINCT department_id) AS d FROM keyword_month_departments
     WHERE keyword_id IN (${list(keywordIds)}) AND month >= ? AND department_id NOT IN ('', ?) GROUP BY keyword_id`,
    [...keywordIds, sinceMonth, ownDepartment ?? ''],
  );
  return rows.reduce((max, r) => Math.max(max, Number(r.d)), 0);
}

/** Active people per department, for the MIN_GROUP_SIZE rule. */
export async function departmentSizes(em: EntityManager, departmentIds: string[]): Promise<Map<string, number>> {
  if (departmentIds.length === 0) return new Map();
  const rows: { id: unknown; n: unknown }[] = await em.query(
    `SELECT pd.department_id AS id, COUNT(*) AS n FROM person_departments pd JOIN people p ON p.id = pd.person_id
     WHERE p.active = 1 AND pd.department_id IN (${list(departmentIds)}) GROUP BY pd.department_id`,
    departmentIds,
  );
  return new Map(rows.map((r) => [String(r.id), Number(r.n)]));
}

/** Insights per quarter of one department or one category: the counts a spike is judged on. */
export async function countsInRanges(
  em: EntityManager,
  column: 'department_id' | 'category',
  value: string,
  ranges: { start: number; end: number }[],
): Promise<number[]> {
  const sums = ranges.map((_, i) => `SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END) AS r${i}`).join(', ');
  const from = Math.min(...ranges.map((r) => r.start));
  const to = Math.max(...ranges.map((r) => r.end));
  const [row] = await em.query(`SELECT ${sums} FROM insights WHERE ${column} = ? AND created_at >= ? AND created_at < ?`, [
    ...ranges.flatMap((r) => [r.start, r.end]),
    value,
    from,
    to,
  ]);
  return ranges.map((_, i) => Number(row?.[`r${i}`] ?? 0));
}

/** When the first insight was recorded (null: none yet): quarters before it are no history. */
export async function firstInsightAt(em: EntityManager): Promise<number | null> {
  const [row] = await em.query('SELECT MIN(created_at) AS t FROM insights');
  return row?.t === null || row?.t === undefined ? null : Number(row.t);
}

/** Per keyword, insights and distinct departments since `since`. */
export async function keywordSpread(em: EntityManager, keywordIds: number[], since: number): Promise<{ keywordId: number; insights: number; departments: number }[]> {
  if (keywordIds.length === 0) return [];
  const rows: { k: unknown; n: unknown; d: unknown }[] = await em.query(
    `SELECT keyword_id AS k, COUNT(*) AS n, COUNT(DISTINCT department_id) AS d FROM insight_keywords
     WHERE keyword_id IN (${list(keywordIds)}) AND created_at >= ? GROUP BY keyword_id`,
    [...keywordIds, since],
  );
  return rows.map((r) => ({ keywordId: Number(r.k), insights: Number(r.n), departments: Number(r.d) }));
}

/** The keywords among these raised at all in [start, end): one index probe each. */
export async function keywordsSeenBetween(em: EntityManager, keywordIds: number[], start: number, end: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (const id of keywordIds) {
    const rows = await em.query('SELECT 1 AS x FROM insight_keywords WHERE keyword_id = ? AND created_at >= ? AND created_at < ? LIMIT 1', [id, start, end]);
    if (rows.length) seen.add(id);
  }
  return seen;
}

/** Department ids behind a keyword since `since`, most insights first. */
export async function departmentsOfKeyword(em: EntityManager, keywordId: number, since: number): Promise<{ departmentId: string; insights: number }[]> {
  const rows: { id: unknown; n: unknown }[] = await em.query(
    `SELECT department_id AS id, COUNT(*) AS n FROM insight_keywords WHERE keyword_id = ? AND created_at >= ? AND department_id IS NOT NULL
     GROUP BY department_id ORDER BY n DESC, id ASC`,
    [keywordId, since],
  );
  return rows.map((r) => ({ departmentId: String(r.id), insights: Number(r.n) }));
}

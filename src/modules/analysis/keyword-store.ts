import { In, type EntityManager } from 'typeorm';
import { AnalysisKeywordEntity, AnalysisTermEntity, InsightKeywordEntity } from '../../db/entities/analysis.entity';
import { addKeyedCounts } from '../../db/keyed-counts';
import type { DataCipher } from '../../lib/data-cipher';
import { keywordHash, termHash, type KeywordKey } from './keyword-hash';
import { monthKey } from './months';

/** What the analysis module needs, built once by the composition root. */
export interface AnalysisDeps {
  cipher: DataCipher;
  /** HMAC keys of keyword hashes, one per DATA_KEY key in its order (deriveKeywordKeys): the first keys new rows. */
  keywordKeys: KeywordKey[];
  themeSpread: number;
  minThemeCount: number;
  minGroupSize: number;
  timeZone: string;
}

type KeywordDeps = Pick<AnalysisDeps, 'cipher' | 'keywordKeys'>;

const isMysql = (em: EntityManager) => em.connection.options.type === 'mysql';

/**
 * The keyword rows of these words, under any configured key: word -> id. When a word has two rows
 * (from before hashes were re-keyed, or written by an instance still on an old key), the one a key
 * rotation keeps is chosen: the row under the first key, else the oldest (smallest id) — the
 * rotation re-keys rows in id order and merges later ones into the first, so both choose alike.
 */
async function findKeywordRows(em: EntityManager, keys: KeywordKey[], words: string[]): Promise<Map<string, number>> {
  const byHash = new Map<string, { word: string; keyIndex: number }>();
  keys.forEach((k, keyIndex) => words.forEach((word) => byHash.set(keywordHash(k.key, word), { word, keyIndex })));
  const hashes = [...byHash.keys()];
  const rows: { id: unknown; hash: string }[] = await em.query(`SELECT id, hash FROM analysis_keywords WHERE hash IN (${hashes.map(() => '?').join(', ')})`, hashes);
  const chosen = new Map<string, { id: number; underFirst: boolean }>();
  for (const row of rows) {
    const { word, keyIndex } = byHash.get(row.hash)!;
    const candidate = { id: Number(row.id), underFirst: keyIndex === 0 };
    const best = chosen.get(word);
    if (!best || (candidate.underFirst && !best.underFirst) || (candidate.underFirst === best.underFirst && candidate.id < best.id)) chosen.set(word, candidate);
  }
  return new Map([...chosen].map(([word, { id }]) => [word, id]));
}

/**
 * Keyword ids by word, remembered per app (keyed by the word's hash under the first key): a
 * keyword's id never changes once written — a key rotation re-keys the row in place — so after
 * warm-up recording an insight reads no keyword row.
 */
export function createKeywordIds() {
  const ids = new Map<string, number>();
  return {
    async idsFor(em: EntityManager, deps: KeywordDeps, words: string[], now: number): Promise<number[]> {
      const [first] = deps.keywordKeys;
      const hashes = words.map((w) => keywordHash(first.key, w));
      const result = new Map<string, number>();
      const missing = words.map((w, i) => ({ w, h: hashes[i] })).filter(({ h }) => !ids.has(h));
      if (missing.length > 0) {
        // Found rows are committed ones (the only earlier write in a turn is its own insight): cached.
        const found = await findKeywordRows(em, deps.keywordKeys, missing.map((m) => m.w));
        for (const { w, h } of missing) if (found.has(w)) ids.set(h, found.get(w)!);
        const fresh = missing.filter(({ h }) => !ids.has(h));
        if (fresh.length > 0) {
          // Another instance may insert the same word at the same moment: the unique hash keeps one.
          await em
            .createQueryBuilder()
            .insert()
            .into(AnalysisKeywordEntity)
            .values(fresh.map(({ h, w }) => ({ hash: h, wordEnc: deps.cipher.encrypt(w), hashKey: first.id, mergedInto: null, createdAt: now })))
            .orIgnore()
            .execute();
          // A locking read on MySQL: a row another instance committed after this transaction's
          // snapshot (its INSERT was ignored here) is invisible to a plain read. Not cached: this
          // transaction may still roll back, and the rows with it.
          const fresher = fresh.map((f) => f.h);
          const rows: { id: unknown; hash: string }[] = await em.query(
            `SELECT id, hash FROM analysis_keywords WHERE hash IN (${fresher.map(() => '?').join(', ')})${isMysql(em) ? ' LOCK IN SHARE MODE' : ''}`,
            fresher,
          );
          for (const row of rows) result.set(row.hash, Number(row.id));
        }
      }
      return hashes.map((h) => ids.get(h) ?? result.get(h)!);
    },
    forget(): void {
      ids.clear();
    },
  };
}

export type KeywordIds = ReturnType<typeof createKeywordIds>;

type CountTable = 'keyword_months' | 'keyword_month_departments';
const COUNT_KEYS: Record<CountTable, string[]> = { keyword_months: ['month', 'keyword_id'], keyword_month_departments: ['keyword_id', 'month', 'department_id'] };

/**
 * Adds n to month counts (multi-row upserts, addKeyedCounts); rows are the key columns' values then n. A
 * negative n takes a source back (a replaced report, a merged keyword): rows left at 0 are deleted,
 * since a department row with n = 0 would still count as a department behind the theme.
 */
export async function addCounts(em: EntityManager, table: CountTable, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const key = COUNT_KEYS[table];
  await addKeyedCounts(em, table, key, ['n'], rows);
  if (rows.some((r) => Number(r[r.length - 1]) < 0)) {
    const ids = [...new Set(rows.map((r) => r[key.indexOf('keyword_id')]))];
    await em.query(`DELETE FROM ${table} WHERE keyword_id IN (${ids.map(() => '?').join(', ')}) AND n <= 0`, ids);
  }
}

/**
 * A department report's keywords are kept in insight_keywords too, under minus its cycle task's id
 * (insight ids are positive), so every theme query counts insights and reports alike without a
 * UNION; their category is '' (a report has none).
 */
export const reportSourceId = (taskId: number): number => -taskId;
export const REPORT_CATEGORY = '';

/** Takes a source's keywords back (a department report replaced by its next version): rows and month counts. */
export async function removeSourceKeywords(em: EntityManager, sourceId: number, timeZone: string): Promise<void> {
  const rows: { k: unknown; d: string | null; t: unknown }[] = await em.query(
    'SELECT keyword_id AS k, department_id AS d, created_at AS t FROM insight_keywords WHERE insight_id = ?',
    [sourceId],
  );
  if (rows.length === 0) return;
  await addCounts(em, 'keyword_months', rows.map((r) => [monthKey(timeZone, Number(r.t)), Number(r.k), -1]));
  await addCounts(em, 'keyword_month_departments', rows.map((r) => [Number(r.k), monthKey(timeZone, Number(r.t)), r.d ?? '', -1]));
  await em.query('DELETE FROM insight_keywords WHERE insight_id = ?', [sourceId]);
}

/** An insight's (or a department report's) keywords, and the month counts they add to (one multi-row upsert each). */
export async function storeInsightKeywords(
  em: EntityManager,
  insight: { id: number; departmentId: string | null; category: string; createdAt: number },
  keywordIds: number[],
  timeZone: string,
): Promise<void> {
  const unique = [...new Set(keywordIds)];
  if (unique.length === 0) return;
  await em.insert(
    InsightKeywordEntity,
    unique.map((keywordId) => ({ insightId: insight.id, keywordId, departmentId: insight.departmentId, category: insight.category, createdAt: insight.createdAt })),
  );
  const month = monthKey(timeZone, insight.createdAt);
  const department = insight.departmentId ?? '';
  await addCounts(em, 'keyword_months', unique.map((k) => [month, k, 1]));
  await addCounts(em, 'keyword_month_departments', unique.map((k) => [k, month, department, 1]));
}

/** Adds a word to the office's dictionary; false when it is there already (under any configured key). */
export async function addTerm(em: EntityManager, deps: KeywordDeps, word: string, addedBy: string, now: number): Promise<boolean> {
  const [first] = deps.keywordKeys;
  if (await em.findOneBy(AnalysisTermEntity, { hash: In(deps.keywordKeys.map((k) => termHash(k.key, word))) })) return false;
  await em.insert(AnalysisTermEntity, { hash: termHash(first.key, word), wordEnc: deps.cipher.encrypt(word), hashKey: first.id, addedBy, createdAt: now });
  return true;
}

export async function officeTerms(em: EntityManager, cipher: DataCipher): Promise<string[]> {
  const rows = await em.find(AnalysisTermEntity, { order: { id: 'ASC' } });
  return rows.map((r) => cipher.decrypt(r.wordEnc));
}

/** Decrypts the words of the given keyword ids (only the few a reply shows). */
export async function wordsOf(em: EntityManager, cipher: DataCipher, keywordIds: number[]): Promise<Map<number, string>> {
  if (keywordIds.length === 0) return new Map();
  const rows = await em.findBy(AnalysisKeywordEntity, { id: In(keywordIds) });
  return new Map(rows.map((r) => [r.id, cipher.decrypt(r.wordEnc)]));
}

/** The reporter corrected an insight's category: its keyword rows follow. */
export async function recategorize(em: EntityManager, insightId: number, category: string): Promise<void> {
  await em.update(InsightKeywordEntity, { insightId }, { category });
}


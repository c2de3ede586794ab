import { In, type EntityManager } from 'typeorm';
import { AnalysisKeywordEntity, AnalysisTermEntity, InsightKeywordEntity } from '../../db/entities/analysis.entity';
import type { DataCipher } from '../../lib/data-cipher';
import { keywordHash } from './keyword-hash';
import { monthKey } from './months';

/** What the analysis module needs, built once by the composition root. */
export interface AnalysisDeps {
  cipher: DataCipher;
  /** HMAC key of keyword hashes (deriveKeywordKey(DATA_KEY)). */
  keywordKey: Buffer;
  themeSpread: number;
  minThemeCount: number;
  minGroupSize: number;
  timeZone: string;
}

/**
 * Keyword ids by hash, remembered per app: a keyword's row never changes once written (until the
 * data key is rotated, which rebuilds them), so after warm-up recording an insight reads no keyword row.
 */
export function createKeywordIds() {
  const ids = new Map<string, number>();
  return {
    async idsFor(em: EntityManager, deps: Pick<AnalysisDeps, 'cipher' | 'keywordKey'>, words: string[], now: number): Promise<number[]> {
      const hashes = words.map((w) => keywordHash(deps.keywordKey, w));
      const result = new Map<string, number>();
      const missing = hashes.filter((h) => !ids.has(h));
      if (missing.length > 0) {
        // Found rows are committed ones (the only earlier write in a turn is its own insight): cached.
        for (const row of await em.findBy(AnalysisKeywordEntity, { hash: In(missing) })) ids.set(row.hash, row.id);
        const fresh = hashes.map((h, i) => ({ h, w: words[i] })).filter(({ h }) => !ids.has(h));
        if (fresh.length > 0) {
          // Another instance may insert the same word at the same moment: the unique hash keeps one.
          await em
            .createQueryBuilder()
            .insert()
            .into(AnalysisKeywordEntity)
            .values(fresh.map(({ h, w }) => ({ hash: h, wordEnc: deps.cipher.encrypt(w), createdAt: now })))
            .orIgnore()
            .execute();
          // Not cached: this transaction may still roll back, and the rows with it.
          for (const row of await em.findBy(AnalysisKeywordEntity, { hash: In(fresh.map((f) => f.h)) })) result.set(row.hash, row.id);
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

/** An insight's keywords, and the month counts they add to (one multi-row upsert each). */
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
  const mysql = em.connection.options.type === 'mysql';
  const increment = (table: string, columns: string[], key: string[], rows: unknown[][]) =>
    em.query(
      `INSERT INTO ${table} (${columns.join(', ')}, n) VALUES ${rows.map((r) => `(${r.map(() => '?').join(', ')}, 1)`).join(', ')} ` +
        (mysql ? 'ON DUPLICATE KEY UPDATE n = n + 1' : `ON CONFLICT (${key.join(', ')}) DO UPDATE SET n = n + 1`),
      rows.flat(),
    );
  await increment('keyword_months', ['month', 'keyword_id'], ['month', 'keyword_id'], unique.map((k) => [month, k]));
  const department = insight.departmentId ?? '';
  await increment('keyword_month_departments', ['keyword_id', 'month', 'department_id'], ['keyword_id', 'month', 'department_id'], unique.map((k) => [k, month, department]));
}

/** Adds a word to the office's dictionary; false when it is there already. */
export async function addTerm(em: EntityManager, deps: Pick<AnalysisDeps, 'cipher' | 'keywordKey'>, word: string, addedBy: string, now: number): Promise<boolean> {
  const hash = keywordHash(deps.keywordKey, `term:${word}`);
  if (await em.findOneBy(AnalysisTermEntity, { hash })) return false;
  await em.insert(AnalysisTermEntity, { hash, wordEnc: deps.cipher.encrypt(word), addedBy, createdAt: now });
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

/**
 * Re-keys the analysis tables when the data key is rotated (to be called by the rotation, in its
 * transaction, with the old and the new key's cipher and keyword key): each word is decrypted with
 * the old key, hashed and encrypted with the new one. Keyword ids stay, so no count moves. Apps
 * built on the old key must be restarted (their id caches hold old hashes).
 */
export async function rekeyAnalysis(
  em: EntityManager,
  from: Pick<AnalysisDeps, 'cipher' | 'keywordKey'>,
  to: Pick<AnalysisDeps, 'cipher' | 'keywordKey'>,
): Promise<{ keywords: number; terms: number }> {
  const keywords = await em.find(AnalysisKeywordEntity);
  for (const row of keywords) {
    const word = from.cipher.decrypt(row.wordEnc);
    await em.update(AnalysisKeywordEntity, { id: row.id }, { hash: keywordHash(to.keywordKey, word), wordEnc: to.cipher.encrypt(word) });
  }
  const terms = await em.find(AnalysisTermEntity);
  for (const row of terms) {
    const word = from.cipher.decrypt(row.wordEnc);
    await em.update(AnalysisTermEntity, { id: row.id }, { hash: keywordHash(to.keywordKey, `term:${word}`), wordEnc: to.cipher.encrypt(word) });
  }
  return { keywords: keywords.length, terms: terms.length };
}

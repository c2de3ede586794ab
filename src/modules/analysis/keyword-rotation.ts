import type { DataSource, EntityManager } from 'typeorm';
import type { KeyRotationStep } from '../../core/key-rotation';
import type { ColumnKeyCount } from '../../core/data-keys';
import { LEGACY_KEY_ID, type KeyedCipher } from '../../lib/data-cipher';
import { deriveKeywordKey, keywordHash, termHash, type KeywordKey } from './keyword-hash';
import { addCounts } from './keyword-store';
import { monthKey } from './months';
import { forUpdateSql } from '../../db/row-locks';

/*
 * `xinsheng key rotate` re-keys 研判's hashes to DATA_KEY's first key (BotModule.keyRotation), after
 * the encrypted tables. The design that keeps counts exact across a rotation:
 *  - Every count refers to a keyword's id, never to its hash. A keyword row is re-keyed in place
 *    (new hash, its key id in `hash_key`, the word re-encrypted), so its id and counts stay.
 *  - Instances look a word up under every configured key (deriveKeywordKeys), so one started with
 *    DATA_KEY="new,old" finds the row before its re-keying (old hash) and after (new hash): an
 *    insight recorded during the rotation lands on the same row, and new words get new-key hashes.
 *  - Two rows of one word (from before this version, or written by an instance still running with
 *    only the old key) meet when the later one is re-keyed: its counts are merged into the row
 *    that already has the new hash (every table keyed by keyword id, summing where a key would
 *    repeat), and it stays as a pointer (`merged_into`, no valid hash) so that counts an instance
 *    that had cached its id still writes there are moved by the next run. Lookups choose the row a
 *    rotation keeps (findKeywordRows), so instances with the new DATA_KEY never write to a merged one.
 * Each row is one idempotent unit (a row under the first key is skipped), so a killed run repeats
 * at most its last batch.
 */

type Db = DataSource | EntityManager;

const placeholders = (values: unknown[]) => values.map(() => '?').join(', ');
/** A merged keyword's hash: unique and never an HMAC (those are 64 hex digits). */
const mergedHash = (id: number) => `merged:${id}`;

function firstKeywordKey(cipher: KeyedCipher): KeywordKey {
  return { id: cipher.keys[0].id, key: deriveKeywordKey(cipher.keys[0].key) };
}

async function countByHashKey(db: Db, table: string, where: string): Promise<ColumnKeyCount> {
  const rows: { k: string | null; n: unknown }[] = await db.query(`SELECT hash_key AS k, COUNT(*) AS n FROM ${table}${where} GROUP BY hash_key`);
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.k ?? LEGACY_KEY_ID] = (counts[r.k ?? LEGACY_KEY_ID] ?? 0) + Number(r.n);
  return { table, column: 'hash', counts };
}

/**
 * Moves everything counted under keyword `from` to keyword `into`: insight rows (an insight or
 * report carrying both is counted once, and its month counts under `from` taken back), month
 * counts (summed), spread warnings (unless `into` has one for the same quarter: that one stays).
 */
export async function mergeKeyword(em: EntityManager, from: number, into: number, timeZone: string): Promise<void> {
  const both: { i: unknown; d: string | null; t: unknown }[] = await em.query(
    `SELECT a.insight_id AS i, a.department_id AS d, a.created_at AS t FROM insight_keywords a
     JOIN insight_keywords b ON b.insight_id = a.insight_id AND b.keyword_id = ? WHERE a.keyword_id = ?${forUpdateSql(em)}`,
    [into, from],
  );
  if (both.length > 0) {
    await em.query(`DELETE FROM insight_keywords WHERE keyword_id = ? AND insight_id IN (${placeholders(both)})`, [from, ...both.map((r) => r.i)]);
    await addCounts(em, 'keyword_months', both.map((r) => [monthKey(timeZone, Number(r.t)), from, -1]));
    await addCounts(em, 'keyword_month_departments', both.map((r) => [from, monthKey(timeZone, Number(r.t)), r.d ?? '', -1]));
  }
  await em.query('UPDATE insight_keywords SET keyword_id = ? WHERE keyword_id = ?', [into, from]);
  const months: { m: unknown; n: unknown }[] = await em.query(`SELECT month AS m, n FROM keyword_months WHERE keyword_id = ?${forUpdateSql(em)}`, [from]);
  await addCounts(em, 'keyword_months', months.map((r) => [Number(r.m), into, Number(r.n)]));
  await em.query('DELETE FROM keyword_months WHERE keyword_id = ?', [from]);
  const departments: { m: unknown; d: string; n: unknown }[] = await em.query(
    `SELECT month AS m, department_id AS d, n FROM keyword_month_departments WHERE keyword_id = ?${forUpdateSql(em)}`,
    [from],
  );
  await addCounts(em, 'keyword_month_departments', departments.map((r) => [into, Number(r.m), r.d, Number(r.n)]));
  await em.query('DELETE FROM keyword_month_departments WHERE keyword_id = ?', [from]);
  const taken = new Set(((await em.query("SELECT period FROM analysis_warnings WHERE kind = 'spread' AND subject = ?", [String(into)])) as { period: string }[]).map((r) => r.period));
  const moving: { id: unknown; period: string }[] = await em.query("SELECT id, period FROM analysis_warnings WHERE kind = 'spread' AND subject = ?", [String(from)]);
  const free = moving.filter((w) => !taken.has(w.period));
  if (free.length > 0) await em.query(`UPDATE analysis_warnings SET subject = ? WHERE id IN (${placeholders(free)})`, [String(into), ...free.map((w) => w.id)]);
}

/** Where a merged keyword's counts belong now: its target may itself have been merged since. */
async function finalTarget(em: EntityManager, id: number): Promise<number> {
  for (let hops = 0; hops < 100; hops++) {
    const [row] = (await em.query('SELECT merged_into AS m FROM analysis_keywords WHERE id = ?', [id])) as { m: unknown }[];
    if (!row || row.m === null) return id;
    id = Number(row.m);
  }
  return id;
}

interface KeywordRow {
  id: unknown;
  hash: string;
  word_enc: string;
  hash_key: string | null;
  merged_into: unknown;
}

function keywordStep(timeZone: string): KeyRotationStep {
  return {
    name: 'analysis_keywords.hash',
    async batch(em, cipher, cursor, limit) {
      const first = firstKeywordKey(cipher);
      const after = cursor ? Number(cursor[0]) : 0;
      const rows: KeywordRow[] = await em.query(`SELECT id, hash, word_enc, hash_key, merged_into FROM analysis_keywords WHERE id > ? ORDER BY id LIMIT ${Number(limit)}`, [after]);
      let rekeyed = 0;
      for (const row of rows) {
        const id = Number(row.id);
        if (row.merged_into !== null) {
          // Counts an instance wrote to it after it was merged (it had the id cached) follow it.
          await mergeKeyword(em, id, await finalTarget(em, Number(row.merged_into)), timeZone);
          continue;
        }
        if (row.hash_key === first.id) continue;
        const word = cipher.decrypt(row.word_enc);
        const hash = keywordHash(first.key, word);
        const [holder] = (await em.query('SELECT id FROM analysis_keywords WHERE hash = ?', [hash])) as { id: unknown }[];
        if (holder && Number(holder.id) !== id) {
          await mergeKeyword(em, id, Number(holder.id), timeZone);
          await em.query('UPDATE analysis_keywords SET hash = ?, hash_key = ?, merged_into = ?, word_enc = ? WHERE id = ?', [mergedHash(id), first.id, Number(holder.id), cipher.encrypt(word), id]);
        } else {
          await em.query('UPDATE analysis_keywords SET hash = ?, hash_key = ?, word_enc = ? WHERE id = ?', [hash, first.id, cipher.encrypt(word), id]);
        }
        rekeyed++;
      }
      const last = rows[rows.length - 1];
      return { rows: rows.length, rekeyed, last: last ? [Number(last.id)] : null };
    },
    countByKey: async (db) => [await countByHashKey(db, 'analysis_keywords', ' WHERE merged_into IS NULL')],
  };
}

const termStep: KeyRotationStep = {
  name: 'analysis_terms.hash',
  async batch(em, cipher, cursor, limit) {
    const first = firstKeywordKey(cipher);
    const after = cursor ? Number(cursor[0]) : 0;
    const rows: { id: unknown; word_enc: string; hash_key: string | null }[] = await em.query(
      `SELECT id, word_enc, hash_key FROM analysis_terms WHERE id > ? ORDER BY id LIMIT ${Number(limit)}`,
      [after],
    );
    let rekeyed = 0;
    for (const row of rows) {
      if (row.hash_key === first.id) continue;
      const word = cipher.decrypt(row.word_enc);
      const hash = termHash(first.key, word);
      const [holder] = (await em.query('SELECT id FROM analysis_terms WHERE hash = ?', [hash])) as { id: unknown }[];
      // The same word added twice (under two keys): one entry is enough, nothing refers to a term's id.
      if (holder && Number(holder.id) !== Number(row.id)) await em.query('DELETE FROM analysis_terms WHERE id = ?', [row.id]);
      else await em.query('UPDATE analysis_terms SET hash = ?, hash_key = ?, word_enc = ? WHERE id = ?', [hash, first.id, cipher.encrypt(word), row.id]);
      rekeyed++;
    }
    const last = rows[rows.length - 1];
    return { rows: rows.length, rekeyed, last: last ? [Number(last.id)] : null };
  },
  countByKey: async (db) => [await countByHashKey(db, 'analysis_terms', '')],
};

/** 研判's part of `xinsheng key rotate`: keyword hashes, then the office's terms. */
export function analysisRotationSteps(timeZone: string): KeyRotationStep[] {
  return [keywordStep(timeZone), termStep];
}

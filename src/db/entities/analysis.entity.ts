import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

/**
 * 研判 (analysis). Keywords are stored as keyed hashes (HMAC-SHA256, key derived from DATA_KEY) so
 * that counts run in SQL; the word itself only encrypted, for display. No plaintext word at rest.
 */
export interface AnalysisKeyword {
  id: number;
  /** hex HMAC-SHA256 of the word. */
  hash: string;
  /** AES-256-GCM ciphertext of the word (DataCipher). */
  wordEnc: string;
  /** The id of the data key the hash is keyed with (null: from before key ids on hashes). */
  hashKey: string | null;
  /** Set when a key rotation merged this keyword into another (two rows of one word): counts belong there. */
  mergedInto: number | null;
  createdAt: number;
}

/** One keyword of one insight, with the insight's department and time copied for GROUP BY over one index. */
export interface InsightKeyword {
  insightId: number;
  keywordId: number;
  departmentId: string | null;
  /** The insight's category (kept current on correction). */
  category: string;
  createdAt: number;
}

/** A word the office added to the domain dictionary (`研判 词典 添加`). */
export interface AnalysisTerm {
  id: number;
  hash: string;
  wordEnc: string;
  hashKey: string | null;
  addedBy: string | null;
  createdAt: number;
}

export type WarningKind = 'department' | 'category' | 'spread';
export type WarningState = 'open' | 'read' | 'classified';

/** An early warning (早预警) sent once per kind, subject and quarter. */
export interface AnalysisWarning {
  id: number;
  kind: WarningKind;
  /** department id, category code or keyword id: never a word. */
  subject: string;
  /** The quarter it belongs to, e.g. 2026Q4. */
  period: string;
  observed: number;
  /** The baseline (mean of the previous quarters) × 1000; for spread 0. */
  expectedMilli: number;
  departments: number;
  cardId: string | null;
  state: WarningState;
  issueKind: string | null;
  handledBy: string | null;
  handledAt: number | null;
  createdAt: number;
}

export const AnalysisKeywordEntity = new EntitySchema<AnalysisKeyword>({
  name: 'AnalysisKeyword',
  tableName: 'analysis_keywords',
  columns: {
    id: increment(),
    hash: { type: 'varchar', length: 64, unique: true },
    wordEnc: { name: 'word_enc', type: 'text' },
    hashKey: { name: 'hash_key', type: 'varchar', length: 64, nullable: true },
    mergedInto: { name: 'merged_into', type: 'int', nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

export const InsightKeywordEntity = new EntitySchema<InsightKeyword>({
  name: 'InsightKeyword',
  tableName: 'insight_keywords',
  columns: {
    insightId: { name: 'insight_id', type: 'int', primary: true },
    keywordId: { name: 'keyword_id', type: 'int', primary: true },
    departmentId: { name: 'department_id', type: 'varchar', length: 64, nullable: true },
    category: { type: 'varchar', length: 16 },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

export const AnalysisTermEntity = new EntitySchema<AnalysisTerm>({
  name: 'AnalysisTerm',
  tableName: 'analysis_terms',
  columns: {
    id: increment(),
    hash: { type: 'varchar', length: 64, unique: true },
    wordEnc: { name: 'word_enc', type: 'text' },
    hashKey: { name: 'hash_key', type: 'varchar', length: 64, nullable: true },
    addedBy: { name: 'added_by', type: 'varchar', length: 64, nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

export const AnalysisWarningEntity = new EntitySchema<AnalysisWarning>({
  name: 'AnalysisWarning',
  tableName: 'analysis_warnings',
  columns: {
    id: increment(),
    kind: { type: 'varchar', length: 16 },
    subject: { type: 'varchar', length: 64 },
    period: { type: 'varchar', length: 8 },
    observed: { type: 'int' },
    expectedMilli: { name: 'expected_milli', type: 'int' },
    departments: { type: 'int' },
    cardId: { name: 'card_id', type: 'varchar', length: 64, nullable: true },
    state: { type: 'varchar', length: 16, default: 'open' },
    issueKind: { name: 'issue_kind', type: 'varchar', length: 16, nullable: true },
    handledBy: { name: 'handled_by', type: 'varchar', length: 64, nullable: true },
    handledAt: { name: 'handled_at', ...epochMs(true) },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

/** Insights per keyword and month (year × 100 + month in TZ): what 研判 ranks themes by. */
export interface KeywordMonth {
  month: number;
  keywordId: number;
  n: number;
}

/** Insights per keyword, month and department ('' for none): departments behind a theme. */
export interface KeywordMonthDepartment {
  keywordId: number;
  month: number;
  departmentId: string;
  n: number;
}

export const KeywordMonthEntity = new EntitySchema<KeywordMonth>({
  name: 'KeywordMonth',
  tableName: 'keyword_months',
  columns: {
    month: { type: 'int', primary: true },
    keywordId: { name: 'keyword_id', type: 'int', primary: true },
    n: { type: 'int', default: 0 },
  },
});

export const KeywordMonthDepartmentEntity = new EntitySchema<KeywordMonthDepartment>({
  name: 'KeywordMonthDepartment',
  tableName: 'keyword_month_departments',
  columns: {
    keywordId: { name: 'keyword_id', type: 'int', primary: true },
    month: { type: 'int', primary: true },
    departmentId: { name: 'department_id', type: 'varchar', length: 64, primary: true },
    n: { type: 'int', default: 0 },
  },
});

import type { EntityManager } from 'typeorm';
import type { DataCipher } from '../lib/data-cipher';

/*
 * What feature modules expose to each other (the unit report, supervision, cycle drafts) as small
 * query functions, instead of reading each other's tables. Every fact here already obeys the
 * confidentiality rules (MIN_GROUP_SIZE, MIN_COMMENT_GROUP_SIZE, complementary suppression): a
 * consumer may print it as is. The composition root (src/app.ts) wires the providers into
 * BotServices.facts; a provider that is absent means "no such data" (a quarter with insights only
 * still gives a report).
 */

/** A time range [start, end) in epoch ms with its label (2026年第四季度, R-2026-0002 …). */
export interface FactRange {
  start: number;
  end: number;
  label: string;
}

/** What a query function needs besides the transaction. BotServices satisfies it. */
export interface FactServices {
  cipher: DataCipher;
  timeZone: string;
  minGroupSize: number;
  minCommentGroupSize: number;
}

export interface SurveyOptionFact {
  id: string;
  label: string;
  count: number;
  /** 0–100, of those who answered the question. */
  percent: number;
}

export interface SurveyQuestionFact {
  key: string;
  text: string;
  type: 'single' | 'multi' | 'rating' | 'text';
  answered: number;
  options?: SurveyOptionFact[];
  ratingMean?: number | null;
  /** Counts of ratings 1–5. */
  ratingDistribution?: number[];
  /** Free-text answers, in random order, only when at least MIN_COMMENT_GROUP_SIZE answered. */
  comments?: string[];
}

/** A closed questionnaire's results, suppression applied. */
export interface SurveyFact {
  number: string;
  title: string;
  anonymous: boolean;
  closedAt: number;
  recipients: number;
  respondents: number;
  /** 0–1. */
  responseRate: number;
  questions: SurveyQuestionFact[];
  /** Per department where shown; small groups merged under departmentId null (其他部门). */
  byDepartment: { departmentId: string | null; name: string; recipients: number; respondents: number }[];
}

export type DepartmentReportStatus = 'on_time' | 'late' | 'missing' | 'nil';

/** A department's report (定期报告 / 专题报告) of a cycle, decrypted for a reader with the right. */
export interface DepartmentReportFact {
  cycleNumber: string;
  departmentId: string;
  departmentName: string;
  liaisonName: string | null;
  status: DepartmentReportStatus;
  submittedAt: number | null;
  /** Whole days after the deadline (0 when on time or missing). */
  lateDays: number;
  /** The four sections of Art. 11; null for a nil or missing report. */
  sections: { overall: string; performance: string; causes: string; suggestions: string } | null;
  /** Text extracted from an attached .docx/.pdf, when the liaison sent one. */
  attachmentText?: string | null;
}

/** A theme of the period (分析研判), counted over insights' keywords (hashes; only shown words are decrypted). */
export interface ThemeFact {
  /** The theme's words joined by · (食堂·饭菜), decrypted for display. */
  word: string;
  /**
   * Its keywords, the one it is counted by first: a theme is a keyword or a small cluster of keywords
   * found together in most of its insights.
   */
  words?: string[];
  /** Insights in the period that carry it (a submitted department report counts as one, for its department). */
  insights: number;
  /** Distinct departments behind those insights. */
  departments: number;
  /** Insights carrying it in the previous period; null when the previous period has no insight at all in scope. */
  previousInsights: number | null;
  /** Category codes (political, work, interests, wellbeing, other) of its insights, most frequent first. */
  categories: string[];
  /** Raised in at least THEME_SPREAD departments: 倾向性, to be considered 普遍性 (Art. 14(一)). */
  spread: boolean;
}

/** Supervision (督促检查, Art. 18) per department and liaison. */
export interface SupervisionFact {
  departmentId: string;
  departmentName: string;
  liaisonName: string | null;
  reportsOnTime: number;
  reportsLate: number;
  /** Sum of days late over late reports. */
  lateDays: number;
  reportsMissing: number;
  nilReports: number;
  insights: number;
  immediateReports: number;
  /** Median minutes from an immediate report to its acknowledgement; null without any. */
  medianAckMinutes: number | null;
  /** 0–1 over closed questionnaires of the range; null when there was none or the group is too small. */
  surveyResponseRate: number | null;
  trainings: number;
  commendations: number;
}

/** The providers, each optional (wired in src/app.ts). */
export interface FactSources {
  surveys?(em: EntityManager, services: FactServices, range: FactRange, options?: { departmentId?: string }): Promise<SurveyFact[]>;
  departmentReports?(em: EntityManager, services: FactServices, selector: { range?: FactRange; cycleNumber?: string }): Promise<DepartmentReportFact[]>;
  supervision?(em: EntityManager, services: FactServices, range: FactRange): Promise<SupervisionFact[]>;
  themes?(em: EntityManager, services: FactServices, range: FactRange, options?: { departmentId?: string }): Promise<ThemeFact[]>;
}

import { EntitySchema } from 'typeorm';
import { epochMs, idColumn } from '../columns';

export type SurveyStatus = 'draft' | 'open' | 'closed' | 'cancelled';

/** A questionnaire (问卷): a snapshot of its template, who it went to, its deadline and state. */
export interface Survey {
  id: string;
  /** Q-2026-0001 */
  number: string;
  templateId: string;
  title: string;
  /** JSON of the template as published (later edits of the file do not change it). */
  definition: string;
  anonymous: boolean;
  /** JSON list of department ids, or null for 全体. */
  scope: string | null;
  status: SurveyStatus;
  publisherId: string;
  deadlineAt: number;
  /** JSON list of the shared card ids, one per choice page. */
  pageCards: string;
  recipients: number;
  /** Set at the first stored answer: from then on 匿名/实名 can no longer change. */
  locked: boolean;
  createdAt: number;
  publishedAt: number | null;
  closedAt: number | null;
  resultsPublishedAt: number | null;
}

/**
 * Participation: who received the questionnaire and how far they got — never what they said.
 * `answered` lists question keys (not choices); `lastDay` is the local day of the last answer.
 */
export interface SurveyParticipant {
  surveyId: string;
  personId: string;
  departmentId: string | null;
  answered: string;
  /** Choice pages completed. */
  pagesDone: number;
  /** The free-text question asked and waiting for the person's next message, if any. */
  awaiting: string | null;
  completed: boolean;
  lastDay: string | null;
}

/**
 * Answers. Anonymous questionnaires: no person id, no time at all, a random key (the table is
 * WITHOUT ROWID on SQLite and has no auto-increment on MySQL, so neither key nor storage order
 * follows arrival). Named questionnaires keep the person id, so an answer can be changed.
 */
export interface SurveyAnswer {
  id: string;
  surveyId: string;
  questionKey: string;
  departmentId: string | null;
  /** Option id(s) comma-joined, or the rating 1–5; null for free text. */
  value: string | null;
  /** Free text, encrypted. */
  textEnc: string | null;
  personId: string | null;
}

export const SurveyEntity = new EntitySchema<Survey>({
  name: 'Survey',
  tableName: 'surveys',
  columns: {
    id: idColumn(36),
    number: { type: 'varchar', length: 20, unique: true },
    templateId: { name: 'template_id', type: 'varchar', length: 40 },
    title: { type: 'varchar', length: 64 },
    definition: { type: 'text' },
    anonymous: { type: 'boolean' },
    scope: { type: 'text', nullable: true },
    status: { type: 'varchar', length: 16 },
    publisherId: { name: 'publisher_id', type: 'varchar', length: 64 },
    deadlineAt: { name: 'deadline_at', ...epochMs() },
    pageCards: { name: 'page_cards', type: 'text' },
    recipients: { type: 'int', default: 0 },
    locked: { type: 'boolean', default: false },
    createdAt: { name: 'created_at', ...epochMs() },
    publishedAt: { name: 'published_at', ...epochMs(true) },
    closedAt: { name: 'closed_at', ...epochMs(true) },
    resultsPublishedAt: { name: 'results_published_at', ...epochMs(true) },
  },
});

export const SurveyParticipantEntity = new EntitySchema<SurveyParticipant>({
  name: 'SurveyParticipant',
  tableName: 'survey_participants',
  columns: {
    surveyId: { name: 'survey_id', type: 'varchar', length: 36, primary: true },
    personId: { name: 'person_id', type: 'varchar', length: 64, primary: true },
    departmentId: { name: 'department_id', type: 'varchar', length: 64, nullable: true },
    answered: { type: 'text' },
    pagesDone: { name: 'pages_done', type: 'int', default: 0 },
    awaiting: { type: 'varchar', length: 32, nullable: true },
    completed: { type: 'boolean', default: false },
    lastDay: { name: 'last_day', type: 'varchar', length: 10, nullable: true },
  },
});

export const SurveyAnswerEntity = new EntitySchema<SurveyAnswer>({
  name: 'SurveyAnswer',
  tableName: 'survey_answers',
  columns: {
    id: idColumn(32),
    surveyId: { name: 'survey_id', type: 'varchar', length: 36 },
    questionKey: { name: 'question_key', type: 'varchar', length: 32 },
    departmentId: { name: 'department_id', type: 'varchar', length: 64, nullable: true },
    value: { type: 'varchar', length: 500, nullable: true },
    textEnc: { name: 'text_enc', type: 'text', nullable: true },
    personId: { name: 'person_id', type: 'varchar', length: 64, nullable: true },
  },
});

/**
 * Counts of a questionnaire's answers, kept as answers arrive, so that results read a few
 * thousand rows rather than every answer: per question, department (`''`: people in no
 * department) and option, where option `''` counts the people who answered the question at all
 * (a multi-choice answer "a,c" adds 1 to `''`, to a and to c). Counts only: no person, no time,
 * nothing that survey_answers' department column does not already tell; the table is keyed (and on
 * SQLite stored, WITHOUT ROWID) by its key, so neither its order nor a hidden row id follows arrival.
 */
export interface SurveyAnswerTally {
  surveyId: string;
  questionKey: string;
  departmentKey: string;
  optionId: string;
  n: number;
}

/** Per department of a questionnaire: how many it went to (set at 确认发布) and how many have answered anything. */
export interface SurveyDepartmentTally {
  surveyId: string;
  /** The department id; `''` for people in no department. */
  departmentKey: string;
  recipients: number;
  respondents: number;
}

export const SurveyAnswerTallyEntity = new EntitySchema<SurveyAnswerTally>({
  name: 'SurveyAnswerTally',
  tableName: 'survey_answer_tallies',
  columns: {
    surveyId: { name: 'survey_id', type: 'varchar', length: 36, primary: true },
    questionKey: { name: 'question_key', type: 'varchar', length: 32, primary: true },
    departmentKey: { name: 'department_key', type: 'varchar', length: 64, primary: true },
    optionId: { name: 'option_id', type: 'varchar', length: 32, primary: true },
    n: { type: 'int', default: 0 },
  },
});

export const SurveyDepartmentTallyEntity = new EntitySchema<SurveyDepartmentTally>({
  name: 'SurveyDepartmentTally',
  tableName: 'survey_department_tallies',
  columns: {
    surveyId: { name: 'survey_id', type: 'varchar', length: 36, primary: true },
    departmentKey: { name: 'department_key', type: 'varchar', length: 64, primary: true },
    recipients: { type: 'int', default: 0 },
    respondents: { type: 'int', default: 0 },
  },
});

import type { EntityManager } from 'typeorm';
import { addKeyedCounts } from '../../db/keyed-counts';
import { SurveyParticipantEntity, type SurveyParticipant } from '../../db/entities/survey.entity';

/*
 * A questionnaire's counts, kept as answers arrive (survey_answer_tallies, survey_department_tallies;
 * see their migration), so that 问卷 结果 reads a few thousand rows instead of a million answers and
 * 100,000 participants. Every write to survey_answers and every first answer of a participant goes
 * through here, in the same transaction; rebuildSurveyTallies recomputes them from the rows.
 */

const ANSWER_TALLIES = 'survey_answer_tallies';
const ANSWER_KEY = ['survey_id', 'question_key', 'department_key', 'option_id'] as const;
const DEPARTMENT_TALLIES = 'survey_department_tallies';
const DEPARTMENT_KEY = ['survey_id', 'department_key'] as const;

/** People in no department are counted under ''. */
export const departmentKey = (departmentId: string | null): string => departmentId ?? '';

/** One stored answer as the tallies see it: its question, department and value (option ids comma-joined; null for free text). */
export interface TalliedAnswer {
  questionKey: string;
  departmentId: string | null;
  value: string | null;
}

/** The tally rows one answer adds to: '' (answered the question) and each option it names. */
function tallyRows(surveyId: string, answer: TalliedAnswer, n: number): unknown[][] {
  const department = departmentKey(answer.departmentId);
  const rows: unknown[][] = [[surveyId, answer.questionKey, department, '', n]];
  for (const option of (answer.value ?? '').split(',').filter(Boolean)) rows.push([surveyId, answer.questionKey, department, option, n]);
  return rows;
}

/**
 * Counts answers stored (`added`) and takes back the counts of answers deleted (`removed`: a named
 * questionnaire's page or free-text answer given again). One multi-row upsert, in key order; rows a
 * removal leaves at 0 are deleted, so the tallies stay what rebuildSurveyTallies would compute.
 */
export async function changeAnswerTallies(em: EntityManager, surveyId: string, added: readonly TalliedAnswer[], removed: readonly TalliedAnswer[] = []): Promise<void> {
  const rows = [...added.flatMap((a) => tallyRows(surveyId, a, 1)), ...removed.flatMap((a) => tallyRows(surveyId, a, -1))];
  await addKeyedCounts(em, ANSWER_TALLIES, ANSWER_KEY, ['n'], rows);
  const emptied = new Set(removed.map((a) => JSON.stringify([a.questionKey, departmentKey(a.departmentId)])));
  for (const key of [...emptied].sort()) {
    const [questionKey, department] = JSON.parse(key) as [string, string];
    await em.query(`DELETE FROM ${ANSWER_TALLIES} WHERE survey_id = ? AND question_key = ? AND department_key = ? AND n <= 0`, [surveyId, questionKey, department]);
  }
}

/**
 * Writes a participant's progress (`patch.answered` is the full list of keys answered). On their
 * first answer (`answered` was '') the same UPDATE is conditioned on answered = '' and, when it
 * matched, counts one more respondent in their department: two submissions of one person racing
 * each other count them once, and the usual case stays one statement.
 */
export async function saveProgress(
  em: EntityManager,
  surveyId: string,
  participant: { personId: string; departmentId: string | null; answered: string },
  patch: Partial<Pick<SurveyParticipant, 'answered' | 'pagesDone' | 'awaiting' | 'lastDay'>>,
): Promise<void> {
  const row = { surveyId, personId: participant.personId };
  const first = participant.answered === '' && Boolean(patch.answered);
  if (first && (await em.update(SurveyParticipantEntity, { ...row, answered: '' }, patch)).affected) {
    await addKeyedCounts(em, DEPARTMENT_TALLIES, DEPARTMENT_KEY, ['recipients', 'respondents'], [[surveyId, departmentKey(participant.departmentId), 0, 1]]);
    return;
  }
  await em.update(SurveyParticipantEntity, row, patch);
}

/** 确认发布: recipients per department, counted from the recipients already in memory (a few multi-row statements for 1,000 departments). */
export async function countRecipients(em: EntityManager, surveyId: string, recipients: readonly { departmentId: string | null }[]): Promise<void> {
  const perDepartment = new Map<string, number>();
  for (const r of recipients) perDepartment.set(departmentKey(r.departmentId), (perDepartment.get(departmentKey(r.departmentId)) ?? 0) + 1);
  await addKeyedCounts(em, DEPARTMENT_TALLIES, DEPARTMENT_KEY, ['recipients', 'respondents'], [...perDepartment].map(([department, n]) => [surveyId, department, n, 0]));
}

/**
 * Recomputes a questionnaire's tallies from its answers and participants (after answers were loaded
 * in bulk, after a restore of partial data, or to check the live counts). Reads every answer once.
 */
export async function rebuildSurveyTallies(em: EntityManager, surveyId: string): Promise<{ answerRows: number; departmentRows: number }> {
  await em.query(`DELETE FROM ${ANSWER_TALLIES} WHERE survey_id = ?`, [surveyId]);
  await em.query(`DELETE FROM ${DEPARTMENT_TALLIES} WHERE survey_id = ?`, [surveyId]);
  await em.query(
    `INSERT INTO ${DEPARTMENT_TALLIES} (survey_id, department_key, recipients, respondents) ` +
      "SELECT survey_id, COALESCE(department_id, ''), COUNT(*), SUM(CASE WHEN answered <> '' THEN 1 ELSE 0 END) " +
      "FROM survey_participants WHERE survey_id = ? GROUP BY survey_id, COALESCE(department_id, '')",
    [surveyId],
  );
  const groups: { question_key: string; department_id: string | null; value: string | null; n: unknown }[] = await em.query(
    'SELECT question_key, department_id, value, COUNT(*) AS n FROM survey_answers WHERE survey_id = ? GROUP BY question_key, department_id, value',
    [surveyId],
  );
  const rows = groups.flatMap((g) => tallyRows(surveyId, { questionKey: g.question_key, departmentId: g.department_id, value: g.value }, Number(g.n)));
  await addKeyedCounts(em, ANSWER_TALLIES, ANSWER_KEY, ['n'], rows);
  const [{ n: departmentRows }] = await em.query(`SELECT COUNT(*) AS n FROM ${DEPARTMENT_TALLIES} WHERE survey_id = ?`, [surveyId]);
  const [{ n: answerRows }] = await em.query(`SELECT COUNT(*) AS n FROM ${ANSWER_TALLIES} WHERE survey_id = ?`, [surveyId]);
  return { answerRows: Number(answerRows), departmentRows: Number(departmentRows) };
}

/** Recipients and respondents per department (departmentId null: people in no department), in department order. */
export async function departmentTallies(em: EntityManager, surveyId: string): Promise<{ departmentId: string | null; recipients: number; respondents: number }[]> {
  const rows: { department_key: string; recipients: unknown; respondents: unknown }[] = await em.query(
    `SELECT department_key, recipients, respondents FROM ${DEPARTMENT_TALLIES} WHERE survey_id = ? ORDER BY department_key`,
    [surveyId],
  );
  return rows.map((r) => ({ departmentId: r.department_key === '' ? null : r.department_key, recipients: Number(r.recipients), respondents: Number(r.respondents) }));
}

/**
 * Per question: the people who answered it (option '') and the count of each option, over the
 * given departments (null: all; a null department: people in no department).
 */
export async function answerTallies(em: EntityManager, surveyId: string, departmentIds: readonly (string | null)[] | null): Promise<Map<string, Map<string, number>>> {
  const keys = departmentIds ? [...new Set(departmentIds.map(departmentKey))] : [];
  const where = departmentIds ? ` AND department_key IN (${keys.map(() => '?').join(', ')})` : '';
  const rows: { question_key: string; option_id: string; n: unknown }[] =
    departmentIds && keys.length === 0
      ? []
      : await em.query(`SELECT question_key, option_id, SUM(n) AS n FROM ${ANSWER_TALLIES} WHERE survey_id = ?${where} GROUP BY question_key, option_id`, [surveyId, ...keys]);
  const byQuestion = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const options = byQuestion.get(row.question_key) ?? new Map<string, number>();
    options.set(row.option_id, Number(row.n));
    byQuestion.set(row.question_key, options);
  }
  return byQuestion;
}

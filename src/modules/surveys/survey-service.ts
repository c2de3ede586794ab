import { randomBytes, randomUUID } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { nextCounterValue } from '../../core/counters';
import type { Card } from '../../core/messages';
import { recipientKey } from '../../core/platform-adapter';
import { InboundEventEntity } from '../../db/entities/messaging.entity';
import { DepartmentEntity } from '../../db/entities/org.entity';
import { insertSharedRows } from '../../db/bulk-insert';
import { SurveyAnswerEntity, SurveyEntity, SurveyParticipantEntity, type Survey, type SurveyParticipant } from '../../db/entities/survey.entity';
import { formatZoned, parseDate, startOfZonedDay, wallClock } from '../../lib/zoned-time';
import type { BotServices, JobContext, TurnContext } from '../../bot/turn-context';
import { UserFacingError } from '../../bot/turn-context';
import { choicePages, optionsOf, pageInputs, textQuestions, type SurveyPage, type SurveyQuestion, type SurveyTemplate } from './survey-template';
import { changeAnswerTallies, type TalliedAnswer } from './survey-tallies';
import { forUpdateSql } from '../../db/row-locks';

export const SURVEY_PAGE_TEMPLATE = 'survey-page';
export const MAX_TEXT_ANSWER = 2000;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const MAX_DEADLINE_AHEAD = 366 * DAY;

export interface LoadedSurvey {
  survey: Survey;
  template: SurveyTemplate;
  pages: SurveyPage[];
  texts: SurveyQuestion[];
  cardIds: string[];
}

export function loaded(survey: Survey): LoadedSurvey {
  const template = JSON.parse(survey.definition) as SurveyTemplate;
  return { survey, template, pages: choicePages(template), texts: textQuestions(template), cardIds: JSON.parse(survey.pageCards) as string[] };
}

export const deadlineTimerKey = (number: string) => `survey:${number}:deadline`;
export const reminderTimerKey = (number: string, index: number) => `survey:${number}:remind:${index}`;

/** 2026-12-20 (end of that day), 2026-12-20 17:00, 3天, 12小时, 30分钟; null when unreadable. */
export function parseDeadline(text: string, timeZone: string, now: number): number | null {
  const t = text.trim();
  const relative = /^(\d{1,4})\s*(天|日|小时|时|分钟|分)$/.exec(t);
  if (relative) {
    const n = Number(relative[1]);
    const unit = relative[2].startsWith('天') || relative[2] === '日' ? DAY : relative[2].startsWith('小') || relative[2] === '时' ? 60 * MINUTE : MINUTE;
    return now + n * unit;
  }
  const full = /^(\d{4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?$/.exec(t);
  if (!full) return null;
  const date = parseDate(full[1]);
  if (!date) return null;
  if (full[2] === undefined) return startOfZonedDay(timeZone, date.year, date.month, date.day + 1) - MINUTE;
  const hour = Number(full[2]);
  const minute = Number(full[3]);
  if (hour > 23 || minute > 59) return null;
  return startOfZonedDay(timeZone, date.year, date.month, date.day) + (hour * 60 + minute) * MINUTE;
}

export function checkDeadline(deadline: number | null, now: number): number {
  if (deadline === null) throw new UserFacingError('截止时间看不懂。请写成 2026-12-20、2026-12-20 17:00、3天、12小时 或 30分钟。');
  if (deadline <= now) throw new UserFacingError('截止时间已经过去，请给一个将来的时间。');
  if (deadline - now > MAX_DEADLINE_AHEAD) throw new UserFacingError('截止时间不能晚于一年以后。');
  return deadline;
}

/** To the minute (a deadline given as 3天 falls on the second it was given; people read minutes). */
export const formatDeadline = (services: BotServices, at: number) => formatZoned(services.timeZone, at).slice(0, 16);

/** Department ids of the scope words, or null for 全体; unknown and ambiguous names are refused. */
export async function resolveScope(em: EntityManager, words: string[]): Promise<{ ids: string[] | null; label: string }> {
  if (words.length === 0 || words.includes('全体')) return { ids: null, label: '全体' };
  const ids: string[] = [];
  const names: string[] = [];
  for (const word of words) {
    const byId = await em.findOneBy(DepartmentEntity, { id: word, active: true });
    const byName = byId ? [byId] : await em.findBy(DepartmentEntity, { name: word, active: true });
    if (byName.length === 0) throw new UserFacingError(`找不到部门「${word.slice(0, 30)}」。请写部门全称或编号，或写「范围 全体」。`);
    if (byName.length > 1) throw new UserFacingError(`「${word}」对应多个部门：${byName.map((d) => `${d.name}（${d.id}）`).join('、')}，请写编号。`);
    ids.push(byName[0].id);
    names.push(byName[0].name);
  }
  return { ids: [...new Set(ids)], label: names.join('、') };
}

/** The active people a questionnaire goes to, each with the department their answers count under. */
/** A recipient of a questionnaire: the department they count under, and their platform column (for the fan-out). */
export interface SurveyRecipient {
  personId: string;
  departmentId: string | null;
  platform: string | null;
}

/** The recipients in order of person id (the order their outbox rows are written in, cheapest for its indexes). */
export async function recipientsOf(em: EntityManager, scope: string[] | null): Promise<SurveyRecipient[]> {
  const byPerson = new Map<string, { departmentId: string | null; platform: string | null }>();
  // Someone in several departments counts under the first (by id), the same in every questionnaire.
  const keepFirst = (rows: { person_id: string; department_id: string | null; platform: string | null }[]) => {
    for (const row of rows) if (!byPerson.has(row.person_id)) byPerson.set(row.person_id, { departmentId: row.department_id, platform: row.platform });
  };
  if (!scope) {
    // The whole unit in one pass: people in no department come with a NULL department (which sorts
    // first only for them), rather than in a second scan of every person.
    keepFirst(
      await em.query(
        'SELECT p.id AS person_id, pd.department_id, p.platform FROM people p LEFT JOIN person_departments pd ON pd.person_id = p.id WHERE p.active = 1 ORDER BY p.id, pd.department_id',
      ),
    );
  } else {
    for (let i = 0; i < scope.length; i += 500) {
      const chunk = scope.slice(i, i + 500);
      keepFirst(
        await em.query(
          `SELECT pd.person_id, pd.department_id, p.platform FROM person_departments pd JOIN people p ON p.id = pd.person_id WHERE p.active = 1 AND pd.department_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY pd.person_id, pd.department_id`,
          chunk,
        ),
      );
    }
  }
  const ids = [...byPerson.keys()].sort();
  return ids.map((personId) => ({ personId, ...byPerson.get(personId)! }));
}

export async function nextSurveyNumber(em: EntityManager, year: number): Promise<string> {
  return `Q-${year}-${String(await nextCounterValue(em, `survey-${year}`)).padStart(4, '0')}`;
}

/** Q-2026-0003 in any case, dashes optional; a bare serial means this year. */
export function normalizeSurveyNumber(word: string | undefined, thisYear: number): string | null {
  const text = (word ?? '').trim();
  const full = /^q-?(\d{4})-?(\d{1,6})$/i.exec(text);
  if (full) return `Q-${full[1]}-${full[2].padStart(4, '0')}`;
  if (/^\d{1,6}$/.test(text)) return `Q-${thisYear}-${text.padStart(4, '0')}`;
  return null;
}

export async function findSurvey(em: EntityManager, number: string): Promise<Survey | null> {
  return em.findOneBy(SurveyEntity, { number });
}

/** The card of one choice page: shared by every recipient (one instance, one WeCom call per 1,000). */
export function buildPageCard(loadedSurvey: LoadedSurvey, page: SurveyPage, services: BotServices): Omit<Card, 'cardId' | 'state'> {
  const { survey, template, pages } = loadedSurvey;
  const head = page.index === 0 && template.intro ? `${template.intro}\n` : '';
  const anonymity = survey.anonymous ? '匿名' : '实名';
  return {
    template: SURVEY_PAGE_TEMPLATE,
    title: `${survey.title}（${page.index + 1}/${pages.length}）`,
    body: `${head}${survey.number} · ${anonymity} · 截止 ${formatDeadline(services, survey.deadlineAt)}`,
    fields: [],
    inputs: pageInputs(page),
    actions: [{ action: 'submit', label: '提交' }],
    shared: true,
  };
}

/** The first stored answer locks 匿名/实名 (issue §4). */
async function lock(em: EntityManager, survey: Survey): Promise<void> {
  if (!survey.locked) await em.update(SurveyEntity, { id: survey.id }, { locked: true });
}

/** A random key: answers' keys must not follow the order of arrival. */
const answerId = () => randomBytes(16).toString('hex');

/**
 * A named questionnaire's earlier answers to these questions, deleted (an answer given again
 * replaces the old one), as the tallies must take them back. A locking read on MySQL, so it sees
 * exactly the rows the DELETE removes.
 */
async function takeBackAnswers(em: EntityManager, survey: Survey, personId: string, keys: string[]): Promise<TalliedAnswer[]> {
  if (survey.anonymous || keys.length === 0) return [];
  const old: { id: string; question_key: string; department_id: string | null; value: string | null }[] = await em.query(
    `SELECT id, question_key, department_id, value FROM survey_answers WHERE survey_id = ? AND question_key IN (${keys.map(() => '?').join(', ')}) AND person_id = ?${forUpdateSql(em)}`,
    [survey.id, ...keys, personId],
  );
  if (old.length === 0) return [];
  await em.delete(SurveyAnswerEntity, { id: In(old.map((a) => a.id)) });
  return old.map((a) => ({ questionKey: a.question_key, departmentId: a.department_id, value: a.value }));
}

export async function storeChoiceAnswers(em: EntityManager, survey: Survey, participant: SurveyParticipant, answers: { key: string; value: string }[]): Promise<void> {
  const removed = await takeBackAnswers(em, survey, participant.personId, answers.map((a) => a.key));
  for (const answer of answers) {
    await em.insert(SurveyAnswerEntity, {
      id: answerId(),
      surveyId: survey.id,
      questionKey: answer.key,
      departmentId: participant.departmentId,
      value: answer.value,
      textEnc: null,
      personId: survey.anonymous ? null : participant.personId,
    });
  }
  await changeAnswerTallies(em, survey.id, answers.map((a) => ({ questionKey: a.key, departmentId: participant.departmentId, value: a.value })), removed);
  await lock(em, survey);
}

export async function storeTextAnswer(em: EntityManager, services: BotServices, survey: Survey, participant: SurveyParticipant, key: string, text: string): Promise<void> {
  const removed = await takeBackAnswers(em, survey, participant.personId, [key]);
  await em.insert(SurveyAnswerEntity, {
    id: answerId(),
    surveyId: survey.id,
    questionKey: key,
    departmentId: participant.departmentId,
    value: null,
    textEnc: services.cipher.encrypt(text),
    personId: survey.anonymous ? null : participant.personId,
  });
  await changeAnswerTallies(em, survey.id, [{ questionKey: key, departmentId: participant.departmentId, value: null }], removed);
  await lock(em, survey);
}

/**
 * An anonymous questionnaire's turn forgets what was said: the stored inbound event keeps its id
 * (a redelivery is still ignored) but loses its payload (the choices, the free text) and sender.
 */
export async function sealInbound(ctx: TurnContext): Promise<void> {
  await ctx.em.update(InboundEventEntity, { id: ctx.event.id }, { senderId: '', payloadEnc: ctx.services.cipher.encrypt(JSON.stringify({ sealed: true })) });
}

/** Checks a page submission's values against the card: only its questions, only its options. */
export function readPageValues(page: SurveyPage, values: Record<string, unknown>): { key: string; value: string }[] {
  const allowed = new Map(page.questions.map((q) => [q.key, q]));
  for (const key of Object.keys(values)) if (!allowed.has(key)) throw new UserFacingError('提交的内容与问卷卡片不符，未记录。请在卡片上重新选择后提交。');
  const answers: { key: string; value: string }[] = [];
  for (const question of page.questions) {
    const raw = values[question.key];
    const chosen = (Array.isArray(raw) ? raw : raw === undefined || raw === null || raw === '' ? [] : [raw]).map(String);
    const ids = new Set(optionsOf(question).map((o) => o.id));
    if (chosen.some((id) => !ids.has(id)) || (question.type !== 'multi' && chosen.length > 1) || new Set(chosen).size !== chosen.length) {
      throw new UserFacingError('提交的选项不在问卷卡片上，未记录。请在卡片上重新选择后提交。');
    }
    if (chosen.length) answers.push({ key: question.key, value: chosen.sort().join(',') });
  }
  return answers;
}

export function answeredKeys(participant: SurveyParticipant): Set<string> {
  return new Set(participant.answered.split(',').filter(Boolean));
}

/** The local day of `at` (participation keeps no finer time). */
export function dayOf(services: BotServices, at: number): string {
  return services.reminders.localDate(at);
}

export function pageComplete(page: SurveyPage, answered: Set<string>): boolean {
  return page.questions.every((q) => q.optional || answered.has(q.key));
}

export function nextTextQuestion(loadedSurvey: LoadedSurvey, answered: Set<string>, skipped: Set<string> = new Set()): SurveyQuestion | null {
  return loadedSurvey.texts.find((q) => !answered.has(q.key) && !skipped.has(q.key)) ?? null;
}

export function textQuestionMessage(loadedSurvey: LoadedSurvey, question: SurveyQuestion): string {
  const position = loadedSurvey.texts.indexOf(question) + 1;
  const skip = question.optional ? '；本题可选，不想回答请发送「跳过」' : '';
  return `问卷 ${loadedSurvey.survey.number}「${loadedSurvey.survey.title}」文字题 ${position}/${loadedSurvey.texts.length}：\n${question.text}\n\n请直接回复文字（${MAX_TEXT_ANSWER} 字以内）${skip}。`;
}

/** Participation rows in chunks (a questionnaire may go to 100,000 people). */
export async function insertParticipants(em: EntityManager, surveyId: string, recipients: { personId: string; departmentId: string | null }[]): Promise<void> {
  await insertSharedRows(
    em,
    'survey_participants',
    { survey_id: surveyId, answered: '', pages_done: 0, awaiting: null, completed: 0, last_day: null },
    [
      { name: 'person_id', mysqlType: 'VARCHAR(64)' },
      { name: 'department_id', mysqlType: 'VARCHAR(64)' },
    ],
    recipients.map((r) => [r.personId, r.departmentId]),
  );
}

export async function nonRespondents(em: EntityManager, surveyId: string): Promise<string[]> {
  return (await em.find(SurveyParticipantEntity, { select: { personId: true }, where: { surveyId, completed: false } })).map((p) => p.personId);
}

/** The card ref key of a person (what the card store keeps per copy). */
export const copyKey = (personId: string) => recipientKey({ kind: 'user', userId: personId });

export function newSurveyId(): string {
  return randomUUID();
}

export function localHourMinute(services: BotServices, at: number): string {
  const w = wallClock(services.timeZone, at);
  return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
}

export type { JobContext };

import { In, type EntityManager } from 'typeorm';
import { cancelTimersByPrefix, scheduleTimer, type TimerJob } from '../../core/timers';
import { peopleWithRole } from '../../core/actor';
import { SurveyAnswerEntity, SurveyEntity, SurveyParticipantEntity, type Survey, type SurveyParticipant } from '../../db/entities/survey.entity';
import { clip } from '../../domain/text';
import type { BotServices, JobContext, TurnContext } from '../../bot/turn-context';
import { UserFacingError } from '../../bot/turn-context';
import {
  answeredKeys,
  buildPageCard,
  copyKey,
  dayOf,
  deadlineTimerKey,
  formatDeadline,
  insertParticipants,
  loaded,
  MAX_TEXT_ANSWER,
  nextTextQuestion,
  nonRespondents,
  pageComplete,
  readPageValues,
  recipientsOf,
  reminderTimerKey,
  sealInbound,
  storeChoiceAnswers,
  storeTextAnswer,
  textQuestionMessage,
  type LoadedSurvey,
} from './survey-service';
import { resultsMarkdown, surveyResults } from './survey-results';
import { countRecipients, saveProgress } from './survey-tallies';
import { forUpdate } from '../../db/row-locks';

/*
 * The questionnaire's life: confirmed (fan-out of page 1), answered page by page, reminded, closed
 * at its deadline (a durable timer), results published. Anonymous questionnaires never write who
 * answered what: participation and answers are separate, and each answering turn is sealed.
 */

const SKIPPED = '!';

/** 确认发布: recipients fixed, page cards made (one shared instance each), page 1 to everyone. */
export async function confirmSurvey(ctx: TurnContext, survey: Survey): Promise<number> {
  const scope = survey.scope ? (JSON.parse(survey.scope) as string[]) : null;
  const recipients = await recipientsOf(ctx.em, scope);
  if (recipients.length === 0) throw new UserFacingError('发送范围内没有人员，未发布。');
  const draft = loaded(survey);
  const cardIds: string[] = [];
  for (const page of draft.pages) {
    const card = await ctx.services.cards.createBuilt(ctx.em, buildPageCard(draft, page, ctx.services), { type: 'survey-page', id: `${survey.id}:${page.index}` }, ctx.now);
    cardIds.push(card.cardId);
  }
  await ctx.em.update(SurveyEntity, { id: survey.id }, { status: 'open', publishedAt: ctx.now, recipients: recipients.length, pageCards: JSON.stringify(cardIds) });
  await insertParticipants(ctx.em, survey.id, recipients);
  await countRecipients(ctx.em, survey.id, recipients);
  const opened: LoadedSurvey = { ...draft, survey: { ...survey, status: 'open', pageCards: JSON.stringify(cardIds) }, cardIds };
  const ids = recipients.map((r) => r.personId);
  const fanOut = { priority: 'bulk' as const, batch: true, platformOf: new Map(recipients.map((r) => [r.personId, r.platform])) };
  if (cardIds.length) {
    const first = (await ctx.services.cards.load(ctx.em, cardIds[0]))!.card;
    await ctx.notify(ids, { kind: 'card', card: first }, fanOut);
  } else {
    await ctx.notify(ids, { kind: 'text', text: textQuestionMessage(opened, draft.texts[0]) }, fanOut);
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id }, { awaiting: draft.texts[0].key });
  }
  await scheduleTimer(ctx.em, { key: deadlineTimerKey(survey.number), kind: 'survey.deadline', dueAt: survey.deadlineAt, payload: { surveyId: survey.id } }, ctx.now);
  await scheduleReminders(ctx.em, ctx.services, survey, ctx.now);
  return recipients.length;
}

/** The ideal reminder times (SURVEY_REMINDERS before the deadline), moved out of quiet hours and rest days. */
export async function scheduleReminders(em: EntityManager, services: BotServices, survey: Survey, now: number): Promise<void> {
  for (const [index, offset] of services.surveyReminders.entries()) {
    const due = services.reminders.nextAllowed(survey.deadlineAt - offset);
    if (due <= now || due >= survey.deadlineAt) continue;
    await scheduleTimer(em, { key: reminderTimerKey(survey.number, index), kind: 'survey.remind', dueAt: due, payload: { surveyId: survey.id } }, now);
  }
}

/** Sends a reminder to those who have not finished, each at most once a day for this questionnaire. */
export async function remindNonRespondents(ctx: JobContext | TurnContext, survey: Survey): Promise<number> {
  const waiting = await nonRespondents(ctx.em, survey.id);
  const free = await ctx.services.reminders.takeDailySlots(ctx.em, waiting, `survey:${survey.number}`, ctx.now);
  if (free.length === 0) return 0;
  const text = `提醒：问卷 ${survey.number}「${survey.title}」将于 ${formatDeadline(ctx.services, survey.deadlineAt)} 截止，您还没有填完。发送「问卷 继续 ${survey.number}」接着填写。`;
  await ctx.notify(free, { kind: 'text', text }, { priority: 'bulk', batch: true });
  return free.length;
}

export async function remindTimer(ctx: JobContext, job: TimerJob): Promise<void> {
  const survey = await ctx.em.findOneBy(SurveyEntity, { id: String(job.payload.surveyId) });
  if (!survey || survey.status !== 'open') return;
  if (!ctx.services.reminders.isAllowed(ctx.now)) {
    // Ran late (the instance was down): the next allowed moment, under a key of its own.
    await scheduleTimer(ctx.em, { key: `${job.key}:${ctx.services.reminders.localDate(ctx.now)}`, kind: 'survey.remind', dueAt: ctx.services.reminders.nextAllowed(ctx.now), payload: job.payload }, ctx.now);
    return;
  }
  const count = await remindNonRespondents(ctx, survey);
  await ctx.ledger({ kind: 'survey.reminded', subjectType: 'survey', subjectId: survey.number, data: { count } });
}

/**
 * At the deadline (or 问卷 截止): closed; every copy of a page its person has not submitted shows
 * 已截止 (a clicked copy with that click's code, the other copies of one delivered batch in one
 * update each), the publisher and the office get the results.
 */
export async function closeSurvey(ctx: JobContext | TurnContext, survey: Survey): Promise<void> {
  if (survey.status !== 'open') return;
  const closed = { ...survey, status: 'closed' as const, closedAt: ctx.now };
  await ctx.em.update(SurveyEntity, { id: survey.id, status: 'open' }, { status: 'closed', closedAt: ctx.now });
  await cancelTimersByPrefix(ctx.em, `survey:${survey.number}:`);
  await closePageCopies(ctx, survey);
  const { template } = loaded(survey);
  const fact = await surveyResults(ctx.em, ctx.services, closed, template, undefined, { commentLimit: 20 });
  const office = (await peopleWithRole(ctx.em, 'office')).map((p) => p.id);
  await ctx.notify([...new Set([survey.publisherId, ...office])], { kind: 'markdown', title: `问卷 ${survey.number} 已截止`, markdown: resultsMarkdown(fact, { minGroupSize: ctx.services.minGroupSize, heading: `问卷 ${survey.number} 已截止` }) });
  await ctx.ledger({ kind: 'survey.closed', subjectType: 'survey', subjectId: survey.number, data: { recipients: fact.recipients, respondents: fact.respondents } });
}

/** Page i's open copies are those of people still waiting who have not submitted page i. */
async function closePageCopies(ctx: JobContext | TurnContext, survey: Survey): Promise<void> {
  const cardIds = JSON.parse(survey.pageCards) as string[];
  if (cardIds.length === 0) return;
  const waiting = await ctx.em.find(SurveyParticipantEntity, { select: { personId: true, pagesDone: true }, where: { surveyId: survey.id, completed: false } });
  for (const [index, cardId] of cardIds.entries()) {
    const open = waiting.filter((p) => p.pagesDone <= index).map((p) => copyKey(p.personId));
    await ctx.services.cards.updateCopies(ctx.em, cardId, open, '已截止', ctx.now);
    // The shared card itself: the console shows it, and a copy still queued goes out closed.
    await ctx.services.cards.setState(ctx.em, cardId, '已截止', ctx.now);
  }
}

export async function deadlineTimer(ctx: JobContext, job: TimerJob): Promise<void> {
  const survey = await ctx.em.findOneBy(SurveyEntity, { id: String(job.payload.surveyId) });
  if (survey) await closeSurvey(ctx, survey);
}

function refuseIfClosed(survey: Survey, now: number): void {
  if (survey.status === 'cancelled') throw new UserFacingError(`问卷 ${survey.number} 已取消，不再收集答卷。`);
  if (survey.status !== 'open' || survey.deadlineAt <= now) throw new UserFacingError(`问卷 ${survey.number} 已截止，感谢关注，本次提交未记录。`);
}

/**
 * A person's participation rows, read FOR UPDATE on MySQL: two of one person's turns processed at
 * the same time (two instances) then run one after the other, and the second sees what the first
 * stored. Without the lock both read the same progress, and an anonymous page or free-text answer
 * was stored twice. (SQLite runs transactions one at a time anyway.)
 */
function participantsForUpdate(em: EntityManager) {
  return forUpdate(em, em.getRepository(SurveyParticipantEntity).createQueryBuilder('p'));
}

async function participantOf(em: EntityManager, survey: Survey, personId: string): Promise<SurveyParticipant> {
  const participant = await participantsForUpdate(em).where('p.surveyId = :surveyId AND p.personId = :personId', { surveyId: survey.id, personId }).getOne();
  if (!participant) throw new UserFacingError(`您不在问卷 ${survey.number} 的发送范围内，本次提交未记录。`);
  return participant;
}

/** A person's next step: the next page's card (pages go in order), the next free-text question, or done. */
export async function sendNextStep(ctx: TurnContext, survey: LoadedSurvey, participant: SurveyParticipant, answered: Set<string>, pagesDone: number): Promise<string> {
  const nextPage = survey.pages[pagesDone];
  if (nextPage) {
    const card = (await ctx.services.cards.load(ctx.em, survey.cardIds[nextPage.index]))!.card;
    await ctx.reply({ kind: 'card', card });
    return '';
  }
  const question = nextTextQuestion(survey, answered, skippedOf(answered));
  if (question) {
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.survey.id, personId: participant.personId }, { awaiting: question.key });
    return textQuestionMessage(survey, question);
  }
  await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.survey.id, personId: participant.personId }, { completed: true, awaiting: null });
  return `问卷 ${survey.survey.number} 已全部填完，感谢您的参与！${afterwards(survey.survey)}`;
}

/** What a finished person can still do: change a named questionnaire's answers; nothing for an anonymous one. */
function afterwards(survey: Survey): string {
  if (survey.anonymous) return '本问卷为匿名问卷，答卷与您的身份分开保存。';
  return `实名问卷截止前可发送「问卷 修改 ${survey.number}」修改回答。`;
}

function skippedOf(answered: Set<string>): Set<string> {
  return new Set([...answered].filter((k) => k.startsWith(SKIPPED)).map((k) => k.slice(1)));
}

/** 提交 on a page card. Refusals (closed, not a recipient, foreign option, second submission) store nothing. */
export async function submitPage(ctx: TurnContext, cardId: string, values: Record<string, string | string[]>): Promise<void> {
  const loadedCard = await ctx.services.cards.load(ctx.em, cardId);
  const [surveyId, pageText] = (loadedCard?.subject?.id ?? '').split(':');
  const survey = await ctx.em.findOneBy(SurveyEntity, { id: surveyId });
  if (!survey || !loadedCard) throw new UserFacingError('这张问卷卡片已失效。');
  // Whatever happens next, an anonymous questionnaire's turn keeps neither the choices nor who sent them.
  if (survey.anonymous) await sealInbound(ctx);
  if (survey.status === 'closed' && ctx.event.type === 'card_action' && ctx.event.cardRef) {
    // A copy the deadline could not reach (its send's code was too old, or spent) shows 已截止 now, with this click's code.
    await ctx.services.cards.updateCopy(ctx.em, cardId, copyKey(ctx.actor.person.id), '已截止', ctx.now);
  }
  refuseIfClosed(survey, ctx.now);
  const participant = await participantOf(ctx.em, survey, ctx.actor.person.id);
  const current = loaded(survey);
  const page = current.pages[Number(pageText)];
  if (!page) throw new UserFacingError('这张问卷卡片已失效。');
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new UserFacingError('提交的内容与问卷卡片不符，未记录。');
  const answers = readPageValues(page, values);
  const answered = answeredKeys(participant);
  const current_ = participant.pagesDone;
  if (page.index > current_) throw new UserFacingError(`请先完成问卷 ${survey.number} 的第 ${current_ + 1} 页。本次未记录。`);
  const resubmit = page.index < current_;
  if (survey.anonymous && (resubmit || answers.some((a) => answered.has(a.key)))) {
    throw new UserFacingError(`问卷 ${survey.number} 第 ${page.index + 1} 页已经提交过。匿名问卷每页只能提交一次，本次未重复记录。`);
  }
  const allOptional = page.questions.every((q) => q.optional);
  if (answers.length === 0 && !allOptional) throw new UserFacingError('请先在卡片上选择，再点「提交」。本次未记录。');
  if (answers.length) await storeChoiceAnswers(ctx.em, survey, participant, answers);
  for (const a of answers) answered.add(a.key);
  const complete = pageComplete(page, answered);
  const pagesDone = complete && !resubmit ? current_ + 1 : current_;
  await saveProgress(ctx.em, survey.id, participant, { answered: [...answered].join(','), pagesDone, lastDay: dayOf(ctx.services, ctx.now) });
  if (!complete) {
    const missing = page.questions.filter((q) => !q.optional && !answered.has(q.key)).map((q) => `「${q.text}」`);
    await ctx.replyText(`已记录本页 ${answers.length} 题。本页还有必答题未选：${missing.join('、')}，请在卡片上选择后再提交。`);
    return;
  }
  await ctx.services.cards.updateCopy(ctx.em, cardId, copyKey(participant.personId), '已提交', ctx.now);
  if (resubmit) {
    await ctx.replyText(`问卷 ${survey.number} 第 ${page.index + 1} 页已修改（实名问卷截止前可重新提交）。`);
    return;
  }
  const edit = survey.anonymous ? '' : '实名问卷截止前可重新提交修改。';
  const next = await sendNextStep(ctx, current, participant, answered, pagesDone);
  await ctx.replyText(`问卷 ${survey.number} 第 ${page.index + 1}/${current.pages.length} 页已提交。${edit}${next ? `\n\n${next}` : ''}`);
}

/**
 * A direct message that is not a command, from someone asked a free-text question: the answer. A
 * question asked again by 问卷 修改 (one already answered or skipped) takes the new answer in place
 * of the old one; `跳过` then keeps the old one.
 */
export async function answerText(ctx: TurnContext, text: string): Promise<boolean> {
  const asked = await participantsForUpdate(ctx.em).where('p.personId = :personId AND p.awaiting IS NOT NULL', { personId: ctx.actor.person.id }).getMany();
  if (asked.length === 0) return false;
  const surveys = await ctx.em.findBy(SurveyEntity, { id: In(asked.map((p) => p.surveyId)) });
  const survey = surveys.sort((a, b) => a.deadlineAt - b.deadlineAt)[0];
  if (!survey) return false;
  const participant = asked.find((p) => p.surveyId === survey.id)!;
  if (survey.anonymous) await sealInbound(ctx);
  if (survey.status !== 'open' || survey.deadlineAt <= ctx.now) {
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { awaiting: null });
    throw new UserFacingError(`问卷 ${survey.number} 已截止，感谢关注，这条回答未记录。`);
  }
  const current = loaded(survey);
  const question = current.texts.find((q) => q.key === participant.awaiting);
  if (!question) return false;
  const answered = answeredKeys(participant);
  const revising = !survey.anonymous && (answered.has(question.key) || answered.has(`${SKIPPED}${question.key}`));
  const skip = text.trim() === '跳过';
  if (skip && !question.optional && !revising) throw new UserFacingError('这道文字题是必答题，不能跳过，请直接回复您的回答。');
  if (!skip && text.length > MAX_TEXT_ANSWER) {
    throw new UserFacingError(`回答过长（${text.length} 字），请控制在 ${MAX_TEXT_ANSWER} 字以内后重新发送。本条未记录。`);
  }
  if (revising) return reviseTextAnswer(ctx, current, participant, question.key, skip ? null : text);
  if (skip) answered.add(`${SKIPPED}${question.key}`);
  else {
    await storeTextAnswer(ctx.em, ctx.services, survey, participant, question.key, text);
    answered.add(question.key);
  }
  const remaining = skippedOf(answered);
  await saveProgress(ctx.em, survey.id, participant, { answered: [...answered].join(','), awaiting: null, lastDay: dayOf(ctx.services, ctx.now) });
  const nextQuestion = nextTextQuestion(current, answered, remaining);
  let next: string;
  if (nextQuestion) {
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { awaiting: nextQuestion.key });
    next = textQuestionMessage(current, nextQuestion);
  } else {
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { completed: true });
    next = `问卷 ${survey.number} 已全部填完，感谢您的参与！${afterwards(survey)}`;
  }
  await ctx.replyText(`${skip ? '已跳过本题。' : '已收到您的回答。'}\n\n${next}`);
  return true;
}

/**
 * A named questionnaire's free-text answer given again (问卷 修改): stored in place of the old one
 * (`text` null keeps the old one); someone still filling in goes back to the question they were at.
 */
async function reviseTextAnswer(ctx: TurnContext, current: LoadedSurvey, participant: SurveyParticipant, key: string, text: string | null): Promise<boolean> {
  const { survey } = current;
  const answered = answeredKeys(participant);
  if (text !== null) {
    await storeTextAnswer(ctx.em, ctx.services, survey, participant, key, text);
    answered.delete(`${SKIPPED}${key}`);
    answered.add(key);
  }
  const resume = participant.completed ? null : nextTextQuestion(current, answered, skippedOf(answered));
  await ctx.em.update(
    SurveyParticipantEntity,
    { surveyId: survey.id, personId: participant.personId },
    { answered: [...answered].join(','), awaiting: resume?.key ?? null, lastDay: dayOf(ctx.services, ctx.now) },
  );
  const position = current.texts.findIndex((q) => q.key === key) + 1;
  const done = text === null ? `问卷 ${survey.number} 文字题 ${position} 保留原来的回答，未作修改。` : `问卷 ${survey.number} 文字题 ${position} 的回答已修改，新的回答替换了原来的回答。截止前还可以再改。`;
  await ctx.replyText(resume ? `${done}\n\n接着填写：\n${textQuestionMessage(current, resume)}` : done);
  return true;
}

/**
 * 问卷 修改 编号 [第N页|文字题N]: a named questionnaire's submitted answers may be changed until the
 * deadline — a choice page comes again as its card (submitting it replaces the choices), a
 * free-text question is asked again (the next message replaces the answer). Anonymous ones are
 * final: their answers are not linked to anyone, so there is nothing to find and replace.
 */
export async function reviseSurvey(ctx: TurnContext, survey: Survey, target: string | undefined): Promise<void> {
  refuseIfClosed(survey, ctx.now);
  const participant = await participantOf(ctx.em, survey, ctx.actor.person.id);
  if (survey.anonymous) {
    throw new UserFacingError(`问卷 ${survey.number} 是匿名问卷：答卷与您的身份分开保存，每页和每道文字题提交后都不能修改。`);
  }
  const current = loaded(survey);
  const answered = answeredKeys(participant);
  const reached = (key: string) => answered.has(key) || answered.has(`${SKIPPED}${key}`);
  const command = `问卷 修改 ${survey.number}`;
  if (!target) {
    const pages = current.pages.slice(0, participant.pagesDone).map((p) => `- 选择题第 ${p.index + 1} 页：发送「${command} 第${p.index + 1}页」重新收到这一页，提交后替换原来的选择`);
    const texts = current.texts
      .map((q, i) => ({ q, i }))
      .filter(({ q }) => reached(q.key))
      .map(({ q, i }) => `- 文字题 ${i + 1}「${clip(q.text, 30)}」（${answered.has(q.key) ? '已回答' : '已跳过'}）：发送「${command} 文字题${i + 1}」重新回答`);
    if (pages.length + texts.length === 0) throw new UserFacingError(`您还没有提交问卷 ${survey.number} 的回答。发送「问卷 继续 ${survey.number}」填写。`);
    await ctx.replyText([`问卷 ${survey.number} 是实名问卷，截止（${formatDeadline(ctx.services, survey.deadlineAt)}）前可以修改已提交的回答：`, ...pages, ...texts].join('\n'));
    return;
  }
  const pageMatch = /^第?(\d{1,3})页$/.exec(target);
  const textMatch = /^(?:文字题|文字|题)?(\d{1,3})$/.exec(target);
  if (pageMatch) {
    const page = current.pages[Number(pageMatch[1]) - 1];
    if (!page) throw new UserFacingError(`问卷 ${survey.number} 没有第 ${pageMatch[1]} 页选择题。发送「${command}」查看可修改的内容。`);
    if (page.index >= participant.pagesDone) throw new UserFacingError(`问卷 ${survey.number} 第 ${page.index + 1} 页您还没有提交。发送「问卷 继续 ${survey.number}」接着填写。`);
    const card = (await ctx.services.cards.load(ctx.em, current.cardIds[page.index]))!.card;
    await ctx.reply({ kind: 'card', card });
    await ctx.replyText(`请在上面的卡片上重新选择并提交，提交后替换第 ${page.index + 1} 页原来的选择。`);
    return;
  }
  if (!textMatch) throw new UserFacingError(`看不懂「${target.slice(0, 20)}」。请写「${command} 第1页」或「${command} 文字题1」，或发送「${command}」查看可修改的内容。`);
  const position = Number(textMatch[1]);
  const question = current.texts[position - 1];
  if (!question) throw new UserFacingError(`问卷 ${survey.number} 没有文字题 ${position}。发送「${command}」查看可修改的内容。`);
  if (!reached(question.key)) throw new UserFacingError(`问卷 ${survey.number} 文字题 ${position} 您还没有回答到。发送「问卷 继续 ${survey.number}」接着填写。`);
  const previous = await ctx.em.findOneBy(SurveyAnswerEntity, { surveyId: survey.id, questionKey: question.key, personId: participant.personId });
  const shown = previous?.textEnc ? `您原来的回答：${clip(ctx.services.cipher.decrypt(previous.textEnc), 200)}` : '您原来跳过了这道题。';
  await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { awaiting: question.key });
  await ctx.replyText(
    `问卷 ${survey.number}「${survey.title}」文字题 ${position}/${current.texts.length}：\n${question.text}\n\n${shown}\n\n请直接回复新的回答（${MAX_TEXT_ANSWER} 字以内），它将替换原来的回答；发送「跳过」保留原来的回答。`,
  );
}

/** 问卷 继续: the person's next page or question again (a lost card, after a reminder). */
export async function continueSurvey(ctx: TurnContext, survey: Survey): Promise<void> {
  refuseIfClosed(survey, ctx.now);
  const participant = await participantOf(ctx.em, survey, ctx.actor.person.id);
  if (participant.completed) throw new UserFacingError(`问卷 ${survey.number} 您已经填完了，感谢参与。${afterwards(survey)}`);
  const answered = answeredKeys(participant);
  const text = await sendNextStep(ctx, loaded(survey), participant, answered, participant.pagesDone);
  if (text) await ctx.replyText(text);
}

import { In, type EntityManager } from 'typeorm';
import { cancelTimersByPrefix, scheduleTimer, type TimerJob } from '../../core/timers';
import { peopleWithRole } from '../../core/actor';
import { CardDeliveryEntity } from '../../db/entities/messaging.entity';
import { SurveyEntity, SurveyParticipantEntity, type Survey, type SurveyParticipant } from '../../db/entities/survey.entity';
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

/** At the deadline (or 问卷 截止): closed, open copies show 已截止, the publisher and the office get the results. */
export async function closeSurvey(ctx: JobContext | TurnContext, survey: Survey): Promise<void> {
  if (survey.status !== 'open') return;
  const closed = { ...survey, status: 'closed' as const, closedAt: ctx.now };
  await ctx.em.update(SurveyEntity, { id: survey.id, status: 'open' }, { status: 'closed', closedAt: ctx.now });
  await cancelTimersByPrefix(ctx.em, `survey:${survey.number}:`);
  const cardIds = JSON.parse(survey.pageCards) as string[];
  const waiting = new Set((await nonRespondents(ctx.em, survey.id)).map(copyKey));
  if (cardIds.length && waiting.size) {
    const copies = await ctx.em.find(CardDeliveryEntity, { select: { cardId: true, recipient: true }, where: { cardId: In(cardIds) } });
    const seen = new Set<string>();
    for (const copy of copies) {
      const key = `${copy.cardId} ${copy.recipient}`;
      if (!waiting.has(copy.recipient) || seen.has(key)) continue;
      seen.add(key);
      await ctx.services.cards.updateCopy(ctx.em, copy.cardId, copy.recipient, '已截止', ctx.now);
    }
  }
  const { template } = loaded(survey);
  const fact = await surveyResults(ctx.em, ctx.services, closed, template, undefined, { commentLimit: 20 });
  const office = (await peopleWithRole(ctx.em, 'office')).map((p) => p.id);
  await ctx.notify([...new Set([survey.publisherId, ...office])], { kind: 'markdown', title: `问卷 ${survey.number} 已截止`, markdown: resultsMarkdown(fact, { minGroupSize: ctx.services.minGroupSize, heading: `问卷 ${survey.number} 已截止` }) });
  await ctx.ledger({ kind: 'survey.closed', subjectType: 'survey', subjectId: survey.number, data: { recipients: fact.recipients, respondents: fact.respondents } });
}

export async function deadlineTimer(ctx: JobContext, job: TimerJob): Promise<void> {
  const survey = await ctx.em.findOneBy(SurveyEntity, { id: String(job.payload.surveyId) });
  if (survey) await closeSurvey(ctx, survey);
}

function refuseIfClosed(survey: Survey, now: number): void {
  if (survey.status === 'cancelled') throw new UserFacingError(`问卷 ${survey.number} 已取消，不再收集答卷。`);
  if (survey.status !== 'open' || survey.deadlineAt <= now) throw new UserFacingError(`问卷 ${survey.number} 已截止，感谢关注，本次提交未记录。`);
}

async function participantOf(em: EntityManager, survey: Survey, personId: string): Promise<SurveyParticipant> {
  const participant = await em.findOneBy(SurveyParticipantEntity, { surveyId: survey.id, personId });
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
  return `问卷 ${survey.survey.number} 已全部填完，感谢您的参与！${survey.survey.anonymous ? '本问卷为匿名问卷，答卷与您的身份分开保存。' : ''}`;
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
    // A copy the deadline could not reach (no click had given it a response code yet) shows 已截止 now.
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
  await ctx.em.update(
    SurveyParticipantEntity,
    { surveyId: survey.id, personId: participant.personId },
    { answered: [...answered].join(','), pagesDone, lastDay: dayOf(ctx.services, ctx.now) },
  );
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

/** A direct message that is not a command, from someone asked a free-text question: the answer. */
export async function answerText(ctx: TurnContext, text: string): Promise<boolean> {
  const waiting = await ctx.em.findBy(SurveyParticipantEntity, { personId: ctx.actor.person.id, completed: false });
  const asked = waiting.filter((p) => p.awaiting);
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
  const skip = text.trim() === '跳过';
  if (skip && !question.optional) throw new UserFacingError('这道文字题是必答题，不能跳过，请直接回复您的回答。');
  if (!skip && text.length > MAX_TEXT_ANSWER) {
    throw new UserFacingError(`回答过长（${text.length} 字），请控制在 ${MAX_TEXT_ANSWER} 字以内后重新发送。本条未记录。`);
  }
  if (skip) answered.add(`${SKIPPED}${question.key}`);
  else {
    await storeTextAnswer(ctx.em, ctx.services, survey, participant, question.key, text);
    answered.add(question.key);
  }
  const remaining = skippedOf(answered);
  await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { answered: [...answered].join(','), awaiting: null, lastDay: dayOf(ctx.services, ctx.now) });
  const nextQuestion = nextTextQuestion(current, answered, remaining);
  let next: string;
  if (nextQuestion) {
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { awaiting: nextQuestion.key });
    next = textQuestionMessage(current, nextQuestion);
  } else {
    await ctx.em.update(SurveyParticipantEntity, { surveyId: survey.id, personId: participant.personId }, { completed: true });
    next = `问卷 ${survey.number} 已全部填完，感谢您的参与！`;
  }
  await ctx.replyText(`${skip ? '已跳过本题。' : '已收到您的回答。'}\n\n${next}`);
  return true;
}

/** 问卷 继续: the person's next page or question again (a lost card, after a reminder). */
export async function continueSurvey(ctx: TurnContext, survey: Survey): Promise<void> {
  refuseIfClosed(survey, ctx.now);
  const participant = await participantOf(ctx.em, survey, ctx.actor.person.id);
  if (participant.completed) throw new UserFacingError(`问卷 ${survey.number} 您已经填完了，感谢参与。`);
  const answered = answeredKeys(participant);
  const text = await sendNextStep(ctx, loaded(survey), participant, answered, participant.pagesDone);
  if (text) await ctx.replyText(text);
}

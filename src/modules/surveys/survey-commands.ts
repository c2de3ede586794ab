import path from 'node:path';
import { In } from 'typeorm';
import { projectRoot } from '../../lib/project-root';
import { scheduleTimer, type TimerJob } from '../../core/timers';
import { TimerEntity } from '../../db/entities/kernel.entity';
import { peopleWithRole } from '../../core/actor';
import { SurveyEntity, SurveyParticipantEntity, type Survey } from '../../db/entities/survey.entity';
import { normalizeInput, words } from '../../domain/text';
import { startOfZonedDay, wallClock } from '../../lib/zoned-time';
import { UserFacingError, type BotModule, type BotServices, type Command, type JobContext, type TurnContext } from '../../bot/turn-context';
import { isUnitWide } from '../cases/case-access';
import { yearIn } from '../insights/insight-service';
import { loadSurveyTemplates, QUESTION_TYPE_LABELS, choicePages, type SurveyTemplate } from './survey-template';
import {
  checkDeadline,
  findSurvey,
  formatDeadline,
  loaded,
  newSurveyId,
  nextSurveyNumber,
  normalizeSurveyNumber,
  parseDeadline,
  recipientsOf,
  resolveScope,
  SURVEY_PAGE_TEMPLATE,
} from './survey-service';
import { answerText, closeSurvey, confirmSurvey, continueSurvey, deadlineTimer, remindNonRespondents, remindTimer, reviseSurvey, submitPage } from './survey-flows';
import { resultsMarkdown, SmallGroupError, surveyResults } from './survey-results';
import { exportSurveyXlsx } from './survey-export';

export const SURVEY_TEMPLATE_DIR = () => path.join(projectRoot(), 'bot-cards', 'surveys');
const templates = () => loadSurveyTemplates(SURVEY_TEMPLATE_DIR());

/** Free-text answers shown in chat (a random sample; the export has them all). */
const CHAT_COMMENTS = 20;
const PUBLISHERS = ['office', 'secretary'] as const;
const canPublish = (ctx: TurnContext) => PUBLISHERS.some((r) => ctx.actor.roles.has(r));
const STATUS_LABELS: Record<Survey['status'], string> = { draft: '待确认', open: '进行中', closed: '已截止', cancelled: '已取消' };

function requirePublisher(ctx: TurnContext): void {
  if (!canPublish(ctx)) throw new UserFacingError('此操作仅限机关党委和党组(党委)书记使用。');
}

async function surveyArg(ctx: TurnContext, word: string | undefined): Promise<Survey> {
  const number = normalizeSurveyNumber(word, yearIn(ctx.services.timeZone, ctx.now));
  if (!number) throw new UserFacingError('请写问卷编号，例如：问卷 进度 Q-2026-0001。发送「问卷 列表」查看编号。');
  const survey = await findSurvey(ctx.em, number);
  if (!survey || survey.status === 'draft') throw new UserFacingError(`找不到问卷 ${number}。发送「问卷 列表」查看编号。`);
  return survey;
}

function templateLine(t: SurveyTemplate): string {
  const counts = Object.entries(QUESTION_TYPE_LABELS)
    .map(([type, label]) => [label, t.questions.filter((q) => q.type === type).length] as const)
    .filter(([, n]) => n > 0)
    .map(([label, n]) => `${label} ${n}`)
    .join('，');
  return `- ${t.id}「${t.title}」：${t.questions.length} 题（${counts}），${choicePages(t).length} 页卡片`;
}

async function listTemplates(ctx: TurnContext): Promise<void> {
  const library = templates();
  const lines = ['问卷模板：', ...library.templates.map(templateLine)];
  if (library.skipped.length) lines.push('', '以下模板文件有误，未加载：', ...library.skipped.map((s) => `- ${s}`));
  lines.push('', '发布：问卷 发布 模板 [范围 全体|部门…] 截止 2026-12-20 [匿名|实名]');
  await ctx.replyText(lines.join('\n'));
}

/** `问卷 发布 模板 [范围 …] 截止 … [匿名|实名]` → a draft and its preview card; nothing is sent yet. */
async function publish(ctx: TurnContext, args: string[]): Promise<void> {
  requirePublisher(ctx);
  const [templateWord, ...rest] = args;
  if (!templateWord) throw new UserFacingError('请写模板，例如：问卷 发布 quarterly-pulse 范围 全体 截止 3天。发送「问卷 模板」查看模板。');
  const template = templates().find(templateWord);
  if (!template) throw new UserFacingError(`没有「${templateWord.slice(0, 40)}」这个问卷模板。发送「问卷 模板」查看可用模板。`);
  let mode: 'scope' | 'deadline' | null = null;
  const scopeWords: string[] = [];
  const deadlineWords: string[] = [];
  let anonymous = true;
  let sawScope = false;
  for (const word of rest) {
    if (word === '范围') (mode = 'scope'), (sawScope = true);
    else if (word === '截止') mode = 'deadline';
    else if (word === '匿名') anonymous = true;
    else if (word === '实名') anonymous = false;
    else if (mode === 'scope') scopeWords.push(word);
    else if (mode === 'deadline') deadlineWords.push(word);
    else throw new UserFacingError(`看不懂「${word.slice(0, 20)}」。格式：问卷 发布 模板 [范围 全体|部门…] 截止 <2026-12-20|3天> [匿名|实名]`);
  }
  if (sawScope && scopeWords.length === 0) throw new UserFacingError('「范围」后请写「全体」或部门名称。');
  if (deadlineWords.length === 0) throw new UserFacingError('请写截止时间，例如：截止 2026-12-20、截止 2026-12-20 17:00、截止 3天。');
  const deadline = checkDeadline(parseDeadline(deadlineWords.join(' '), ctx.services.timeZone, ctx.now), ctx.now);
  const scope = await resolveScope(ctx.em, scopeWords);
  const recipients = await recipientsOf(ctx.em, scope.ids);
  if (recipients.length === 0) throw new UserFacingError(`范围「${scope.label}」内没有在职人员，未发布。`);
  const number = await nextSurveyNumber(ctx.em, yearIn(ctx.services.timeZone, ctx.now));
  const survey: Survey = {
    id: newSurveyId(),
    number,
    templateId: template.id,
    title: template.title,
    definition: JSON.stringify(template),
    anonymous,
    scope: scope.ids ? JSON.stringify(scope.ids) : null,
    status: 'draft',
    publisherId: ctx.actor.person.id,
    deadlineAt: deadline,
    pageCards: '[]',
    recipients: recipients.length,
    locked: false,
    createdAt: ctx.now,
    publishedAt: null,
    closedAt: null,
    resultsPublishedAt: null,
  };
  await ctx.em.insert(SurveyEntity, survey);
  const questions = template.questions.map((q, i) => `${i + 1}. ${q.text}（${QUESTION_TYPE_LABELS[q.type]}${q.optional ? '，可选' : ''}）`).join('\n');
  const card = await ctx.services.cards.create(
    ctx.em,
    'survey-preview',
    {
      number,
      title: template.title,
      recipients: recipients.length,
      scope: scope.label,
      deadline: formatDeadline(ctx.services, deadline),
      mode: anonymous ? '匿名（答卷与身份分开保存）' : '实名',
      questions,
    },
    { type: 'survey', id: survey.id },
    ctx.now,
  );
  await ctx.ledger({ kind: 'survey.drafted', subjectType: 'survey', subjectId: number, data: { template: template.id, recipients: recipients.length, anonymous } });
  await ctx.reply({ kind: 'card', card });
}

async function draftOfCard(ctx: TurnContext, cardId: string): Promise<Survey> {
  requirePublisher(ctx);
  const card = await ctx.services.cards.load(ctx.em, cardId);
  const survey = card?.subject ? await ctx.em.findOneBy(SurveyEntity, { id: card.subject.id }) : null;
  if (!survey) throw new UserFacingError('这张预览卡片已失效。');
  if (survey.status !== 'draft') throw new UserFacingError(`问卷 ${survey.number} 已${STATUS_LABELS[survey.status]}，不能再操作这张预览卡片。`);
  if (survey.publisherId !== ctx.actor.person.id) throw new UserFacingError('只有发起发布的人可以确认或取消。');
  return survey;
}

async function confirm(ctx: TurnContext, cardId: string): Promise<void> {
  const survey = await draftOfCard(ctx, cardId);
  if (survey.deadlineAt <= ctx.now) throw new UserFacingError('截止时间已经过去，请重新发布。');
  const count = await confirmSurvey(ctx, survey);
  await ctx.services.cards.update(ctx.em, cardId, { state: '已确认发布' }, ctx.now);
  await ctx.ledger({ kind: 'survey.confirmed', subjectType: 'survey', subjectId: survey.number, data: { recipients: count, anonymous: survey.anonymous } });
  ctx.defer(async () => ctx.services.wakeTimers());
  await ctx.replyText(`问卷 ${survey.number} 已发布，正在发送给 ${count} 人，截止 ${formatDeadline(ctx.services, survey.deadlineAt)}。发送「问卷 进度 ${survey.number}」查看进度。`);
}

async function cancel(ctx: TurnContext, cardId: string): Promise<void> {
  const survey = await draftOfCard(ctx, cardId);
  await ctx.em.update(SurveyEntity, { id: survey.id }, { status: 'cancelled' });
  await ctx.services.cards.update(ctx.em, cardId, { state: '已取消' }, ctx.now);
  await ctx.replyText(`问卷 ${survey.number} 已取消，未发送。`);
}

async function list(ctx: TurnContext): Promise<void> {
  const all = await ctx.em.find(SurveyEntity, { order: { createdAt: 'DESC' }, take: 50 });
  const visible = all.filter((s) => s.status !== 'draft');
  let shown: Survey[];
  if (isUnitWide(ctx.actor)) shown = visible;
  else {
    const mine = new Set((await ctx.em.findBy(SurveyParticipantEntity, { personId: ctx.actor.person.id })).map((p) => p.surveyId));
    shown = visible.filter((s) => mine.has(s.id) || (ctx.actor.liaisonOf.length > 0 && (s.scope === null || (JSON.parse(s.scope) as string[]).some((d) => ctx.actor.liaisonOf.includes(d)))));
  }
  if (shown.length === 0) {
    await ctx.replyText('暂无问卷。');
    return;
  }
  const lines = shown.slice(0, 20).map((s) => `- ${s.number}「${s.title}」${STATUS_LABELS[s.status]}，${s.anonymous ? '匿名' : '实名'}，截止 ${formatDeadline(ctx.services, s.deadlineAt)}，${s.recipients} 人`);
  await ctx.replyText(['问卷列表：', ...lines].join('\n'));
}

/** 进度: counts only, per department under the suppression rules; never anyone's name. */
async function progress(ctx: TurnContext, survey: Survey): Promise<void> {
  const unitWide = isUnitWide(ctx.actor) || survey.publisherId === ctx.actor.person.id;
  const own = ctx.actor.liaisonOf;
  if (!unitWide && own.length === 0) throw new UserFacingError('问卷进度仅限机关党委、领导和联络员（本部门）查看。');
  const fact = await surveyResults(ctx.em, ctx.services, survey, loaded(survey).template);
  const lines = [`问卷 ${survey.number}「${survey.title}」${STATUS_LABELS[survey.status]}，截止 ${formatDeadline(ctx.services, survey.deadlineAt)}`];
  if (unitWide) {
    lines.push(`答卷 ${fact.respondents}/${fact.recipients}（${Math.round(fact.responseRate * 1000) / 10}%）`);
    for (const d of fact.byDepartment) lines.push(`- ${d.name}：${d.respondents}/${d.recipients}`);
  } else {
    const mine = fact.byDepartment.filter((d) => d.departmentId && own.includes(d.departmentId));
    if (mine.length === 0) lines.push(`本部门答卷人数少于 ${ctx.services.minGroupSize} 人或不在范围内，不单独显示。`);
    for (const d of mine) lines.push(`- ${d.name}：${d.respondents}/${d.recipients}`);
  }
  await ctx.replyText(lines.join('\n'));
}

async function remind(ctx: TurnContext, survey: Survey): Promise<void> {
  requirePublisher(ctx);
  if (survey.status !== 'open') throw new UserFacingError(`问卷 ${survey.number} 已${STATUS_LABELS[survey.status]}，不能催办。`);
  if (!ctx.services.reminders.isAllowed(ctx.now)) {
    const at = ctx.services.reminders.nextAllowed(ctx.now);
    await scheduleTimer(ctx.em, { key: `survey:${survey.number}:remind:manual:${ctx.services.reminders.localDate(at)}`, kind: 'survey.remind', dueAt: at, payload: { surveyId: survey.id } }, ctx.now);
    await ctx.replyText(`现在是休息时间（夜间或休息日），提醒将于 ${formatDeadline(ctx.services, at)} 发给未填完的人。`);
    return;
  }
  const count = await remindNonRespondents(ctx, survey);
  await ctx.ledger({ kind: 'survey.reminded', subjectType: 'survey', subjectId: survey.number, data: { count } });
  await ctx.replyText(count ? `已提醒 ${count} 位尚未填完的人员（不透露任何人的名字）。` : '没有需要提醒的人：都已填完，或今天已经提醒过（每人每天最多提醒一次）。');
}

async function closeEarly(ctx: TurnContext, survey: Survey): Promise<void> {
  requirePublisher(ctx);
  if (survey.status !== 'open') throw new UserFacingError(`问卷 ${survey.number} 已${STATUS_LABELS[survey.status]}。`);
  await closeSurvey(ctx, survey);
  await ctx.replyText(`问卷 ${survey.number} 已提前截止，结果已发给发布人和机关党委。`);
}

/** §2: the office and leaders see all; a liaison the own department, aggregated; the rules of §5 always. */
async function results(ctx: TurnContext, survey: Survey, departmentWord: string | undefined): Promise<void> {
  const unitWide = isUnitWide(ctx.actor) || survey.publisherId === ctx.actor.person.id;
  let departmentId: string | undefined;
  if (departmentWord) {
    const scope = await resolveScope(ctx.em, [departmentWord]);
    departmentId = scope.ids?.[0];
  }
  if (!unitWide) {
    if (ctx.actor.liaisonOf.length === 0) throw new UserFacingError('问卷结果仅限机关党委、领导和联络员（本部门）查看；问卷公布后，每位收到问卷的人都会收到结果摘要。');
    departmentId ??= ctx.actor.liaisonOf[0];
    if (!ctx.actor.liaisonOf.includes(departmentId)) throw new UserFacingError('联络员只能查看本部门的问卷结果。');
  }
  let fact;
  try {
    fact = await surveyResults(ctx.em, ctx.services, survey, loaded(survey).template, departmentId, { commentLimit: CHAT_COMMENTS });
  } catch (error) {
    if (error instanceof SmallGroupError) throw new UserFacingError(`该部门答卷人数较少（少于 ${ctx.services.minGroupSize} 人，或与人数最少的部门一并合并），不单独显示结果。`);
    throw error;
  }
  await ctx.ledger({ kind: 'survey.results_read', subjectType: 'survey', subjectId: survey.number, data: { department: departmentId ?? null } });
  await ctx.reply({ kind: 'markdown', title: `问卷结果 ${survey.number}`, markdown: resultsMarkdown(fact, { minGroupSize: ctx.services.minGroupSize }) });
}

async function publishResults(ctx: TurnContext, survey: Survey): Promise<void> {
  requirePublisher(ctx);
  if (survey.status !== 'closed') throw new UserFacingError(`问卷 ${survey.number} 截止后才能公布结果。`);
  const fact = await surveyResults(ctx.em, ctx.services, survey, loaded(survey).template);
  // Recipients get the whole-unit result with the comments left out: a short summary, not a dossier.
  const brief = { ...fact, questions: fact.questions.filter((q) => q.type !== 'text'), byDepartment: [] };
  const recipients = (await ctx.em.find(SurveyParticipantEntity, { select: { personId: true }, where: { surveyId: survey.id } })).map((p) => p.personId);
  await ctx.notify(recipients, { kind: 'markdown', title: `问卷结果 ${survey.number}`, markdown: resultsMarkdown(brief, { minGroupSize: ctx.services.minGroupSize, heading: `问卷结果公布 ${survey.number}` }) }, { priority: 'bulk', batch: true });
  await ctx.em.update(SurveyEntity, { id: survey.id }, { resultsPublishedAt: ctx.now });
  await ctx.ledger({ kind: 'survey.results_published', subjectType: 'survey', subjectId: survey.number, data: { recipients: recipients.length } });
  await ctx.replyText(`问卷 ${survey.number} 的结果摘要已发给 ${recipients.length} 位收到问卷的人员。`);
}

async function exportResults(ctx: TurnContext, survey: Survey): Promise<void> {
  requirePublisher(ctx);
  const { template } = loaded(survey);
  const fact = await surveyResults(ctx.em, ctx.services, survey, template);
  const data = await exportSurveyXlsx(ctx.em, ctx.services, survey, template, fact);
  await ctx.reply({ kind: 'file', fileName: `问卷${survey.number}.xlsx`, mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', dataBase64: data.toString('base64') });
  await ctx.ledger({ kind: 'survey.exported', subjectType: 'survey', subjectId: survey.number, data: { anonymous: survey.anonymous, respondents: fact.respondents } });
}

const USAGE =
  '问卷命令：问卷 模板｜问卷 发布 模板 [范围 全体|部门…] 截止 <2026-12-20|3天> [匿名|实名]｜问卷 列表｜问卷 进度 编号｜问卷 催办 编号｜问卷 截止 编号｜问卷 结果 编号 [部门]｜问卷 公布 编号｜问卷 导出 编号｜问卷 继续 编号｜问卷 修改 编号 [第N页|文字题N]（实名问卷截止前）';

const surveyCommand: Command = {
  name: '问卷',
  aliases: ['/survey', 'survey'],
  roles: ['staff'],
  summary: '问卷调查：发布、填写、进度、催办、结果（机关党委、书记发布；每个人可填写和查看本人待填问卷，实名问卷截止前可用「问卷 修改 编号」改答案）',
  example: '问卷 发布 quarterly-pulse 范围 全体 截止 3天 匿名',
  async run(ctx, args) {
    const [sub, ...rest] = words(normalizeInput(args));
    switch (sub) {
      case '模板':
        if (!canPublish(ctx) && !isUnitWide(ctx.actor)) throw new UserFacingError('问卷模板仅限机关党委和领导查看。');
        return listTemplates(ctx);
      case '发布':
        return publish(ctx, rest);
      case '列表':
        return list(ctx);
      case '进度':
        return progress(ctx, await surveyArg(ctx, rest[0]));
      case '催办':
        return remind(ctx, await surveyArg(ctx, rest[0]));
      case '截止':
        return closeEarly(ctx, await surveyArg(ctx, rest[0]));
      case '结果':
        return results(ctx, await surveyArg(ctx, rest[0]), rest[1]);
      case '公布':
        return publishResults(ctx, await surveyArg(ctx, rest[0]));
      case '导出':
        return exportResults(ctx, await surveyArg(ctx, rest[0]));
      case '继续':
        return continueSurvey(ctx, await surveyArg(ctx, rest[0]));
      case '修改':
        return reviseSurvey(ctx, await surveyArg(ctx, rest[0]), rest[1]);
      default:
        await ctx.replyText(USAGE);
    }
  },
};

/** 我的: the questionnaires this person has not finished, with their deadlines. */
async function mineSection(ctx: TurnContext): Promise<string | null> {
  const open = await ctx.em.findBy(SurveyParticipantEntity, { personId: ctx.actor.person.id, completed: false });
  if (open.length === 0) return null;
  const surveys = (await ctx.em.findBy(SurveyEntity, { id: In(open.map((p) => p.surveyId)), status: 'open' })).filter((s) => s.deadlineAt > ctx.now);
  if (surveys.length === 0) return null;
  const lines = surveys.sort((a, b) => a.deadlineAt - b.deadlineAt).map((s) => `- ${s.number}「${s.title}」截止 ${formatDeadline(ctx.services, s.deadlineAt)}（发送「问卷 继续 ${s.number}」填写）`);
  return ['待填写的问卷：', ...lines].join('\n');
}

const NINE = 9 * 3_600_000;

/**
 * When to check next year's holiday calendar: 1 December, 09:00 local; from December on, the next
 * 09:00 to come (never at start-up itself, so a restart does not notify anyone), moved to a workday.
 */
function nextCalendarCheck(services: BotServices, at: number): { dueAt: number; year: number } {
  const { year, month, day } = wallClock(services.timeZone, at);
  let due = startOfZonedDay(services.timeZone, year, 12, 1) + NINE;
  if (month === 12) {
    due = startOfZonedDay(services.timeZone, year, 12, day) + NINE;
    if (due <= at) due = startOfZonedDay(services.timeZone, year, 12, day + 1) + NINE;
  }
  const dueAt = services.reminders.nextAllowed(due);
  return { dueAt, year };
}

const calendarKey = (year: number) => `survey:calendar:${year}`;

/** From December the office is told when next year's holiday calendar is missing (reminders need it). */
async function calendarCheck(ctx: JobContext, job: TimerJob): Promise<void> {
  const year = Number(job.payload.year);
  if (!ctx.services.reminders.calendar.covers(year + 1)) {
    const office = (await peopleWithRole(ctx.em, 'office')).map((p) => p.id);
    await ctx.notify(office, {
      kind: 'text',
      text: `提醒：${year + 1} 年的节假日安排（含调休）尚未载入，问卷和报告提醒将无法避开该年的节假日。请更新 chinese-days，或在 HOLIDAYS_FILE 中写入 ${year + 1} 年的 holidays 和 workdays。`,
    });
  }
  const next = startOfZonedDay(ctx.services.timeZone, year + 1, 12, 1) + NINE;
  await scheduleTimer(ctx.em, { key: calendarKey(year + 1), kind: 'survey.calendar', dueAt: ctx.services.reminders.nextAllowed(next), payload: { year: year + 1 } }, ctx.now);
}

export const surveyModule: BotModule = {
  commands: [surveyCommand],
  cardActions: [
    { template: 'survey-preview', action: 'confirm', run: (ctx, cardId) => confirm(ctx, cardId) },
    { template: 'survey-preview', action: 'cancel', run: (ctx, cardId) => cancel(ctx, cardId) },
    { template: SURVEY_PAGE_TEMPLATE, action: 'submit', run: (ctx, cardId, values) => submitPage(ctx, cardId, values) },
  ],
  mine: [mineSection],
  onText: (ctx, text) => answerText(ctx, text),
  timers: { 'survey.deadline': deadlineTimer, 'survey.remind': remindTimer, 'survey.calendar': calendarCheck },
  async onStart(ctx) {
    for (const skipped of templates().skipped) ctx.services.log.warn({ template: skipped }, 'questionnaire template skipped');
    const { dueAt, year } = nextCalendarCheck(ctx.services, ctx.now);
    // Once a year (the key is the year's); a check already waiting keeps its time. INSERT OR IGNORE
    // as the transaction's first statement: two instances starting at once on one SQLite file wait
    // for each other's write lock instead of one failing to upgrade a read (SQLITE_BUSY).
    await ctx.em
      .createQueryBuilder()
      .insert()
      .into(TimerEntity)
      .values({ key: calendarKey(year), kind: 'survey.calendar', dueAt, payload: JSON.stringify({ year }), state: 'pending', attempts: 0, lastError: null, createdAt: ctx.now, doneAt: null })
      .orIgnore()
      .updateEntity(false)
      .execute();
  },
};

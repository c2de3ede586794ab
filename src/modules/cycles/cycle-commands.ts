import { In } from 'typeorm';
import { UserFacingError, type BotModule, type Command, type JobContext, type TurnContext } from '../../bot/turn-context';
import { deleteStoredFile, readStoredFile } from '../../core/file-store';
import { scheduleTimer } from '../../core/timers';
import type { FileEvent } from '../../core/events';
import { CycleEntity, CycleTaskEntity, type Cycle } from '../../db/entities/cycle.entity';
import { DepartmentEntity } from '../../db/entities/org.entity';
import { words } from '../../domain/text';
import { isUnitWide } from '../cases/case-access';
import { resolveDepartment } from '../org/org-service';
import { attachmentText } from './attachment-text';
import { normalizeCycleNumber, nextQuarter, parseDeadline, parseQuarterKey, quarterBounds, quarterOf, quarterKey, quarterlyTimes, upcomingQuarter, type Quarter } from './cycle-schedule';
import {
  CycleConflict,
  fillableTasks,
  formatTime,
  KIND_LABELS,
  liaisonsOf,
  openCycle,
  openQuarterly,
  readSections,
  recordVersion,
  rescheduleLadder,
  type TaskWithCycle,
} from './cycle-service';
import { lateNotices, remindOpenTasks } from './cycle-reminders';
import { SECTION_BY_WORD, SECTION_KEYS, SECTION_LABELS, missingSections } from './sections';
import { commendCommand, supervisionCommand, trainingCommand } from './supervision-commands';

const LEADERS_AND_OFFICE = ['office', 'deputy', 'secretary'] as const;

export async function findCycle(ctx: TurnContext, word: string | undefined): Promise<Cycle> {
  const number = normalizeCycleNumber(word);
  if (!number) throw new UserFacingError(`请写明周期编号，例如 R-2026Q4 或 R-2026-0002。发送「周期 列表」查看。`);
  const cycle = await ctx.em.findOneBy(CycleEntity, { number });
  if (!cycle) throw new UserFacingError(`找不到周期 ${number}。发送「周期 列表」查看。`);
  return cycle;
}

/** The liaison's task a 报告/零报告/file is for: the named cycle, or the only fillable one. */
async function targetTask(ctx: TurnContext, number: string | null): Promise<TaskWithCycle> {
  const fillable = await fillableTasks(ctx.em, ctx.actor.liaisonOf, ctx.now);
  if (fillable.length === 0) throw new UserFacingError('您目前没有待报送的报告任务（周期开启后，各部门联络员会收到任务卡片）。');
  if (number) {
    const named = fillable.find((t) => t.cycle.number === number);
    if (!named) throw new UserFacingError(`您在 ${number} 中没有可填报的任务（已截止并已提交，或不在范围内）。当前可填报：${fillable.map((t) => t.cycle.number).join('、')}。`);
    return named;
  }
  const numbers = [...new Set(fillable.map((t) => t.cycle.number))];
  if (numbers.length > 1) throw new UserFacingError(`您有多个可填报的周期：${numbers.join('、')}。请写明编号，例如：报告 总体情况 ${numbers[0]} 内容。`);
  if (fillable.length > 1) throw new UserFacingError('您是多个部门的联络员，请联系机关党委确认报送部门。');
  return fillable[0];
}

/** Splits an optional leading cycle number off the arguments. */
function takeNumber(args: string): { number: string | null; rest: string } {
  const [first, ...rest] = args.split(/\s+/);
  const number = normalizeCycleNumber(first);
  return number ? { number, rest: args.slice(first.length).trim() } : { number: null, rest: args };
}

async function departmentName(ctx: TurnContext, id: string): Promise<string> {
  return (await ctx.em.findOneBy(DepartmentEntity, { id }))?.name ?? id;
}

function sectionsMarkdown(sections: Record<string, string>): string {
  return SECTION_KEYS.map((k) => `**${SECTION_LABELS[k]}**\n${sections[k]?.trim() || '（未填写）'}`).join('\n\n');
}

function progressText(target: TaskWithCycle, now: number): string {
  const { task, cycle } = target;
  if (task.status === 'nil') return `已提交零报告（第 ${task.version} 版）`;
  if (task.status === 'submitted') return `已提交第 ${task.version} 版${task.lateDays ? `（逾期 ${task.lateDays} 天）` : ''}${now <= cycle.dueAt ? '，截止前可替换' : ''}`;
  return now > cycle.dueAt ? '已逾期，尚未提交' : '尚未提交';
}

/** Updates the task card's state on every copy. */
async function refreshCard(ctx: TurnContext, target: TaskWithCycle): Promise<void> {
  const task = await ctx.em.findOneByOrFail(CycleTaskEntity, { id: target.task.id });
  if (task.cardId) await ctx.services.cards.update(ctx.em, task.cardId, { vars: { progress: progressText({ task, cycle: target.cycle }, ctx.now) }, state: progressText({ task, cycle: target.cycle }, ctx.now) }, ctx.now);
}

async function showReport(ctx: TurnContext, target: TaskWithCycle): Promise<void> {
  const { task, cycle } = target;
  const name = await departmentName(ctx, task.departmentId);
  const parts = [
    `**${KIND_LABELS[cycle.kind]} ${cycle.number} · ${name}**`,
    `截止：${formatTime(ctx.services, cycle.dueAt)}　状态：${progressText(target, ctx.now)}`,
    sectionsMarkdown(readSections(ctx.services, task)),
  ];
  if (task.fileId) parts.push(`附件：已附文件${task.attachmentTextEnc ? '（已提取文字）' : ''}`);
  parts.push(`**本期数据（供参考）**\n${ctx.services.cipher.decrypt(task.draftEnc)}`);
  await ctx.reply({ kind: 'markdown', title: `${cycle.number} ${name}`, markdown: parts.join('\n\n') });
  await ctx.ledger({ kind: 'cycle.report.read', subjectType: 'cycle-task', subjectId: `${cycle.number}:${task.departmentId}`, data: { version: task.version } });
}

/** 报告 查看 编号 部门 by the office or leaders: any department's report (need-to-know, PRODUCT.md §2). */
async function showDepartmentReport(ctx: TurnContext, args: string): Promise<void> {
  const [numberWord, departmentWord] = words(args);
  const cycle = await findCycle(ctx, numberWord);
  if (!departmentWord) throw new UserFacingError(`请写明部门，例如：报告 查看 ${cycle.number} 办公室`);
  const department = await resolveDepartment(ctx.em, departmentWord);
  if (!('found' in department)) throw new UserFacingError(`找不到部门「${departmentWord}」，或名称不唯一。`);
  const task = await ctx.em.findOneBy(CycleTaskEntity, { cycleId: cycle.id, departmentId: department.found.id });
  if (!task) throw new UserFacingError(`${department.found.name} 不在 ${cycle.number} 的范围内。`);
  await showReport(ctx, { task, cycle });
}

async function fillSection(ctx: TurnContext, sub: string, args: string): Promise<void> {
  const key = SECTION_BY_WORD[sub];
  const { number, rest } = takeNumber(args);
  if (!rest) throw new UserFacingError(`请在「报告 ${sub}」后写明内容；没有可写的请写「无」。例如：报告 ${sub} 本季度干部职工思想总体稳定。`);
  const target = await targetTask(ctx, number);
  if (target.task.status !== 'open' && ctx.now > target.cycle.dueAt) throw new UserFacingError(`${target.cycle.number} 已截止，已提交的报告不能再修改。`);
  const sections = readSections(ctx.services, target.task);
  sections[key] = rest;
  await ctx.em.update(CycleTaskEntity, { id: target.task.id }, { sectionsEnc: ctx.services.cipher.encrypt(JSON.stringify(sections)), updatedAt: ctx.now });
  await ctx.ledger({ kind: 'cycle.report.section', subjectType: 'cycle-task', subjectId: `${target.cycle.number}:${target.task.departmentId}`, data: { section: key } });
  const missing = missingSections(sections);
  const resubmit = target.task.status !== 'open' ? '（已提交的版本不变，发送「报告 提交」替换）' : '';
  await ctx.replyText(`已记录「${sub}」${resubmit}。${missing.length ? `尚未填写：${missing.join('、')}。` : '四部分已齐，发送「报告 提交」报送。'}`);
}

async function submit(ctx: TurnContext, args: string): Promise<void> {
  const { number } = takeNumber(args);
  const target = await targetTask(ctx, number);
  const { task, cycle } = target;
  if (task.status !== 'open' && ctx.now > cycle.dueAt) throw new UserFacingError(`${cycle.number} 已截止，已提交的报告不能再替换。`);
  const sections = readSections(ctx.services, task);
  const missing = missingSections(sections);
  if (missing.length && !task.fileId) {
    throw new UserFacingError(`还有未填写的部分：${missing.join('、')}。请用「报告 ${missing[0]} 内容」填写（没有的写「无」），或发送 .docx/.pdf 文件，再提交。`);
  }
  const written = SECTION_KEYS.map((k) => sections[k].trim()).filter(Boolean);
  for (const k of SECTION_KEYS) if (!sections[k].trim()) sections[k] = '见附件';
  const { version, lateDays } = await recordVersion(ctx.em, ctx.services, target, { nil: false, sections, submittedBy: ctx.actor.person.id }, ctx.now);
  await ctx.services.onDepartmentReportSubmitted?.(ctx, { taskId: task.id, departmentId: task.departmentId, countedAt: Math.min(ctx.now, cycle.periodEnd - 1), texts: written });
  await ctx.ledger({ kind: 'cycle.report.submitted', subjectType: 'cycle-task', subjectId: `${cycle.number}:${task.departmentId}`, data: { version, lateDays, attachment: Boolean(task.fileId) } });
  await refreshCard(ctx, target);
  const late = lateDays ? `已超过截止时间 ${lateDays} 天，记为逾期报送。` : version > 1 ? '已替换之前的版本（各版本均保留）。截止前仍可修改。' : '截止前仍可修改后再次提交。';
  await ctx.replyText(`已报送 ${cycle.number} 部门报告（第 ${version} 版）。${late}`);
}

async function nilReport(ctx: TurnContext, args: string): Promise<void> {
  const { number, rest } = takeNumber(args);
  const target = await targetTask(ctx, number);
  const { task, cycle } = target;
  if (task.status === 'nil') throw new UserFacingError(`${cycle.number} 已提交过零报告，无需重复提交。如有情况需要报告，请用「报告 总体情况 …」等填写后「报告 提交」。`);
  if (task.status === 'submitted') throw new UserFacingError(`${cycle.number} 已提交部门报告（第 ${task.version} 版），不能再改为零报告。`);
  const { version } = await recordVersion(ctx.em, ctx.services, target, { nil: true, sections: { note: rest }, submittedBy: ctx.actor.person.id }, ctx.now);
  await ctx.ledger({ kind: 'cycle.report.nil', subjectType: 'cycle-task', subjectId: `${cycle.number}:${task.departmentId}`, data: { version } });
  await refreshCard(ctx, target);
  await ctx.replyText(`已提交 ${cycle.number} 零报告（本期无情况可报），记为按时报送。`);
}

const REPORT_SUBCOMMANDS = ['总体情况', '主要表现', '原因分析', '对策建议', '查看', '提交'];

const reportCommand: Command = {
  name: '报告',
  aliases: [],
  roles: ['liaison', ...LEADERS_AND_OFFICE],
  subcommands: REPORT_SUBCOMMANDS,
  summary: '填报部门报告（第十一条四部分）、查看、提交',
  example: '报告 总体情况 本季度干部职工思想总体稳定',
  async run(ctx, args) {
    const [sub, ...restWords] = words(args);
    const rest = args.slice(sub?.length ?? 0).trim();
    if (!sub || !REPORT_SUBCOMMANDS.includes(sub)) {
      throw new UserFacingError(`「报告」后请写：${REPORT_SUBCOMMANDS.join('、')}。例如：报告 总体情况 本季度干部职工思想总体稳定；报告 查看；报告 提交。`);
    }
    if (sub === '查看') {
      if (isUnitWide(ctx.actor) && restWords.length >= 2) return showDepartmentReport(ctx, rest);
      if (ctx.actor.liaisonOf.length === 0) throw new UserFacingError('请写明周期编号和部门，例如：报告 查看 R-2026Q4 办公室');
      const { number } = takeNumber(rest);
      return showReport(ctx, await targetTask(ctx, number));
    }
    if (ctx.actor.liaisonOf.length === 0) throw new UserFacingError('填报部门报告仅限各部门联络员。');
    if (sub === '提交') return submit(ctx, rest);
    return fillSection(ctx, sub, rest);
  },
};

const nilCommand: Command = {
  name: '零报告',
  aliases: ['/nil'],
  roles: ['liaison'],
  summary: '本期无情况可报时提交零报告（记为按时报送）',
  example: '零报告 本季度未发现需要报告的思想动态',
  run: nilReport,
};

/** `专题 发起 主题 截止 <日期|N天> [范围 部门…]`. */
const specialCommand: Command = {
  name: '专题',
  aliases: ['/special'],
  roles: ['office', 'secretary'],
  summary: '发起专题报告（重大政策、重要节点、突发事件）',
  example: '专题 发起 新政策落实情况 截止 7天 范围 办公室 财务处',
  async run(ctx, args) {
    const usage = '格式：专题 发起 主题 截止 <日期或N天> [范围 部门…]，例如：专题 发起 新政策落实情况 截止 2026-12-20 范围 办公室 财务处';
    const tokens = words(args);
    if (tokens[0] !== '发起') throw new UserFacingError(usage);
    const dueIndex = tokens.indexOf('截止');
    const scopeIndex = tokens.indexOf('范围');
    if (dueIndex < 2) throw new UserFacingError(usage);
    const topic = tokens.slice(1, dueIndex).join(' ');
    const deadlineWords = tokens.slice(dueIndex + 1, scopeIndex > dueIndex ? scopeIndex : undefined);
    const dueAt = parseDeadline(deadlineWords.join(' '), ctx.services.timeZone, ctx.now);
    if (dueAt === null) throw new UserFacingError(`截止时间「${deadlineWords.join(' ')}」看不懂。${usage}`);
    if (dueAt <= ctx.now) throw new UserFacingError(`截止时间 ${formatTime(ctx.services, dueAt)} 已过，请给一个将来的时间。`);
    let scope: string[] | null = null;
    if (scopeIndex > dueIndex) {
      scope = [];
      for (const word of tokens.slice(scopeIndex + 1)) {
        const found = await resolveDepartment(ctx.em, word);
        if ('missing' in found) throw new UserFacingError(`找不到部门「${word}」。`);
        if ('ambiguous' in found) throw new UserFacingError(`「${word}」对应多个部门：${found.ambiguous.map((d) => `${d.name}（${d.id}）`).join('、')}，请用编号。`);
        scope.push(found.found.id);
      }
      if (scope.length === 0) throw new UserFacingError(`「范围」后请写部门。${usage}`);
    }
    // A special report looks at the data of the quarter so far.
    const q = quarterBounds(ctx.services.timeZone, quarterOf(ctx.services.timeZone, ctx.now));
    const opened = await openCycle(ctx, { kind: 'special', topic, periodStart: Math.min(q.start, ctx.now), periodEnd: dueAt, dueAt, scope, openedBy: ctx.actor.person.id });
    ctx.defer(async () => ctx.services.wakeTimers());
    const missing = opened.withoutLiaison.length ? `其中 ${opened.withoutLiaison.length} 个部门未指定联络员（已另行通知机关党委）。` : '';
    await ctx.replyText(`已发起专题报告 ${opened.cycle.number}「${topic}」，截止 ${formatTime(ctx.services, dueAt)}，${opened.tasks} 个部门收到任务。${missing}`);
  },
};

async function cycleProgress(ctx: TurnContext, cycle: Cycle): Promise<string> {
  const tasks = await ctx.em.findBy(CycleTaskEntity, { cycleId: cycle.id });
  const names = new Map((await ctx.em.findBy(DepartmentEntity, { id: In(tasks.map((t) => t.departmentId)) })).map((d) => [d.id, d.name]));
  const submitted = tasks.filter((t) => t.status === 'submitted');
  const nil = tasks.filter((t) => t.status === 'nil');
  const open = tasks.filter((t) => t.status === 'open');
  const late = submitted.filter((t) => t.lateDays > 0);
  const list = (ts: typeof tasks) => ts.slice(0, 30).map((t) => names.get(t.departmentId) ?? t.departmentId).join('、') + (ts.length > 30 ? ` 等 ${ts.length} 个` : '');
  return [
    `**${KIND_LABELS[cycle.kind]} ${cycle.number}**　截止 ${formatTime(ctx.services, cycle.dueAt)}${ctx.now > cycle.dueAt ? '（已截止）' : ''}`,
    `- 范围：${tasks.length} 个部门`,
    `- 已提交：${submitted.length}（其中逾期 ${late.length}）；零报告：${nil.length}`,
    `- 未提交：${open.length}${open.length ? `（${list(open)}）` : ''}`,
  ].join('\n');
}

/** `周期 列表`, `周期 进度 编号`, `周期 截止 编号 <日期|N天>`. */
const cycleCommand: Command = {
  name: '周期',
  aliases: ['/cycle'],
  roles: [...LEADERS_AND_OFFICE],
  summary: '报告周期：列表、进度、调整截止时间',
  example: '周期 进度 R-2026Q4',
  async run(ctx, args) {
    const [sub, numberWord, ...rest] = words(args);
    if (!sub || sub === '列表') {
      const cycles = await ctx.em.find(CycleEntity, { order: { openedAt: 'DESC' }, take: 10 });
      if (cycles.length === 0) return ctx.replyText('还没有报告周期。定期报告按季度自动开启；专题报告：专题 发起 主题 截止 日期。');
      const lines = [];
      for (const c of cycles) {
        const [{ total, done }] = await ctx.em.query(`SELECT COUNT(*) AS total, SUM(CASE WHEN status <> 'open' THEN 1 ELSE 0 END) AS done FROM cycle_tasks WHERE cycle_id = ?`, [c.id]);
        const topic = c.topicEnc ? `「${ctx.services.cipher.decrypt(c.topicEnc)}」` : '';
        lines.push(`- ${c.number} ${KIND_LABELS[c.kind]}${topic} 截止 ${formatTime(ctx.services, c.dueAt)}，已报 ${Number(done ?? 0)}/${Number(total)}`);
      }
      return ctx.reply({ kind: 'markdown', title: '报告周期', markdown: `**报告周期**\n${lines.join('\n')}` });
    }
    if (sub === '进度') {
      const cycle = await findCycle(ctx, numberWord);
      return ctx.reply({ kind: 'markdown', title: `${cycle.number} 进度`, markdown: await cycleProgress(ctx, cycle) });
    }
    if (sub === '截止') {
      if (!ctx.actor.roles.has('office') && !ctx.actor.roles.has('secretary')) throw new UserFacingError('调整截止时间仅限机关党委和书记。');
      const cycle = await findCycle(ctx, numberWord);
      const dueAt = parseDeadline(rest.join(' '), ctx.services.timeZone, ctx.now);
      if (dueAt === null) throw new UserFacingError(`请写明新的截止时间，例如：周期 截止 ${cycle.number} 2026-12-28 或 周期 截止 ${cycle.number} 3天`);
      if (dueAt <= ctx.now) throw new UserFacingError(`截止时间 ${formatTime(ctx.services, dueAt)} 已过，请给一个将来的时间。`);
      await ctx.em.update(CycleEntity, { id: cycle.id }, { dueAt });
      const updated = { ...cycle, dueAt };
      await rescheduleLadder(ctx.em, ctx.services, updated, ctx.now);
      const open = await ctx.em.findBy(CycleTaskEntity, { cycleId: cycle.id, status: 'open' });
      const liaisons = await liaisonsOf(ctx.em, open.map((t) => t.departmentId));
      await ctx.notify([...liaisons.values()].flat(), { kind: 'text', text: `【${KIND_LABELS[cycle.kind]} ${cycle.number}】截止时间调整为 ${formatTime(ctx.services, dueAt)}。` }, { priority: 'bulk', batch: true });
      await ctx.ledger({ kind: 'cycle.deadline.changed', subjectType: 'cycle', subjectId: cycle.number, data: { from: cycle.dueAt, to: dueAt } });
      return ctx.replyText(`${cycle.number} 截止时间已调整为 ${formatTime(ctx.services, dueAt)}，${open.length} 个未提交部门的联络员已收到通知。`);
    }
    throw new UserFacingError('用法：周期 列表；周期 进度 编号；周期 截止 编号 日期');
  },
};

/** A liaison's .docx/.pdf sent while a task is open is attached to it. */
const reportFiles = {
  async wants(ctx: TurnContext): Promise<boolean> {
    return ctx.actor.liaisonOf.length > 0 && (await fillableTasks(ctx.em, ctx.actor.liaisonOf, ctx.now)).length > 0;
  },
  async run(ctx: TurnContext, event: FileEvent): Promise<void> {
    const { file } = event;
    const drop = async (reason: string) => {
      if (file.storedFileId) await deleteStoredFile(ctx.em, file.storedFileId);
      await ctx.replyText(`文件「${file.name.slice(0, 60)}」未收下：${reason}`);
    };
    if (file.refused === 'too_large') return drop('超过 20 MB。请压缩图片或拆分后再发送。');
    if (file.refused === 'download_failed') return drop('从平台下载失败，请稍后重新发送。');
    if (file.refused === 'type' || !/\.(docx|pdf)$/i.test(file.name)) return drop('部门报告只接受 .docx 或 .pdf 文件（.doc 请另存为 .docx）。');
    if (!file.storedFileId) return drop('文件没有保存成功，请重新发送。');
    let target: TaskWithCycle;
    try {
      target = await targetTask(ctx, takeNumber(event.caption ?? '').number);
    } catch (error) {
      await deleteStoredFile(ctx.em, file.storedFileId);
      throw error;
    }
    const { task, cycle } = target;
    if (task.status !== 'open' && ctx.now > cycle.dueAt) return drop(`${cycle.number} 已截止，已提交的报告不能再替换。`);
    const stored = await readStoredFile(ctx.em, ctx.services.cipher, file.storedFileId);
    const text = stored ? await attachmentText(file.name, stored.data) : null;
    if (task.fileId && task.fileId !== file.storedFileId) {
      const stillUsed = await ctx.em.query('SELECT COUNT(*) AS n FROM cycle_report_versions WHERE file_id = ?', [task.fileId]);
      if (Number(stillUsed[0]?.n ?? 0) === 0) await deleteStoredFile(ctx.em, task.fileId);
    }
    await ctx.em.update(CycleTaskEntity, { id: task.id }, { fileId: file.storedFileId, attachmentTextEnc: text ? ctx.services.cipher.encrypt(text) : null, updatedAt: ctx.now });
    await ctx.ledger({ kind: 'cycle.report.file', subjectType: 'cycle-task', subjectId: `${cycle.number}:${task.departmentId}`, data: { fileId: file.storedFileId, textKept: Boolean(text) } });
    const kept = text ? `已提取文字 ${text.length} 字，供全单位报告汇总使用。` : /\.pdf$/i.test(file.name) ? '（.pdf 只保存文件，不提取文字；如需汇总请另用「报告 …」填写要点。）' : '（未能读出文字，文件已保存。）';
    await ctx.replyText(`已将文件附到 ${cycle.number} 部门报告。${kept}发送「报告 提交」报送${task.status === 'open' ? '' : '新版本'}。`);
  },
};

async function mineSection(ctx: TurnContext): Promise<string | null> {
  const tasks = await fillableTasks(ctx.em, ctx.actor.liaisonOf, ctx.now);
  if (tasks.length === 0) return null;
  const lines = tasks.map((t) => `- ${t.cycle.number} ${KIND_LABELS[t.cycle.kind]}，截止 ${formatTime(ctx.services, t.cycle.dueAt)}：${progressText(t, ctx.now)}`);
  return `待报送的部门报告：\n${lines.join('\n')}`;
}

async function scheduleQuarterlyOpening(ctx: JobContext, quarter: Quarter): Promise<void> {
  const { opensAt } = quarterlyTimes(ctx.services.timeZone, ctx.services.quarterlyCycle, quarter);
  await scheduleTimer(ctx.em, { key: `cycle:open:${quarterKey(quarter)}`, kind: 'cycles.open', dueAt: opensAt, payload: { quarter: quarterKey(quarter) } }, ctx.now);
}

export const cycleModule: BotModule = {
  commands: [reportCommand, nilCommand, specialCommand, cycleCommand, supervisionCommand, trainingCommand, commendCommand],
  files: [reportFiles],
  mine: [mineSection],
  timers: {
    'cycles.open': async (ctx, job) => {
      const quarter = parseQuarterKey(String(job.payload.quarter))!;
      const { dueAt } = quarterlyTimes(ctx.services.timeZone, ctx.services.quarterlyCycle, quarter);
      try {
        // No instance ran until after the deadline: the cycle still opens, with a week to report.
        await openQuarterly(ctx, quarter, dueAt > ctx.now ? dueAt : parseDeadline('7天', ctx.services.timeZone, ctx.now)!);
      } catch (error) {
        // Opened by hand (xinsheng cycle open) before its time: nothing more to do.
        if (!(error instanceof CycleConflict)) throw error;
      }
      await scheduleQuarterlyOpening(ctx, nextQuarter(quarter));
    },
    'cycles.remind': (ctx, job) => remindOpenTasks(ctx, job),
    'cycles.late': (ctx, job) => lateNotices(ctx, job),
  },
  async onStart(ctx) {
    await scheduleQuarterlyOpening(ctx, upcomingQuarter(ctx.services.timeZone, ctx.services.quarterlyCycle, ctx.now));
  },
};

/** `xinsheng cycle open 2026Q4`: opens a quarter's cycle by hand (deadline as configured, or `due`). */
export async function openQuarterByHand(ctx: JobContext, key: string, due?: string): Promise<string> {
  const quarter = parseQuarterKey(key);
  if (!quarter) throw new Error(`cycle open 需要季度，例如 2026Q4，实际为「${key}」`);
  const dueAt = due ? parseDeadline(due, ctx.services.timeZone, ctx.now) : quarterlyTimes(ctx.services.timeZone, ctx.services.quarterlyCycle, quarter).dueAt;
  if (dueAt === null) throw new Error(`--due 应为日期，例如 2026-12-28，实际为「${due}」`);
  if (dueAt <= ctx.now) throw new Error(`截止时间 ${formatTime(ctx.services, dueAt)} 已过，请用 --due YYYY-MM-DD 指定一个以后的日期`);
  try {
    const opened = await openQuarterly(ctx, quarter, dueAt);
    const office = opened.withoutLiaison.length ? `；其中 ${opened.withoutLiaison.length} 个部门没有联络员（已告知机关党委）` : '';
    return `已开启 ${opened.cycle.number}，截止 ${formatTime(ctx.services, dueAt)}：${opened.tasks} 个部门${office}。`;
  } catch (error) {
    if (error instanceof CycleConflict) throw new Error(`R-${quarterKey(quarter)} 已经开启，未重复开启`);
    throw error;
  }
}


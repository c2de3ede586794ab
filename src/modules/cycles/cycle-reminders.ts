import { In } from 'typeorm';
import type { JobContext } from '../../bot/turn-context';
import { peopleWithRole } from '../../core/actor';
import { scheduleTimer, type TimerJob } from '../../core/timers';
import { CycleEntity, CycleTaskEntity, type Cycle } from '../../db/entities/cycle.entity';
import { DepartmentEntity } from '../../db/entities/org.entity';
import { daysLate, nextMorning } from './cycle-schedule';
import { formatTime, KIND_LABELS, liaisonsOf } from './cycle-service';

/*
 * The reminder ladder (after the task card at opening): 80 % of the window, the due day's morning,
 * then once a workday after the deadline to the late departments' liaisons, with the deputies and
 * the office told which departments are late. Every moment goes through the reminder policy (quiet
 * hours, rest days, one reminder a day per person and cycle).
 */

/** Late notices stop after this many workdays; 督查 keeps showing the department as missing. */
export const MAX_LATE_ROUNDS = 10;

async function loadCycle(ctx: JobContext, job: TimerJob): Promise<Cycle | null> {
  return ctx.em.findOneBy(CycleEntity, { number: String(job.payload.cycle) });
}

/** A job that came due outside the allowed hours (an instance was down) moves to the next allowed moment. */
async function movedIfNotAllowed(ctx: JobContext, job: TimerJob): Promise<boolean> {
  if (ctx.services.reminders.isAllowed(ctx.now)) return false;
  const at = ctx.services.reminders.nextAllowed(ctx.now);
  await scheduleTimer(ctx.em, { key: `${job.key.replace(/@\d+$/, '')}@${at}`, kind: job.kind, dueAt: at, payload: job.payload }, ctx.now);
  return true;
}

async function openTasks(ctx: JobContext, cycle: Cycle) {
  return ctx.em.findBy(CycleTaskEntity, { cycleId: cycle.id, status: 'open' });
}

export async function remindOpenTasks(ctx: JobContext, job: TimerJob): Promise<void> {
  const cycle = await loadCycle(ctx, job);
  if (!cycle || ctx.now >= cycle.dueAt) return;
  if (await movedIfNotAllowed(ctx, job)) return;
  const open = await openTasks(ctx, cycle);
  const liaisons = await liaisonsOf(ctx.em, open.map((t) => t.departmentId));
  const to = await ctx.services.reminders.takeDailySlots(ctx.em, [...liaisons.values()].flat(), `cycle:${cycle.number}`, ctx.now);
  const when = job.payload.step === 'dueday' ? '今天' : '';
  const text = `【${KIND_LABELS[cycle.kind]} ${cycle.number}】提醒：本部门报告${when}${formatTime(ctx.services, cycle.dueAt)} 截止，尚未提交。发送「报告 查看」看草稿，「报告 提交」报送；无情况可报：「零报告」。`;
  await ctx.notify(to, { kind: 'text', text }, { priority: 'bulk', batch: true });
  await ctx.ledger({ kind: 'cycle.reminded', subjectType: 'cycle', subjectId: cycle.number, data: { step: String(job.payload.step), people: to.length } });
}

export async function lateNotices(ctx: JobContext, job: TimerJob): Promise<void> {
  const cycle = await loadCycle(ctx, job);
  if (!cycle) return;
  if (ctx.now < cycle.dueAt) return; // the deadline moved later; its own late timer is scheduled
  if (await movedIfNotAllowed(ctx, job)) return;
  const round = Number(job.payload.round ?? 1);
  const open = await openTasks(ctx, cycle);
  if (open.length === 0) return;
  const liaisons = await liaisonsOf(ctx.em, open.map((t) => t.departmentId));
  const days = daysLate(ctx.services.timeZone, cycle.dueAt, ctx.now);
  const to = await ctx.services.reminders.takeDailySlots(ctx.em, [...liaisons.values()].flat(), `cycle:${cycle.number}`, ctx.now);
  await ctx.notify(to, { kind: 'text', text: `【${KIND_LABELS[cycle.kind]} ${cycle.number}】本部门报告已于 ${formatTime(ctx.services, cycle.dueAt)} 截止，尚未提交（逾期 ${days} 天）。现在提交仍会收下，记为逾期。` }, { priority: 'bulk', batch: true });
  const names = (await ctx.em.findBy(DepartmentEntity, { id: In(open.map((t) => t.departmentId)) })).map((d) => d.name).sort();
  const listed = names.slice(0, 30).join('、') + (names.length > 30 ? ` 等 ${names.length} 个部门` : '');
  const overseers = [...(await peopleWithRole(ctx.em, 'deputy')), ...(await peopleWithRole(ctx.em, 'office'))].map((p) => p.id);
  const told = await ctx.services.reminders.takeDailySlots(ctx.em, overseers, `cycle:${cycle.number}:late`, ctx.now);
  await ctx.notify(told, { kind: 'text', text: `【${KIND_LABELS[cycle.kind]} ${cycle.number}】截止 ${formatTime(ctx.services, cycle.dueAt)}，逾期未报 ${names.length} 个部门：${listed}。发送「周期 进度 ${cycle.number}」查看。` }, { priority: 'bulk', batch: true });
  await ctx.ledger({ kind: 'cycle.late.notice', subjectType: 'cycle', subjectId: cycle.number, data: { round, departments: open.length, liaisons: to.length } });
  if (round < MAX_LATE_ROUNDS) {
    const at = ctx.services.reminders.nextAllowed(nextMorning(ctx.services.timeZone, ctx.now));
    await scheduleTimer(ctx.em, { key: `cycle:${cycle.number}:late:${round + 1}`, kind: 'cycles.late', dueAt: at, payload: { cycle: cycle.number, round: round + 1 } }, ctx.now);
  }
}

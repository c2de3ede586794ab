import { In, type EntityManager } from 'typeorm';
import type { BotServices, JobContext } from '../../bot/turn-context';
import { nextCounterValue } from '../../core/counters';
import { peopleWithRole } from '../../core/actor';
import { isDuplicateKeyError } from '../../db/data-source';
import { DepartmentEntity, PersonEntity, RoleGrantEntity, type Person } from '../../db/entities/org.entity';
import { enqueueOutboundMany } from '../../core/outbox';
import { CycleEntity, CycleReportVersionEntity, CycleTaskEntity, type Cycle, type CycleKind, type CycleTask } from '../../db/entities/cycle.entity';
import { cancelTimersByPrefix, scheduleTimer } from '../../core/timers';
import { formatZoned } from '../../lib/zoned-time';
import { departmentPeriodData, draftMarkdown, surveyParticipation } from './cycle-queries';
import { daysLate, ladderMoments, nextMorning, quarterBounds, quarterKey, quarterlyTimes, type Quarter } from './cycle-schedule';
import { emptySections, SECTION_KEYS, type Sections } from './sections';

/*
 * Opening a cycle (定期报告 / 专题报告, Art. 10): one task per department in scope, each liaison's task
 * card with the department's data of the period, the office told at once which departments have no
 * liaison (Art. 6), and the reminder ladder scheduled on durable timers.
 */

export const KIND_LABELS: Record<CycleKind, string> = { quarterly: '定期报告', special: '专题报告' };

export class CycleConflict extends Error {}

export interface CycleDraft {
  kind: CycleKind;
  quarter?: Quarter;
  topic?: string;
  periodStart: number;
  periodEnd: number;
  dueAt: number;
  /** Department ids; null for every department below the unit. */
  scope: string[] | null;
  openedBy: string | null;
}

export interface OpenedCycle {
  cycle: Cycle;
  tasks: number;
  withoutLiaison: string[];
}

export function formatTime(services: Pick<BotServices, 'timeZone'>, at: number): string {
  return formatZoned(services.timeZone, at).slice(0, 16);
}

export function periodLabelOf(cycle: Cycle): string {
  if (cycle.periodKey) {
    const [year, q] = cycle.periodKey.split('Q');
    return `${year}年第${q}季度`;
  }
  return '本期';
}

/** The department's liaison(s) now, by department (the current liaison takes over a task). */
export async function liaisonsOf(em: EntityManager, departmentIds: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < departmentIds.length; i += 500) {
    const grants = await em.findBy(RoleGrantEntity, { role: 'liaison', scope: In(departmentIds.slice(i, i + 500)) });
    for (const g of grants) map.set(g.scope, [...(map.get(g.scope) ?? []), g.personId]);
  }
  return map;
}

async function peopleById(em: EntityManager, ids: string[]): Promise<Map<string, Person>> {
  const map = new Map<string, Person>();
  for (let i = 0; i < ids.length; i += 500) for (const p of await em.findBy(PersonEntity, { id: In(ids.slice(i, i + 500)), active: true })) map.set(p.id, p);
  return map;
}

async function departmentsInScope(em: EntityManager, scope: string[] | null): Promise<{ id: string; name: string }[]> {
  const all = await em.find(DepartmentEntity, { where: { active: true }, order: { name: 'ASC' } });
  return all.filter((d) => (scope === null ? d.parentId !== null : scope.includes(d.id))).map((d) => ({ id: d.id, name: d.name }));
}

async function cycleNumber(em: EntityManager, draft: CycleDraft, now: number, timeZone: string): Promise<string> {
  if (draft.kind === 'quarterly') return `R-${quarterKey(draft.quarter!)}`;
  const year = Number(formatZoned(timeZone, now).slice(0, 4));
  const n = await nextCounterValue(em, `cycle:${year}`);
  return `R-${year}-${String(n).padStart(4, '0')}`;
}

/** Opens a cycle in the caller's transaction. Throws CycleConflict when the quarter already has one. */
export async function openCycle(ctx: JobContext, draft: CycleDraft): Promise<OpenedCycle> {
  const { em, now, services } = ctx;
  const periodKey = draft.quarter ? quarterKey(draft.quarter) : null;
  if (periodKey && (await em.findOneBy(CycleEntity, { periodKey }))) throw new CycleConflict(periodKey);
  const number = await cycleNumber(em, draft, now, services.timeZone);
  try {
    await em.insert(CycleEntity, {
      number,
      kind: draft.kind,
      periodKey,
      topicEnc: draft.topic ? services.cipher.encrypt(draft.topic) : null,
      periodStart: draft.periodStart,
      periodEnd: draft.periodEnd,
      openedAt: now,
      dueAt: draft.dueAt,
      scope: draft.scope ? JSON.stringify(draft.scope) : null,
      openedBy: draft.openedBy,
    });
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new CycleConflict(periodKey ?? number);
    throw error;
  }
  const cycle = await em.findOneByOrFail(CycleEntity, { number });
  const departments = await departmentsInScope(em, draft.scope);
  const ids = departments.map((d) => d.id);
  const range = { start: draft.periodStart, end: Math.min(draft.periodEnd, now), label: number };
  const data = await departmentPeriodData(em, range, draft.scope === null ? null : ids);
  const { byDepartment: surveys } = await surveyParticipation(em, services, range);
  const liaisons = await liaisonsOf(em, ids);
  const people = await peopleById(em, [...liaisons.values()].flat());
  const withoutLiaison: string[] = [];
  const drafts = new Map(departments.map((d) => [d.id, draftMarkdown(data.get(d.id), surveys.get(d.id) ?? [])]));
  const recipients = new Map(departments.map((d) => [d.id, (liaisons.get(d.id) ?? []).map((id) => people.get(id)).filter((p): p is Person => Boolean(p))]));
  const reached = departments.filter((d) => recipients.get(d.id)!.length > 0);
  for (const d of departments) if (!recipients.get(d.id)!.length) withoutLiaison.push(d.name);
  // One card per department (each holds its own draft), written with multi-row INSERTs, and the
  // fan-out to the outbox as bulk messages: a handful of statements per 200 departments.
  const common = taskCardVars(services, cycle, '', draft.topic, '', '');
  const cards = await services.cards.createMany(
    em,
    'cycle-task',
    reached.map((d) => ({ vars: { ...common, departmentName: d.name, draft: drafts.get(d.id)! }, subject: { type: 'cycle-task', id: `${number}:${d.id}` } })),
    now,
  );
  const cardOf = new Map(reached.map((d, i) => [d.id, cards[i]]));
  await enqueueOutboundMany(
    em,
    services.cipher,
    reached.flatMap((d) =>
      recipients.get(d.id)!.map((person) => ({ platform: services.platformFor(person), recipients: [{ kind: 'user' as const, userId: person.id }], content: { kind: 'card' as const, card: cardOf.get(d.id)! }, priority: 'bulk' as const })),
    ),
    now,
  );
  const rows: Omit<CycleTask, 'id'>[] = departments.map((d) => ({
    cycleId: cycle.id,
    departmentId: d.id,
    liaisonId: recipients.get(d.id)![0]?.id ?? null,
    status: 'open',
    sectionsEnc: null,
    draftEnc: services.cipher.encrypt(drafts.get(d.id)!),
    submittedAt: null,
    lateDays: 0,
    version: 0,
    fileId: null,
    attachmentTextEnc: null,
    cardId: cardOf.get(d.id)?.cardId ?? null,
    updatedAt: now,
  }));
  for (let i = 0; i < rows.length; i += 200) await em.createQueryBuilder().insert().into(CycleTaskEntity).values(rows.slice(i, i + 200)).updateEntity(false).execute();
  const tasks = rows;
  if (withoutLiaison.length) await tellOfficeNoLiaison(ctx, cycle, withoutLiaison);
  await ctx.ledger({ kind: 'cycle.opened', subjectType: 'cycle', subjectId: number, data: { kind: draft.kind, departments: tasks.length, withoutLiaison: withoutLiaison.length, dueAt: draft.dueAt } });
  await scheduleLadder(em, services, cycle, now);
  return { cycle, tasks: tasks.length, withoutLiaison };
}

export function taskCardVars(services: BotServices, cycle: Cycle, departmentName: string, topic: string | undefined, draft: string, progress: string): Record<string, string> {
  return {
    kindLabel: KIND_LABELS[cycle.kind],
    number: cycle.number,
    due: formatTime(services, cycle.dueAt),
    topicLine: topic ? `专题：${topic}\n\n` : '',
    periodLabel: periodLabelOf(cycle),
    draft,
    departmentName,
    progress,
  };
}

async function tellOfficeNoLiaison(ctx: JobContext, cycle: Cycle, names: string[]): Promise<void> {
  const office = (await peopleWithRole(ctx.em, 'office')).map((p) => p.id);
  const listed = names.slice(0, 30).join('、') + (names.length > 30 ? ` 等 ${names.length} 个部门` : '');
  const text = `【${KIND_LABELS[cycle.kind]} ${cycle.number}】以下部门未指定联络员，收不到报告任务：${listed}。请指定联络员（第六条）：联络员 部门 人员，例如：联络员 ${names[0]} 张三。指定后新联络员即可用「报告」填报本周期。`;
  await ctx.notify(office, { kind: 'text', text });
}

/** The ladder's timers: 80 % of the window and the due day's morning (moved by the reminder policy), then the first late notice. */
export async function scheduleLadder(em: EntityManager, services: BotServices, cycle: Cycle, now: number): Promise<void> {
  for (const moment of ladderMoments(services.timeZone, cycle.openedAt, cycle.dueAt)) {
    const at = services.reminders.nextAllowed(moment.at);
    if (at >= cycle.dueAt) continue;
    await scheduleTimer(em, { key: `cycle:${cycle.number}:remind:${moment.step}`, kind: 'cycles.remind', dueAt: at, payload: { cycle: cycle.number, step: moment.step } }, now);
  }
  // Late notices start the workday after the deadline: the due day already had its reminder.
  const firstLate = services.reminders.nextAllowed(nextMorning(services.timeZone, cycle.dueAt));
  await scheduleTimer(em, { key: `cycle:${cycle.number}:late:1`, kind: 'cycles.late', dueAt: firstLate, payload: { cycle: cycle.number, round: 1 } }, now);
}

export async function rescheduleLadder(em: EntityManager, services: BotServices, cycle: Cycle, now: number): Promise<void> {
  await cancelTimersByPrefix(em, `cycle:${cycle.number}:`);
  await scheduleLadder(em, services, cycle, now);
}

/** Opens the quarter's cycle (the timer, the CLI). */
export async function openQuarterly(ctx: JobContext, quarter: Quarter, dueAt?: number): Promise<OpenedCycle> {
  const bounds = quarterBounds(ctx.services.timeZone, quarter);
  const times = quarterlyTimes(ctx.services.timeZone, ctx.services.quarterlyCycle, quarter);
  return openCycle(ctx, { kind: 'quarterly', quarter, periodStart: bounds.start, periodEnd: bounds.end, dueAt: dueAt ?? times.dueAt, scope: null, openedBy: null });
}

/** A task may be filled while open (late ones too), and replaced until the deadline once submitted. */
export function isFillable(task: CycleTask, cycle: Cycle, now: number): boolean {
  return task.status === 'open' || now <= cycle.dueAt;
}

export interface TaskWithCycle {
  task: CycleTask;
  cycle: Cycle;
}

/** The tasks of the liaison's departments that can still be filled, earliest deadline first. */
export async function fillableTasks(em: EntityManager, departmentIds: string[], now: number): Promise<TaskWithCycle[]> {
  if (departmentIds.length === 0) return [];
  const tasks = await em.findBy(CycleTaskEntity, { departmentId: In(departmentIds) });
  if (tasks.length === 0) return [];
  const cycles = new Map((await em.findBy(CycleEntity, { id: In([...new Set(tasks.map((t) => t.cycleId))]) })).map((c) => [c.id, c]));
  return tasks
    .map((task) => ({ task, cycle: cycles.get(task.cycleId)! }))
    .filter(({ task, cycle }) => isFillable(task, cycle, now))
    .sort((a, b) => a.cycle.dueAt - b.cycle.dueAt);
}

export function readSections(services: BotServices, task: CycleTask): Sections {
  if (!task.sectionsEnc) return emptySections();
  const parsed = JSON.parse(services.cipher.decrypt(task.sectionsEnc)) as Partial<Sections>;
  return Object.fromEntries(SECTION_KEYS.map((k) => [k, parsed[k] ?? ''])) as unknown as Sections;
}

/** Records a submitted version (full or nil) in the caller's transaction; returns the version and days late. */
export async function recordVersion(
  em: EntityManager,
  services: BotServices,
  target: TaskWithCycle,
  submission: { nil: boolean; sections: Sections | { note: string }; submittedBy: string },
  now: number,
): Promise<{ version: number; lateDays: number }> {
  const { task, cycle } = target;
  const version = task.version + 1;
  const lateDays = submission.nil ? 0 : daysLate(services.timeZone, cycle.dueAt, now);
  await em.insert(CycleReportVersionEntity, {
    taskId: task.id,
    version,
    nil: submission.nil,
    sectionsEnc: services.cipher.encrypt(JSON.stringify(submission.sections)),
    fileId: task.fileId,
    submittedBy: submission.submittedBy,
    submittedAt: now,
    lateDays,
  });
  await em.update(CycleTaskEntity, { id: task.id }, { status: submission.nil ? 'nil' : 'submitted', submittedAt: now, lateDays, version, updatedAt: now });
  return { version, lateDays };
}

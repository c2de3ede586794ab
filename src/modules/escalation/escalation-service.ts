import { In, type EntityManager } from 'typeorm';
import type { BotServices, TurnContext } from '../../bot/turn-context';
import { UserFacingError } from '../../bot/turn-context';
import type { OutboundContent, PlatformName } from '../../core/messages';
import { enqueueOutbound } from '../../core/outbox';
import { cancelTimersByPrefix, scheduleTimer } from '../../core/timers';
import { CardEntity } from '../../db/entities/messaging.entity';
import { InsightEntity, type Insight } from '../../db/entities/insight.entity';
import { PersonEntity, type Person } from '../../db/entities/org.entity';
import {
  EscalationEntity,
  EscalationEventEntity,
  type AckMethod,
  type Escalation,
  type EscalationEventKind,
} from '../../db/entities/escalation.entity';
import { CATEGORY_LABELS, ROLE_LABELS } from '../../domain/glossary';
import { appendLedger, type LedgerRecord } from '../../core/ledger';
import { departmentNames } from '../org/org-service';
import { peopleWithRole } from '../../core/actor';
import { formatTime, yearIn } from '../insights/insight-service';
import { normalizeRecordNumber } from '../../domain/record-number';
import type { EscalationStep, StepTarget } from './escalation-steps';
import { forUpdate } from '../../db/row-locks';

export const ALERT_TEMPLATE = 'immediate-alert';
/** Alert cards carry this subject (with the insight number), so that every copy can be found and updated. */
export const ALERT_SUBJECT = 'immediate';

export const ACK_LABELS: Record<AckMethod, string> = { ack: '已阅知悉', instruct: '部署处置', forward: '转分管领导', command: '已确认' };

/** Writes that happen outside a chat turn (the step worker): the same services, an explicit clock. */
export interface StepScope {
  em: EntityManager;
  services: BotServices;
  now: number;
}

export function formatWait(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 0) return `${Math.max(1, Math.round(ms / 1000))}秒`;
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours}小时${minutes % 60 ? `${minutes % 60}分钟` : ''}` : `${minutes}分钟`;
}

type EventDetails = { step?: number | null; personId?: string | null; cardId?: string | null; detail?: string | null; actorId?: string | null };

/**
 * Records steps with their time, in the escalation's own record and in the ledger (Art. 17). The
 * ledger entries are appended by `flush`, at the end of the transaction: appending takes the
 * ledger's lock, which is then held only for the last moments before commit.
 */
function eventRecorder(em: EntityManager, escalation: Pick<Escalation, 'id' | 'insightNumber'>) {
  const entries: { record: LedgerRecord; at: number }[] = [];
  return {
    async record(kind: EscalationEventKind, at: number, details: EventDetails = {}): Promise<void> {
      await em.insert(EscalationEventEntity, {
        escalationId: escalation.id,
        kind,
        step: details.step ?? null,
        personId: details.personId ?? null,
        cardId: details.cardId ?? null,
        detail: details.detail ?? null,
        at,
      });
      const data: Record<string, unknown> = { at };
      if (details.step !== undefined && details.step !== null) data.step = details.step + 1;
      if (details.personId) data.personId = details.personId;
      if (details.detail) data.detail = details.detail;
      entries.push({ record: { kind: `escalation.${kind}`, actorId: details.actorId ?? null, subjectType: 'insight', subjectId: escalation.insightNumber, data }, at });
    },
    async flush(): Promise<void> {
      for (const { record, at } of entries.splice(0)) await appendLedger(em, record, at);
    },
  };
}

/** Records one step at once (in a chat turn, where the ledger is written anyway). */
async function recordEvent(
  em: EntityManager,
  escalation: Pick<Escalation, 'id' | 'insightNumber'>,
  kind: EscalationEventKind,
  at: number,
  details: EventDetails = {},
): Promise<void> {
  const recorder = eventRecorder(em, escalation);
  await recorder.record(kind, at, details);
  await recorder.flush();
}

/** Stores the escalation of a new immediate report; its first step is due at once. */
export async function createEscalation(ctx: TurnContext, insight: Insight): Promise<Escalation> {
  const row: Omit<Escalation, 'id'> = {
    insightId: insight.id,
    insightNumber: insight.number,
    reporterId: insight.reporterId,
    state: 'open',
    step: 0,
    nextDueAt: ctx.now,
    acknowledgedBy: null,
    acknowledgedAt: null,
    ackMethod: null,
    instructionEnc: null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
  const { identifiers } = await ctx.em.insert(EscalationEntity, row);
  const escalation = { ...row, id: Number(identifiers[0].id) };
  await recordEvent(ctx.em, escalation, 'created', ctx.now, { actorId: ctx.actor.person.id, personId: ctx.actor.person.id });
  await scheduleEscalationStep(ctx.em, escalation.id, 0, ctx.now, ctx.now);
  // Once this turn has committed, the first step runs at once instead of at the worker's next poll.
  ctx.defer(async () => ctx.services.wakeTimers());
  return escalation;
}

export const ESCALATION_STEP_TIMER = 'escalation.step';

/** The durable timer of one step of one escalation (src/core/timers.ts). */
export async function scheduleEscalationStep(em: EntityManager, escalationId: number, step: number, dueAt: number, now: number): Promise<void> {
  await scheduleTimer(em, { key: `escalation:${escalationId}:${step}`, kind: ESCALATION_STEP_TIMER, dueAt, payload: { escalationId, step } }, now);
}

async function sendDirect(scope: StepScope, person: Person, content: OutboundContent): Promise<PlatformName> {
  const platform = scope.services.platformFor(person);
  await enqueueOutbound(scope.em, scope.services.cipher, { platform, recipients: [{ kind: 'user', userId: person.id }], content, priority: 'alert' }, scope.now);
  return platform;
}

async function alertCardVars(scope: StepScope, insight: Insight, note: string) {
  const reporter = await scope.em.findOneBy(PersonEntity, { id: insight.reporterId });
  const names = await departmentNames(scope.em, insight.departmentId ? [insight.departmentId] : []);
  return {
    number: insight.number,
    text: scope.services.cipher.decrypt(insight.textEnc),
    departmentName: insight.departmentId ? (names.get(insight.departmentId) ?? insight.departmentId) : '未归属部门',
    categoryLabel: CATEGORY_LABELS[insight.category],
    reporterName: reporter?.name ?? insight.reporterId,
    time: formatTime(scope.services.timeZone, insight.createdAt),
    note,
  };
}

/** Who a step reaches: people per role, and the roles nobody holds. */
async function resolveTargets(em: EntityManager, targets: StepTarget[]) {
  const cardRecipients = new Map<string, Person>();
  const missingRoles: StepTarget[] = [];
  for (const target of targets.filter((t) => t !== 'office-notice')) {
    const people = await peopleWithRole(em, target as 'secretary' | 'deputy' | 'office');
    if (people.length === 0) missingRoles.push(target);
    for (const person of people) cardRecipients.set(person.id, person);
  }
  return { cardRecipients, missingRoles, officeNotice: targets.includes('office-notice') };
}

/**
 * Runs step `index` of an escalation whose row the caller has just advanced (in the same
 * transaction): alert cards, the office's copy or notice, and the record of each send.
 */
export async function runEscalationStep(scope: StepScope, escalation: Escalation, index: number, steps: EscalationStep[]): Promise<void> {
  const step = steps[index];
  const recorder = eventRecorder(scope.em, escalation);
  const insight = await scope.em.findOneByOrFail(InsightEntity, { id: escalation.insightId });
  const { cardRecipients, missingRoles, officeNotice } = await resolveTargets(scope.em, step.targets);
  const office = await peopleWithRole(scope.em, 'office');
  const missingLeaders = missingRoles.filter((r) => r === 'secretary' || r === 'deputy');
  // The office is told why once per missing role, not at every step.
  const explained = new Set((await scope.em.findBy(EscalationEventEntity, { escalationId: escalation.id, kind: 'no_recipient' })).map((e) => e.detail));
  const unexplained = missingLeaders.filter((r) => !explained.has(r));
  for (const role of missingRoles) await recorder.record('no_recipient', scope.now, { step: index, detail: role });
  // Nobody to alert in a leader's place: the office (机关党委) takes the alert and is told why.
  if (missingLeaders.length > 0) for (const person of office) cardRecipients.set(person.id, person);

  const notes: string[] = [];
  if (index > 0) notes.push(`第${index + 1}次提醒：上报已 ${formatWait(scope.now - insight.createdAt)}，仍无人确认`);
  if (missingLeaders.length > 0) notes.push(`本单位尚未指定${missingLeaders.map((r) => ROLE_LABELS[r]).join('、')}，现报送机关党委`);
  if (cardRecipients.size > 0) {
    const card = await scope.services.cards.create(scope.em, ALERT_TEMPLATE, await alertCardVars(scope, insight, notes.join('；')), { type: ALERT_SUBJECT, id: insight.number }, scope.now);
    for (const person of cardRecipients.values()) {
      const platform = await sendDirect(scope, person, { kind: 'card', card });
      await recorder.record('sent', scope.now, { step: index, personId: person.id, cardId: card.cardId, detail: platform });
      // The console delivers by storing: its copy is in the person's inbox as of now.
      if (platform === 'console') await recorder.record('delivered', scope.now, { step: index, personId: person.id, cardId: card.cardId, detail: platform });
    }
  }
  if (unexplained.length > 0) await tellOfficeWhy(scope, escalation, index, office, unexplained);
  if (officeNotice) await noticeOffice(scope, recorder, insight, index, office);
  if (index > 0) await recorder.record('escalated', scope.now, { step: index, detail: step.targets.join('+') });
  if (index + 1 >= steps.length) await recorder.record('exhausted', scope.now, { step: index });
  await recorder.flush();
}

async function tellOfficeWhy(scope: StepScope, escalation: Escalation, index: number, office: Person[], missing: StepTarget[]): Promise<void> {
  const roles = missing.map((r) => ROLE_LABELS[r as 'secretary' | 'deputy']).join('、');
  if (office.length === 0) {
    scope.services.log.error({ insight: escalation.insightNumber, step: index + 1 }, 'immediate report: no leader and no office to alert');
    return;
  }
  const text =
    `即时报告 ${escalation.insightNumber} 应报送${roles}，但本单位尚未指定${roles}，因此转由机关党委接收（见上方卡片）。` +
    `请尽快指定，例如发送「角色 人员 ${missing.includes('secretary') ? '书记' : '分管领导'}」，并电话报告党组(党委)。`;
  for (const person of office) await sendDirect(scope, person, { kind: 'text', text });
}

async function noticeOffice(scope: StepScope, recorder: ReturnType<typeof eventRecorder>, insight: Insight, index: number, office: Person[]): Promise<void> {
  if (office.length === 0) {
    await recorder.record('no_recipient', scope.now, { step: index, detail: 'office' });
    scope.services.log.error({ insight: insight.number }, 'immediate report unacknowledged and no office to tell');
    return;
  }
  const text =
    `即时报告 ${insight.number}（${formatTime(scope.services.timeZone, insight.createdAt)} 上报）已 ${formatWait(scope.now - insight.createdAt)} 仍无人确认。` +
    '请电话联系党组(党委)书记或分管领导，确认后可由其发送「确认 编号」。';
  for (const person of office) {
    const platform = await sendDirect(scope, person, { kind: 'text', text });
    await recorder.record('sent', scope.now, { step: index, personId: person.id, detail: platform });
  }
}

/** Finds the escalation of an insight number, e.g. S-2026-0001 or just 1 / 0001 for this year. */
export async function findEscalation(ctx: TurnContext, word: string): Promise<Escalation> {
  const number = normalizeRecordNumber('S', word, yearIn(ctx.services.timeZone, ctx.now));
  const escalation = number ? await ctx.em.findOneBy(EscalationEntity, { insightNumber: number }) : null;
  if (!escalation) throw new UserFacingError(`没有编号为「${word.slice(0, 30)}」的即时报告。请使用提醒卡片上的编号，例如：确认 S-2026-0001`);
  return escalation;
}

export function isLeader(ctx: TurnContext): boolean {
  return ctx.actor.roles.has('secretary') || ctx.actor.roles.has('deputy');
}

async function personName(em: EntityManager, id: string | null): Promise<string> {
  if (!id) return '';
  return (await em.findOneBy(PersonEntity, { id }))?.name ?? id;
}

/**
 * A leader acknowledges (card button or `确认`): stops the chain everywhere, shows who and when on
 * every alert card, and tells the reporter. Returns false when someone had already acknowledged.
 */
export async function acknowledge(ctx: TurnContext, escalation: Escalation, method: AckMethod): Promise<boolean> {
  if (!isLeader(ctx)) {
    // The office gets a copy of every alert; anyone else pressing the card was sent it by someone.
    throw new UserFacingError(
      ctx.actor.roles.has('office')
        ? '即时报告由党组(党委)书记或分管领导确认。您收到的是抄送，如需催办，请电话联系领导。'
        : '即时报告由党组(党委)书记或分管领导确认，这张卡片您无需操作。如了解相关情况，请告知本部门联络员或机关党委。',
    );
  }
  const result = await ctx.em
    .createQueryBuilder()
    .update(EscalationEntity)
    .set({ state: 'acknowledged', acknowledgedBy: ctx.actor.person.id, acknowledgedAt: ctx.now, ackMethod: method, nextDueAt: null, updatedAt: ctx.now })
    .where('id = :id AND state IN (:...states)', { id: escalation.id, states: ['open', 'exhausted'] })
    .execute();
  if (!result.affected) return false;
  await cancelTimersByPrefix(ctx.em, `escalation:${escalation.id}:`);
  const actor = ctx.actor.person;
  await recordEvent(ctx.em, escalation, 'acknowledged', ctx.now, { personId: actor.id, actorId: actor.id, detail: method });
  const state = `${ACK_LABELS[method]} · ${actor.name} ${formatTime(ctx.services.timeZone, ctx.now)}`;
  await updateAlertCards(ctx, escalation.insightNumber, state);
  if (escalation.reporterId !== actor.id) {
    const role = ctx.actor.roles.has('secretary') ? ROLE_LABELS.secretary : ROLE_LABELS.deputy;
    await ctx.notify([escalation.reporterId], {
      kind: 'text',
      text: `您上报的即时报告 ${escalation.insightNumber} 已由${role} ${actor.name} 于 ${formatTime(ctx.services.timeZone, ctx.now)} 确认${method === 'command' ? '' : `（${ACK_LABELS[method]}）`}。`,
    });
  }
  return true;
}

/** Every alert card of the report shows the new state; copies already on a platform are updated too. */
async function updateAlertCards(ctx: TurnContext, number: string, state: string): Promise<void> {
  const query = ctx.em
    .getRepository(CardEntity)
    .createQueryBuilder('c')
    .where('c.subject_type = :type AND c.subject_id = :number AND c.template = :template', { type: ALERT_SUBJECT, number, template: ALERT_TEMPLATE });
  // On MySQL a locking read sees a card that a step committed while this turn waited for the
  // escalation row; a plain read would use the turn's older snapshot. FOR UPDATE because MariaDB
  // has no FOR SHARE. SQLite runs one transaction at a time.
  const cards = await forUpdate(ctx.em, query).getMany();
  for (const card of cards) await ctx.services.cards.update(ctx.em, card.id, { state }, ctx.now);
}

export async function describeAcknowledgement(ctx: TurnContext, escalation: Escalation): Promise<string> {
  const current = (await ctx.em.findOneBy(EscalationEntity, { id: escalation.id }))!;
  const who = await personName(ctx.em, current.acknowledgedBy);
  return `即时报告 ${current.insightNumber} 已由 ${who} 于 ${formatTime(ctx.services.timeZone, current.acknowledgedAt!)} 确认（${ACK_LABELS[current.ackMethod ?? 'command']}），无需重复确认。`;
}

/** 部署处置: the instruction is kept (encrypted) and passed to the office, which carries it out. */
export async function recordInstruction(ctx: TurnContext, escalation: Escalation, instruction: string): Promise<string> {
  const actor = ctx.actor.person;
  await ctx.em.update(EscalationEntity, { id: escalation.id }, { instructionEnc: ctx.services.cipher.encrypt(instruction), updatedAt: ctx.now });
  await recordEvent(ctx.em, escalation, 'instructed', ctx.now, { personId: actor.id, actorId: actor.id });
  const office = (await peopleWithRole(ctx.em, 'office')).filter((p) => p.id !== actor.id);
  await ctx.notify(
    office.map((p) => p.id),
    { kind: 'text', text: `${actor.name} 对即时报告 ${escalation.insightNumber} 作出部署：${instruction}\n请机关党委跟进落实，落实情况可用「处置 编号 措施」记录。` },
  );
  if (escalation.reporterId !== actor.id) {
    await ctx.notify([escalation.reporterId], { kind: 'text', text: `${actor.name} 已对您上报的即时报告 ${escalation.insightNumber} 作出部署，机关党委将跟进落实。` });
  }
  return office.length ? `已记录您对 ${escalation.insightNumber} 的部署，并转机关党委（${office.map((p) => p.name).join('、')}）跟进落实。` : `已记录您对 ${escalation.insightNumber} 的部署。`;
}

/** 转分管领导: the deputies get the alert (already acknowledged) to take it in hand. */
export async function forwardToDeputy(ctx: TurnContext, escalation: Escalation): Promise<string> {
  const actor = ctx.actor.person;
  const deputies = (await peopleWithRole(ctx.em, 'deputy')).filter((p) => p.id !== actor.id);
  if (deputies.length === 0) return '本单位尚未指定分管领导（或您本人即分管领导），无法转交。请联系机关党委指定分管领导（角色 人员 分管领导）。';
  const insight = await ctx.em.findOneByOrFail(InsightEntity, { id: escalation.insightId });
  const scope: StepScope = { em: ctx.em, services: ctx.services, now: ctx.now };
  const vars = await alertCardVars(scope, insight, `${actor.name} 转分管领导处理`);
  const card = await ctx.services.cards.create(ctx.em, ALERT_TEMPLATE, vars, { type: ALERT_SUBJECT, id: insight.number }, ctx.now);
  const current = await ctx.em.findOneByOrFail(EscalationEntity, { id: escalation.id });
  const state = `${ACK_LABELS[current.ackMethod ?? 'forward']} · ${await personName(ctx.em, current.acknowledgedBy)} ${formatTime(ctx.services.timeZone, current.acknowledgedAt ?? ctx.now)}`;
  const shown = await ctx.services.cards.update(ctx.em, card.cardId, { state }, ctx.now);
  await ctx.notify(
    deputies.map((p) => p.id),
    { kind: 'card', card: shown },
  );
  for (const deputy of deputies) await recordEvent(ctx.em, escalation, 'forwarded', ctx.now, { personId: deputy.id, actorId: actor.id, cardId: card.cardId });
  return `已转分管领导（${deputies.map((p) => p.name).join('、')}）处理。`;
}

/** `我的` for leaders: immediate reports still waiting for an acknowledgement. */
export async function openEscalations(em: EntityManager): Promise<Escalation[]> {
  return em.find(EscalationEntity, { where: { state: In(['open', 'exhausted']) }, order: { id: 'ASC' }, take: 20 });
}

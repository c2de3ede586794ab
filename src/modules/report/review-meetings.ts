import type { EntityManager } from 'typeorm';
import { UserFacingError, type BotServices, type Command, type TimerJobHandler, type TurnContext } from '../../bot/turn-context';
import { peopleWithRole } from '../../core/actor';
import { nextCounterValue } from '../../core/counters';
import { scheduleTimer } from '../../core/timers';
import { InsightEntity, type Insight } from '../../db/entities/insight.entity';
import { ReviewMeetingEntity, UnitReportEntity } from '../../db/entities/report.entity';
import { normalizeRecordNumber } from '../../domain/record-number';
import { splitCommand, words } from '../../domain/text';
import { formatZonedDate, parseDate, startOfZonedDay, zonedDate } from '../../lib/zoned-time';
import { addAction, advance } from '../cases/case-service';
import { openFollowUps } from '../insights/insight-queries';

/*
 * Review meetings (分析研判会议, Art. 12): at least every half year (REVIEW_MEETING_MONTHS), the
 * secretary and the office are reminded two weeks ahead — on the 1st of the meeting month at 09:00,
 * for a meeting by mid-month, moved by the reminder policy — with the compiled materials. 研判会 安排
 * schedules one, 研判会 纪要 records the minutes (encrypted); every insight the minutes name gets an
 * action (处置) through the cases module. A warning (苗头性) on an immediate report prompts the
 * secretary to call a special meeting.
 */

export const REMIND_KIND = 'report.review-remind';

function meetingKey(year: number, month: number): string {
  return `review:${year}-${String(month).padStart(2, '0')}:remind`;
}

/** Schedules the reminders of the next twelve months' meetings (idempotent by key). */
export async function scheduleReviewReminders(em: EntityManager, services: BotServices, months: number[], now: number): Promise<void> {
  const today = zonedDate(services.timeZone, now);
  for (const year of [today.year, today.year + 1]) {
    for (const month of months) {
      const ideal = startOfZonedDay(services.timeZone, year, month, 1) + 9 * 3_600_000;
      if (ideal < now || ideal > now + 366 * 86_400_000) continue;
      await scheduleTimer(em, { key: meetingKey(year, month), kind: REMIND_KIND, dueAt: services.reminders.nextAllowed(ideal), payload: { year, month } }, now);
    }
  }
}

async function reminderRecipients(em: EntityManager): Promise<string[]> {
  return [...new Set([...(await peopleWithRole(em, 'secretary')), ...(await peopleWithRole(em, 'office'))].map((p) => p.id))];
}

/** The compiled materials: the last two reports of record, open warnings, unhandled insights, supervision. */
export async function reviewMaterials(em: EntityManager, services: BotServices, now: number): Promise<string> {
  const records = await em.find(UnitReportEntity, { where: { state: 'record' }, order: { archivedAt: 'DESC' }, take: 2 });
  const open = await openFollowUps(em);
  const lines = [
    '**近两期存档报告**：' + (records.length ? records.map((r) => `${r.number}（${r.label}）`).join('、') + '（「报告 下载 编号」接收）' : '暂无'),
    `**未化解的苗头性问题**：${open.warningCount} 条${open.warnings.length ? `（${open.warnings.slice(0, 10).join('、')}${open.warningCount > 10 ? ' 等' : ''}）` : ''}`,
    `**待处置**：已定性待处置 ${open.unhandled} 条，待定性 ${open.unclassified} 条`,
  ];
  if (services.facts.supervision) {
    const range = { start: now - 183 * 86_400_000, end: now, label: '近半年' };
    const rows = await services.facts.supervision(em, services, range);
    const late = rows.reduce((n, r) => n + r.reportsLate, 0);
    const missing = rows.reduce((n, r) => n + r.reportsMissing, 0);
    const onTime = rows.reduce((n, r) => n + r.reportsOnTime, 0);
    lines.push(`**督促检查（近半年）**：部门报告按时 ${onTime} 份、逾期 ${late} 份、未报 ${missing} 份；共 ${rows.length} 个部门`);
  }
  return lines.map((l) => `- ${l}`).join('\n');
}

const remind: TimerJobHandler = async (ctx, job) => {
  const { year, month } = job.payload as { year: number; month: number };
  const recipients = await ctx.services.reminders.takeDailySlots(ctx.em, await reminderRecipients(ctx.em), `review:${year}-${month}`, ctx.now);
  const materials = await reviewMaterials(ctx.em, ctx.services, ctx.now);
  await ctx.notify(
    recipients,
    {
      kind: 'markdown',
      title: '思想动态分析研判会议提醒',
      markdown: `## 思想动态分析研判会议提醒\n按办法第十二条，党组（党委）每半年至少召开一次分析研判会议。请在 ${year} 年 ${month} 月中旬前召开，发送「研判会 安排 YYYY-MM-DD」安排会议。\n\n${materials}`,
    },
    { priority: 'bulk', batch: true },
  );
  await ctx.ledger({ kind: 'review.reminded', subjectType: 'review', subjectId: `${year}-${String(month).padStart(2, '0')}`, data: { recipients: recipients.length } });
  await scheduleReviewReminders(ctx.em, ctx.services, [month], ctx.now);
};

export function reviewMeetingTimers(): Record<string, TimerJobHandler> {
  return { [REMIND_KIND]: remind };
}

/** Called when an immediate report is classified 苗头性: the secretary is asked to consider a special meeting. */
export async function promptSpecialMeeting(ctx: TurnContext, insight: Insight): Promise<void> {
  if (insight.kind !== 'immediate') return;
  const secretaries = (await peopleWithRole(ctx.em, 'secretary')).map((p) => p.id);
  await ctx.notify(secretaries, {
    kind: 'text',
    text: `即时报告 ${insight.number} 已定性为「苗头性」。按办法第十二条，遇有重大情况应当及时召开专题会议研判。如需召开，请发送「研判会 安排 YYYY-MM-DD ${insight.number}」。`,
  });
  await ctx.ledger({ kind: 'review.prompted', subjectType: 'insight', subjectId: insight.number, data: { secretaries: secretaries.length } });
}

function meetingNumber(word: string | undefined): string | null {
  const m = /^yp-?(\d{4})-?(\d{1,6})$/i.exec((word ?? '').trim());
  return m ? `YP-${m[1]}-${m[2].padStart(4, '0')}` : null;
}

async function schedule(ctx: TurnContext, args: string): Promise<void> {
  const [dateWord, insightWord] = words(args);
  const usage = '例如：研判会 安排 2026-12-15（专题会议可附即时报告编号：研判会 安排 2026-12-15 S-2026-0042）';
  const date = parseDate(dateWord ?? '');
  if (!date) throw new UserFacingError(`请写明会议日期，${usage}`);
  const at = startOfZonedDay(ctx.services.timeZone, date.year, date.month, date.day);
  if (at + 86_400_000 <= ctx.now) throw new UserFacingError(`${dateWord} 已经过去，请写今天或以后的日期。`);
  let linked: string | null = null;
  if (insightWord) {
    linked = normalizeRecordNumber('S', insightWord);
    if (!linked || !(await ctx.em.findOneBy(InsightEntity, { number: linked }))) throw new UserFacingError(`找不到信息 ${insightWord}。${usage}`);
  }
  const number = `YP-${date.year}-${String(await nextCounterValue(ctx.em, `review_meeting:${date.year}`)).padStart(4, '0')}`;
  const half = linked ? 'special' : `${date.year}H${date.month <= 6 ? 1 : 2}`;
  await ctx.em.insert(ReviewMeetingEntity, { number, half, scheduledFor: at, linkedInsight: linked, minutesEnc: null, createdBy: ctx.actor.person.id, createdAt: ctx.now, minutesAt: null });
  await ctx.ledger({ kind: 'review.scheduled', subjectType: 'review', subjectId: number, data: { date: dateWord, half, insight: linked } });
  const others = (await reminderRecipients(ctx.em)).filter((id) => id !== ctx.actor.person.id);
  const what = `${linked ? '专题' : ''}思想动态分析研判会议 ${number} 定于 ${formatZonedDate(ctx.services.timeZone, at)} 召开${linked ? `（研判 ${linked}）` : ''}。`;
  await ctx.notify(others, { kind: 'markdown', title: '研判会议安排', markdown: `${what}\n\n${await reviewMaterials(ctx.em, ctx.services, ctx.now)}` });
  await ctx.replyText(`已安排${what}会后发送「研判会 纪要 ${number} 内容」记录纪要和决定事项（可写明信息编号，如 S-2026-0042，每条将记为处置措施）。`);
}

async function minutes(ctx: TurnContext, args: string): Promise<void> {
  const { word, rest } = splitCommand(args);
  const number = meetingNumber(word);
  if (!number || !rest) throw new UserFacingError('例如：研判会 纪要 YP-2026-0001 会议听取汇报，决定：S-2026-0042 由人事处解释职称评定政策。');
  const meeting = await ctx.em.findOneBy(ReviewMeetingEntity, { number });
  if (!meeting) throw new UserFacingError(`找不到研判会议 ${number}。`);
  if (meeting.minutesEnc) throw new UserFacingError(`${number} 已记录纪要，不能覆盖。`);
  const named = [...new Set([...rest.matchAll(/S-?\d{4}-?\d{1,6}/gi)].map((m) => normalizeRecordNumber('S', m[0])!))];
  const insights: Insight[] = [];
  for (const n of named) {
    const insight = await ctx.em.findOneBy(InsightEntity, { number: n });
    if (!insight) throw new UserFacingError(`纪要中的 ${n} 不存在，请核对后重新发送（纪要未记录）。`);
    if (insight.status === 'closed') throw new UserFacingError(`纪要中的 ${n} 已办结，不能再记处置措施（纪要未记录）。`);
    insights.push(insight);
  }
  await ctx.em.update(ReviewMeetingEntity, { id: meeting.id }, { minutesEnc: ctx.services.cipher.encrypt(rest), minutesAt: ctx.now });
  await ctx.ledger({ kind: 'review.minutes', subjectType: 'review', subjectId: number, data: { insights: named } });
  for (const insight of insights) {
    const sentence = rest.split(/[。；;\n]/).find((s) => s.toUpperCase().replace(/-/g, '').includes(insight.number.replace(/-/g, ''))) ?? rest;
    const action = await addAction(ctx, insight, { kind: 'action', text: `研判会议 ${number} 决定：${sentence.trim()}` });
    const status = advance(insight.status, 'handled');
    await ctx.em.update(InsightEntity, { id: insight.id }, { status, updatedAt: ctx.now });
    await ctx.ledger({ kind: 'insight.action', subjectType: 'insight', subjectId: insight.number, data: { actionId: action.id, status, review: number } });
  }
  await ctx.replyText(`已记录 ${number} 的纪要（加密保存）${insights.length ? `，${insights.map((i) => i.number).join('、')} 已记为处置措施` : ''}。`);
}

export function reviewMeetingCommand(): Command {
  return {
    name: '研判会',
    aliases: ['/review'],
    roles: ['secretary', 'office'],
    summary: '思想动态分析研判会议：安排会议、记录纪要',
    example: '研判会 安排 2026-12-15（会后：研判会 纪要 YP-2026-0001 内容）',
    async run(ctx, args) {
      const { word, rest } = splitCommand(args);
      if (word === '安排') return schedule(ctx, rest);
      if (word === '纪要') return minutes(ctx, rest);
      throw new UserFacingError('可用：研判会 安排 2026-12-15 [S-编号]、研判会 纪要 YP-2026-0001 内容。');
    },
  };
}

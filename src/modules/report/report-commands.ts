import { MoreThan } from 'typeorm';
import { UserFacingError, type BotModule, type Command, type FileHandler, type TurnContext } from '../../bot/turn-context';
import type { FileEvent } from '../../core/events';
import { deleteStoredFile, readStoredFile, storedFileInfo } from '../../core/file-store';
import { nextCounterValue } from '../../core/counters';
import { peopleWithRole } from '../../core/actor';
import { UnitReportEntity, type UnitReport } from '../../db/entities/report.entity';
import { normalizeInput, splitCommand } from '../../domain/text';
import { formatZonedDate, zonedDate } from '../../lib/zoned-time';
import { generateReport, DOCX_MIME } from './report-service';
import { ReportTargetError, resolveReportTarget, type ReportTarget } from './report-target';
import { reviewMeetingCommand, reviewMeetingTimers, scheduleReviewReminders } from './review-meetings';

/*
 * The unit's analysis report (思想动态分析报告, Art. 10–11, 17): 报告 生成 writes the draft .docx from
 * the data; the office edits it in Word and files the final version with 报告 存档 and the file; the
 * report of record is stored encrypted, its SHA-256 in the ledger, and the leaders are told.
 */

export interface ReportSettings {
  unitName: string;
  reviewMeetingMonths: number[];
}

/** How long 报告 存档 waits for the file. */
const AWAIT_FILE_MS = 30 * 60_000;
const LEADERS = ['secretary', 'deputy'] as const;
const ACCEPTED = /\.(docx|pdf)$/i;

function isOffice(ctx: TurnContext): boolean {
  return ctx.actor.roles.has('office');
}

function isOfficeOrLeader(ctx: TurnContext): boolean {
  return ['office', 'secretary', 'deputy'].some((r) => ctx.actor.roles.has(r as 'office'));
}

async function target(ctx: TurnContext, words: string): Promise<ReportTarget> {
  try {
    return await resolveReportTarget(ctx.em, ctx.services, words, ctx.now);
  } catch (error) {
    if (error instanceof ReportTargetError) throw new UserFacingError(error.message);
    throw error;
  }
}

export function normalizeReportNumber(word: string | undefined, thisYear: number): string | null {
  const text = (word ?? '').trim();
  const full = /^bg-?(\d{4})-?(\d{1,6})$/i.exec(text);
  if (full) return `BG-${full[1]}-${full[2].padStart(4, '0')}`;
  if (/^\d{1,6}$/.test(text)) return `BG-${thisYear}-${text.padStart(4, '0')}`;
  return null;
}

async function generate(ctx: TurnContext, words: string, settings: ReportSettings): Promise<void> {
  const chosen = await target(ctx, words);
  const report = await generateReport(ctx.em, ctx.services, chosen, { unitName: settings.unitName, now: ctx.now });
  await ctx.ledger({
    kind: 'report.generated',
    subjectType: 'report',
    subjectId: chosen.key,
    data: { sha256: report.sha256, size: report.data.length, ledgerHead: report.figures.ledgerHead.id, insights: report.figures.total.current, figures: report.figures.figures.length },
  });
  await ctx.reply({ kind: 'file', fileName: report.fileName, mimeType: DOCX_MIME, dataBase64: report.data.toString('base64') });
  await ctx.replyText(
    `已生成${chosen.label}思想动态分析报告草稿（${report.figures.total.current} 条信息，${report.figures.figures.length} 项数据见附件1）。请在 Word 或 WPS 中修改定稿后，发送「报告 存档 ${chosen.key}」并附上定稿文件（.docx 或 .pdf）。`,
  );
}

async function awaitFile(ctx: TurnContext, words: string): Promise<void> {
  if (!isOffice(ctx)) throw new UserFacingError('「报告 存档」仅限机关党委使用：定稿由机关党委存入工作台账。');
  const chosen = await target(ctx, words);
  await ctx.em.delete(UnitReportEntity, { requestedBy: ctx.actor.person.id, state: 'awaiting' });
  await ctx.em.insert(UnitReportEntity, {
    number: null,
    periodKey: chosen.key,
    label: chosen.label,
    state: 'awaiting',
    fileId: null,
    sha256: null,
    requestedBy: ctx.actor.person.id,
    archivedAt: null,
    createdAt: ctx.now,
  });
  await ctx.replyText(`请在 30 分钟内发送${chosen.label}报告的定稿文件（.docx 或 .pdf，不超过 20 MB）。`);
}

async function list(ctx: TurnContext): Promise<void> {
  if (!isOfficeOrLeader(ctx)) throw new UserFacingError('「报告 列表」仅限机关党委和领导使用。');
  const rows = await ctx.em.find(UnitReportEntity, { where: { state: 'record' }, order: { archivedAt: 'DESC' }, take: 20 });
  if (rows.length === 0) {
    await ctx.replyText('还没有存档的思想动态分析报告。机关党委可发送「报告 存档 2026Q4」并附定稿文件。');
    return;
  }
  const lines = rows.map((r) => `${r.number}　${r.label}　存档于 ${formatZonedDate(ctx.services.timeZone, r.archivedAt!)}　SHA-256 ${r.sha256!.slice(0, 12)}…`);
  await ctx.replyText(`存档的思想动态分析报告（最近 ${rows.length} 份）：\n${lines.join('\n')}\n接收文件：报告 下载 编号`);
}

/** Sends a report of record to the person asking, and records the download. */
export async function sendRecord(ctx: TurnContext, report: UnitReport, via: 'command' | 'card'): Promise<void> {
  const file = await readStoredFile(ctx.em, ctx.services.cipher, report.fileId!);
  if (!file) throw new UserFacingError(`${report.number} 的文件不在了，请联系机关党委。`);
  await ctx.ledger({ kind: 'report.downloaded', subjectType: 'report', subjectId: report.number, data: { sha256: report.sha256, via } });
  await ctx.notify([ctx.actor.person.id], { kind: 'file', fileName: file.name, mimeType: file.mimeType, dataBase64: file.data.toString('base64') });
}

async function download(ctx: TurnContext, words: string): Promise<void> {
  if (!isOfficeOrLeader(ctx)) throw new UserFacingError('「报告 下载」仅限机关党委和领导使用（知悉范围，办法第十六条）。');
  const number = normalizeReportNumber(words.split(/\s+/)[0], zonedDate(ctx.services.timeZone, ctx.now).year);
  if (!number) throw new UserFacingError('请写明报告编号，例如：报告 下载 BG-2026-0001（发送「报告 列表」查看编号）。');
  const report = await ctx.em.findOneBy(UnitReportEntity, { number, state: 'record' });
  if (!report) throw new UserFacingError(`找不到存档报告 ${number}。发送「报告 列表」查看编号。`);
  await sendRecord(ctx, report, 'command');
}

function reportCommand(settings: ReportSettings): Command {
  return {
    name: '报告',
    aliases: ['/unit-report'],
    roles: ['office', 'secretary', 'deputy'],
    subcommands: ['生成', '存档', '列表', '下载'],
    summary: '单位思想动态分析报告：生成草稿、存档定稿、列表、下载',
    example: '报告 生成 2026Q4（也可：报告 生成 R-2026-0002、报告 存档 2026Q4、报告 列表、报告 下载 BG-2026-0001）',
    async run(ctx, args) {
      const { word, rest } = splitCommand(args);
      switch (word) {
        case '生成':
          return generate(ctx, rest, settings);
        case '存档':
          return awaitFile(ctx, rest);
        case '列表':
          return list(ctx);
        case '下载':
          return download(ctx, rest);
        default:
          throw new UserFacingError('可用：报告 生成 2026Q4、报告 存档 2026Q4（随后发送定稿文件）、报告 列表、报告 下载 BG-2026-0001。');
      }
    },
  };
}

/** The file of 报告 存档: given as the caption, or sent within 30 minutes of the command. */
async function pendingArchive(ctx: TurnContext, event: FileEvent): Promise<{ row: UnitReport | null; captionWords: string | null }> {
  const caption = normalizeInput(event.caption ?? '');
  const { word, rest } = splitCommand(caption);
  const sub = splitCommand(rest);
  if (word === '报告' && sub.word === '存档') return { row: null, captionWords: sub.rest };
  const row = await ctx.em.findOne(UnitReportEntity, {
    where: { requestedBy: ctx.actor.person.id, state: 'awaiting', createdAt: MoreThan(ctx.now - AWAIT_FILE_MS) },
    order: { id: 'DESC' },
  });
  return { row, captionWords: null };
}

async function refuseFile(ctx: TurnContext, event: FileEvent, message: string): Promise<void> {
  if (event.file.storedFileId) await deleteStoredFile(ctx.em, event.file.storedFileId);
  await ctx.replyText(message);
}

const archiveFile: FileHandler = {
  async wants(ctx, event) {
    const pending = await pendingArchive(ctx, event);
    return pending.row !== null || pending.captionWords !== null;
  },
  async run(ctx, event) {
    const pending = await pendingArchive(ctx, event);
    if (!isOffice(ctx)) return refuseFile(ctx, event, '「报告 存档」仅限机关党委使用，文件未保存。');
    let chosen: { key: string; label: string };
    try {
      chosen = pending.row ? { key: pending.row.periodKey, label: pending.row.label } : await target(ctx, pending.captionWords ?? '');
    } catch (error) {
      if (error instanceof UserFacingError) return refuseFile(ctx, event, `${error.message}文件未保存。`);
      throw error;
    }
    const refused = event.file.refused;
    if (refused === 'too_large') return refuseFile(ctx, event, '文件超过 20 MB，未保存。请压缩图片或另存为 PDF 后重新发送。');
    if (refused === 'download_failed') return refuseFile(ctx, event, '文件没有下载成功，未保存。请重新发送。');
    if (refused === 'type' || !ACCEPTED.test(event.file.name) || !event.file.storedFileId) {
      return refuseFile(ctx, event, `「${event.file.name.slice(0, 60)}」不是 .docx 或 .pdf 文件，未保存。存档报告请发送 Word（.docx）或 PDF 文件。`);
    }
    const info = await storedFileInfo(ctx.em, ctx.services.cipher, event.file.storedFileId);
    if (!info) return refuseFile(ctx, event, '文件没有保存成功，请重新发送。');
    const year = zonedDate(ctx.services.timeZone, ctx.now).year;
    const number = `BG-${year}-${String(await nextCounterValue(ctx.em, `unit_report:${year}`)).padStart(4, '0')}`;
    const record = { number, state: 'record' as const, fileId: info.id, sha256: info.sha256, archivedAt: ctx.now, periodKey: chosen.key, label: chosen.label };
    if (pending.row) await ctx.em.update(UnitReportEntity, { id: pending.row.id }, record);
    else await ctx.em.insert(UnitReportEntity, { ...record, requestedBy: ctx.actor.person.id, createdAt: ctx.now });
    await ctx.ledger({ kind: 'report.archived', subjectType: 'report', subjectId: number, data: { period: chosen.key, sha256: info.sha256, size: info.size, mimeType: info.mimeType } });
    const leaders = (await Promise.all(LEADERS.map((r) => peopleWithRole(ctx.em, r)))).flat().map((p) => p.id);
    const card = await ctx.services.cards.create(
      ctx.em,
      'report-record',
      { number, label: chosen.label, fileName: info.name, sha256: info.sha256 },
      { type: 'unit_report', id: number },
      ctx.now,
    );
    await ctx.notify(leaders.filter((id) => id !== ctx.actor.person.id), { kind: 'card', card });
    await ctx.replyText(`已存档 ${number}（${chosen.label}，${info.name}，${info.size} 字节）。SHA-256：${info.sha256}\n已通知书记和分管领导。`);
  },
};

export function createReportModule(settings: ReportSettings): BotModule {
  return {
    commands: [reportCommand(settings), reviewMeetingCommand()],
    files: [archiveFile],
    cardActions: [
      {
        template: 'report-record',
        action: 'download',
        async run(ctx, cardId) {
          if (!isOfficeOrLeader(ctx)) throw new UserFacingError('报告存档仅限机关党委和领导接收。');
          const loaded = await ctx.services.cards.load(ctx.em, cardId);
          const report = loaded?.subject ? await ctx.em.findOneBy(UnitReportEntity, { number: loaded.subject.id, state: 'record' }) : null;
          if (!report) throw new UserFacingError('这份报告已不在存档中。');
          await sendRecord(ctx, report, 'card');
        },
      },
    ],
    timers: reviewMeetingTimers(),
    onStart: (ctx) => scheduleReviewReminders(ctx.em, ctx.services, settings.reviewMeetingMonths, ctx.now),
  };
}

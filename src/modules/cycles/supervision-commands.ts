import ExcelJS from 'exceljs';
import { UserFacingError, type Command, type TurnContext } from '../../bot/turn-context';
import { nextCounterValue } from '../../core/counters';
import { CycleEntity, LiaisonRecordEntity } from '../../db/entities/cycle.entity';
import type { FactRange, SupervisionFact } from '../../domain/facts';
import { words } from '../../domain/text';
import { parseDate, startOfZonedDay, zonedDate } from '../../lib/zoned-time';
import { resolvePerson } from '../org/org-service';
import { supervisionRows } from './cycle-queries';
import { normalizeCycleNumber, parseQuarterKey, quarterBounds } from './cycle-schedule';

/*
 * 督查 (督促检查, Art. 18) and the liaisons' training and recognition (Art. 15). The ledger gets codes
 * and counts; topics and reasons are encrypted in liaison_records.
 */

interface Selection {
  range: FactRange;
  cycleNumber?: string;
}

async function selection(ctx: TurnContext, word: string | undefined): Promise<Selection> {
  const tz = ctx.services.timeZone;
  const year = word ? /^(\d{4})年?$/.exec(word) : null;
  if (!word || year) {
    const y = year ? Number(year[1]) : zonedDate(tz, ctx.now).year;
    return { range: { start: startOfZonedDay(tz, y, 1, 1), end: startOfZonedDay(tz, y + 1, 1, 1), label: `${y}年` } };
  }
  const quarter = parseQuarterKey(word);
  if (quarter) return { range: { ...quarterBounds(tz, quarter), label: `${quarter.year}年第${quarter.quarter}季度` } };
  const number = normalizeCycleNumber(word);
  if (number) {
    const cycle = await ctx.em.findOneBy(CycleEntity, { number });
    if (!cycle) throw new UserFacingError(`找不到周期 ${number}。`);
    return { range: { start: cycle.periodStart, end: Math.max(cycle.dueAt, cycle.periodEnd), label: number }, cycleNumber: number };
  }
  throw new UserFacingError('用法：督查 [2026 | 2026Q4 | 周期编号]；督查 导出 [同上]');
}

const pct = (rate: number | null) => (rate === null ? '—' : `${Math.round(rate * 100)}%`);
const ack = (m: number | null) => (m === null ? '—' : `${m}`);

function needsAttention(f: SupervisionFact): boolean {
  return f.reportsMissing > 0 || f.reportsLate > 0 || f.liaisonName === null;
}

export function supervisionMarkdown(label: string, facts: SupervisionFact[]): string {
  const total = (pick: (f: SupervisionFact) => number) => facts.reduce((a, f) => a + pick(f), 0);
  const header = [
    `**督促检查 ${label}**（${facts.length} 个部门）`,
    `按时 ${total((f) => f.reportsOnTime)}，逾期 ${total((f) => f.reportsLate)}（共 ${total((f) => f.lateDays)} 天），未报 ${total((f) => f.reportsMissing)}，零报告 ${total((f) => f.nilReports)}；信息 ${total((f) => f.insights)} 条，即时报告 ${total((f) => f.immediateReports)} 条；培训 ${total((f) => f.trainings)} 人次，表扬 ${total((f) => f.commendations)} 次。`,
  ];
  const shown = facts.length <= 30 ? facts : facts.filter(needsAttention).slice(0, 30);
  const rows = shown.map(
    (f) =>
      `| ${f.departmentName} | ${f.liaisonName ?? '未指定'} | ${f.reportsOnTime} | ${f.reportsLate ? `${f.reportsLate}（${f.lateDays}天）` : 0} | ${f.reportsMissing} | ${f.nilReports} | ${f.insights} | ${f.immediateReports} | ${ack(f.medianAckMinutes)} | ${pct(f.surveyResponseRate)} | ${f.trainings} | ${f.commendations} |`,
  );
  const table = ['| 部门 | 联络员 | 按时 | 逾期 | 未报 | 零报告 | 信息 | 即时 | 确认用时中位(分) | 问卷应答率 | 培训 | 表扬 |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|', ...rows];
  const note = facts.length > 30 ? [`（部门较多，只列出需要关注的 ${shown.length} 个；全部见「督查 导出」。）`] : [];
  return [...header, '', ...table, ...note].join('\n');
}

export async function supervisionWorkbook(label: string, facts: SupervisionFact[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('督促检查');
  sheet.columns = [
    { header: '部门', key: 'departmentName', width: 20 },
    { header: '联络员', key: 'liaisonName', width: 12 },
    { header: '按时报送', key: 'reportsOnTime', width: 10 },
    { header: '逾期报送', key: 'reportsLate', width: 10 },
    { header: '逾期天数', key: 'lateDays', width: 10 },
    { header: '未报', key: 'reportsMissing', width: 8 },
    { header: '零报告', key: 'nilReports', width: 8 },
    { header: '上报信息', key: 'insights', width: 10 },
    { header: '即时报告', key: 'immediateReports', width: 10 },
    { header: '确认用时中位数(分钟)', key: 'medianAckMinutes', width: 20 },
    { header: '问卷应答率', key: 'surveyResponseRate', width: 12 },
    { header: '培训(人次)', key: 'trainings', width: 10 },
    { header: '表扬(次)', key: 'commendations', width: 10 },
  ];
  for (const f of facts) sheet.addRow({ ...f, liaisonName: f.liaisonName ?? '未指定', surveyResponseRate: f.surveyResponseRate === null ? '' : Math.round(f.surveyResponseRate * 1000) / 10 + '%' });
  sheet.getRow(1).font = { bold: true };
  workbook.title = `督促检查 ${label}`;
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

export const supervisionCommand: Command = {
  name: '督查',
  aliases: ['/supervise'],
  roles: ['office', 'deputy', 'secretary'],
  summary: '督促检查（第十八条）：各部门按时/逾期/未报、零报告、信息、即时报告、问卷应答率、培训表扬',
  example: '督查 2026Q4',
  async run(ctx, args) {
    const [first, second] = words(args);
    const exporting = first === '导出';
    const selected = await selection(ctx, exporting ? second : first);
    const facts = await supervisionRows(ctx.em, ctx.services, selected.range, { cycleNumber: selected.cycleNumber, now: ctx.now });
    await ctx.ledger({ kind: 'cycle.supervision.read', subjectType: 'supervision', subjectId: selected.cycleNumber ?? selected.range.label, data: { export: exporting, departments: facts.length } });
    if (!exporting) return ctx.reply({ kind: 'markdown', title: `督促检查 ${selected.range.label}`, markdown: supervisionMarkdown(selected.range.label, facts) });
    const data = await supervisionWorkbook(selected.range.label, facts);
    await ctx.reply({ kind: 'file', fileName: `督促检查-${selected.cycleNumber ?? selected.range.label}.xlsx`, mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', dataBase64: data.toString('base64') });
  },
};

async function resolvePeople(ctx: TurnContext, names: string[]): Promise<{ id: string; name: string }[]> {
  const people: { id: string; name: string }[] = [];
  for (const word of names) {
    const found = await resolvePerson(ctx.em, word);
    if ('missing' in found) throw new UserFacingError(`找不到人员「${word}」。`);
    if ('ambiguous' in found) throw new UserFacingError(`「${word}」对应多人：${found.ambiguous.map((p) => `${p.name}（${p.id}）`).join('、')}，请用编号。`);
    people.push({ id: found.found.id, name: found.found.name });
  }
  return people;
}

/** `培训 记录 日期 主题 [人员…]`. */
export const trainingCommand: Command = {
  name: '培训',
  aliases: ['/training'],
  roles: ['office'],
  summary: '记录联络员业务培训（第十五条）',
  example: '培训 记录 2026-11-20 信息收集与分析 张三 周六',
  async run(ctx, args) {
    const usage = '格式：培训 记录 日期 主题 [人员…]，例如：培训 记录 2026-11-20 信息收集与分析 张三 周六';
    const [sub, dateWord, topic, ...names] = words(args);
    if (sub !== '记录' || !dateWord || !topic) throw new UserFacingError(usage);
    const date = parseDate(dateWord);
    if (!date) throw new UserFacingError(`日期「${dateWord}」看不懂。${usage}`);
    const day = `${date.year}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
    const people = await resolvePeople(ctx, names);
    const session = await nextCounterValue(ctx.em, 'liaison-training');
    const textEnc = ctx.services.cipher.encrypt(topic);
    const rows = (people.length ? people : [null]).map((p) => ({ kind: 'training' as const, session, personId: p?.id ?? null, day, textEnc, recordedBy: ctx.actor.person.id, createdAt: ctx.now }));
    await ctx.em.insert(LiaisonRecordEntity, rows);
    await ctx.ledger({ kind: 'liaison.training', subjectType: 'training', subjectId: String(session), data: { day, attendees: people.map((p) => p.id) } });
    await ctx.replyText(`已记录 ${day} 培训（第 ${session} 次），参加 ${people.length} 人${people.length ? `：${people.map((p) => p.name).join('、')}` : ''}。`);
  },
};

/** `表扬 人员 理由`: recorded and the person told. */
export const commendCommand: Command = {
  name: '表扬',
  aliases: ['/commend'],
  roles: ['office', 'secretary'],
  summary: '表扬联络员（第十五条），并通知本人',
  example: '表扬 张三 本季度报告及时、分析深入',
  async run(ctx, args) {
    const [who, ...reasonWords] = words(args);
    const reason = args.slice(who?.length ?? 0).trim();
    if (!who || reasonWords.length === 0) throw new UserFacingError('格式：表扬 人员 理由，例如：表扬 张三 本季度报告及时、分析深入');
    const [person] = await resolvePeople(ctx, [who]);
    const session = await nextCounterValue(ctx.em, 'liaison-commendation');
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: ctx.services.timeZone }).format(ctx.now);
    await ctx.em.insert(LiaisonRecordEntity, { kind: 'commendation', session, personId: person.id, day, textEnc: ctx.services.cipher.encrypt(reason), recordedBy: ctx.actor.person.id, createdAt: ctx.now });
    await ctx.ledger({ kind: 'liaison.commendation', subjectType: 'commendation', subjectId: String(session), data: { personId: person.id } });
    await ctx.notify([person.id], { kind: 'text', text: `${person.name}同志：您的思想动态分析工作受到表扬——${reason}。感谢您的认真负责！` });
    await ctx.replyText(`已记录对 ${person.name} 的表扬，并已通知本人。`);
  },
};

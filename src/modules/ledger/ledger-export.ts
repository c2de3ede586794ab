import ExcelJS from 'exceljs';
import type { DataSource } from 'typeorm';
import { LedgerEntryEntity } from '../../db/entities/ledger.entity';
import { DepartmentEntity, PersonEntity } from '../../db/entities/org.entity';
import { ValidationError } from '../../core/errors';
import type { Transact } from '../../db/data-source';
import { formatZoned, parseDate, startOfZonedDay } from '../../lib/zoned-time';
import { appendLedger } from '../../core/ledger';
import { describeLedgerData, ledgerKindLabel, SUBJECT_TYPE_LABELS, type LedgerNames } from './ledger-labels';

export interface LedgerExportRequest {
  /** Inclusive calendar dates in the unit's time zone. */
  from: string;
  to: string;
  file: string;
}

/** Reads `--from DATE --to DATE FILE.xlsx` (the flags in any order). */
export function parseExportArgs(args: string[]): LedgerExportRequest {
  const usage = '用法：xinsheng ledger export --from YYYY-MM-DD --to YYYY-MM-DD FILE.xlsx';
  const values: Record<string, string> = {};
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--from' || args[i] === '--to') values[args[i].slice(2)] = args[++i] ?? '';
    else files.push(args[i]);
  }
  if (!values.from || !values.to || files.length !== 1) throw new ValidationError(usage);
  if (!files[0].toLowerCase().endsWith('.xlsx')) throw new ValidationError(`${files[0]}：文件名应以 .xlsx 结尾（${usage}）`);
  for (const key of ['from', 'to']) {
    if (!parseDate(values[key])) throw new ValidationError(`--${key} ${values[key]}：应为日期，如 2026-10-01`);
  }
  return { from: values.from, to: values.to, file: files[0] };
}

/** Epoch-ms bounds [start, end) of the inclusive date range, in the unit's time zone. */
export function exportBounds(request: LedgerExportRequest, timeZone: string): { start: number; end: number } {
  const from = parseDate(request.from)!;
  const to = parseDate(request.to)!;
  const start = startOfZonedDay(timeZone, from.year, from.month, from.day);
  const end = startOfZonedDay(timeZone, to.year, to.month, to.day + 1);
  if (end <= start) throw new ValidationError(`--to ${request.to} 早于 --from ${request.from}`);
  return { start, end };
}

const COLUMNS = [
  { header: '序号', key: 'id', width: 8 },
  { header: '时间', key: 'time', width: 20 },
  { header: '事项', key: 'label', width: 24 },
  { header: '事项代码', key: 'kind', width: 22 },
  { header: '操作人', key: 'actor', width: 18 },
  { header: '对象类型', key: 'subjectType', width: 14 },
  { header: '对象', key: 'subjectId', width: 16 },
  { header: '详情', key: 'data', width: 48 },
  { header: '前一条哈希', key: 'prevHash', width: 66 },
  { header: '本条哈希', key: 'hash', width: 66 },
];

/**
 * `xinsheng ledger export`: one row per ledger entry in the range, Chinese headers, streamed to the
 * file in batches so a large ledger does not sit in memory. The export itself becomes an entry.
 */
export async function exportLedger(
  dataSource: DataSource,
  request: LedgerExportRequest,
  options: { timeZone: string; now: number; transact: Transact; batchSize?: number },
): Promise<{ entries: number }> {
  const { start, end } = exportBounds(request, options.timeZone);
  const names = await ledgerNames(dataSource, options.timeZone);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: request.file, useStyles: true });
  const sheet = workbook.addWorksheet('工作台账');
  sheet.columns = COLUMNS;
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(1).commit();
  let entries = 0;
  let afterId = 0;
  for (;;) {
    const batch = await dataSource
      .getRepository(LedgerEntryEntity)
      .createQueryBuilder('e')
      .where('e.created_at >= :start AND e.created_at < :end AND e.id > :afterId', { start, end, afterId })
      .orderBy('e.id', 'ASC')
      .take(options.batchSize ?? 2000)
      .getMany();
    if (batch.length === 0) break;
    for (const entry of batch) {
      sheet
        .addRow({
          id: entry.id,
          time: formatZoned(options.timeZone, entry.createdAt),
          label: ledgerKindLabel(entry.kind),
          kind: entry.kind,
          actor: entry.actorId ? `${names.people.get(entry.actorId) ?? ''}（${entry.actorId}）` : '—',
          subjectType: entry.subjectType ? (SUBJECT_TYPE_LABELS[entry.subjectType] ?? entry.subjectType) : '',
          subjectId: entry.subjectId ?? '',
          data: describeLedgerData(entry.kind, entry.data, names),
          prevHash: entry.prevHash,
          hash: entry.hash,
        })
        .commit();
    }
    entries += batch.length;
    afterId = batch[batch.length - 1].id;
  }
  sheet.commit();
  await workbook.commit();
  await options.transact((em) =>
    appendLedger(em, { kind: 'ledger.exported', actorId: null, subjectType: 'ledger', subjectId: null, data: { from: request.from, to: request.to, entries } }, options.now),
  );
  return { entries };
}

async function ledgerNames(dataSource: DataSource, timeZone: string): Promise<LedgerNames> {
  const people = await dataSource.getRepository(PersonEntity).find({ select: { id: true, name: true } });
  const departments = await dataSource.getRepository(DepartmentEntity).find({ select: { id: true, name: true } });
  return { people: new Map(people.map((p) => [p.id, p.name])), departments: new Map(departments.map((d) => [d.id, d.name])), timeZone };
}

import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { appendLedger, verifyLedger } from '../../src/core/ledger';
import { exportLedger, parseExportArgs } from '../../src/modules/ledger/ledger-export';
import { ValidationError } from '../../src/core/errors';

describe.each(testDatabases())('the ledger (工作台账) on %s', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;

  const ledger = () => t.app.dataSource.getRepository(LedgerEntryEntity);
  const sql = (text: string, params: unknown[] = []) => t.app.dataSource.query(text, params);

  beforeEach(async () => {
    t = await startTestApp({ database });
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  /** A realistic history: an insight, its classification and action, a read, a suggestion, a role change. */
  async function buildHistory(): Promise<number> {
    const number = /S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', '上报 #座谈 大家对新考勤制度议论较多')).title)![0];
    await chat.say('liu', `定性 ${number} 普遍性`);
    await chat.say('liu', `处置 ${number} 召开座谈会解读制度`);
    await chat.say('wang', `查看 ${number}`);
    await chat.say('lisi', '意见 建议考勤制度设置过渡期');
    await chat.say('liu', '角色 李四 分管领导');
    return ledger().count();
  }

  it('records every insight, classification, action, read, suggestion and role change, in an intact chain', async () => {
    const count = await buildHistory();
    const kinds = (await ledger().find({ order: { id: 'ASC' } })).map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['org.imported', 'insight.created', 'insight.classified', 'insight.action', 'insight.read', 'suggestion.received', 'role.granted']),
    );
    expect(await verifyLedger(t.app.dataSource)).toEqual({ ok: true, entries: count });
  });

  it('names an entry whose content was changed afterwards', async () => {
    await buildHistory();
    const read = await ledger().findOneByOrFail({ kind: 'insight.read' });
    await sql('UPDATE ledger_entries SET actor_id = ? WHERE id = ?', ['liu', read.id]);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: read.id, problem: expect.stringContaining('changed') });
  });

  it('names a deleted entry, in the middle and at the end', async () => {
    const count = await buildHistory();
    await sql('DELETE FROM ledger_entries WHERE id = ?', [count]);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: count, problem: expect.stringContaining('deleted') });
    await sql('DELETE FROM ledger_entries WHERE id = ?', [3]);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: 3, problem: expect.stringContaining('missing') });
  });

  it('names reordered entries', async () => {
    await buildHistory();
    // Swap entries 3 and 4 (ids kept, contents exchanged), as someone re-sequencing the ledger would.
    await sql('UPDATE ledger_entries SET id = ? WHERE id = ?', [-1, 3]);
    await sql('UPDATE ledger_entries SET id = ? WHERE id = ?', [3, 4]);
    await sql('UPDATE ledger_entries SET id = ? WHERE id = ?', [4, -1]);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: 3 });
  });

  it('exports the entries of a date range (in the unit’s time zone) to .xlsx with Chinese headers, and records the export', async () => {
    // 2026-10-01 00:30 and 2026-10-02 23:59 in Shanghai are in range; 2026-10-03 00:00 is not.
    const times = [Date.UTC(2026, 8, 30, 16, 30), Date.UTC(2026, 9, 2, 15, 59), Date.UTC(2026, 9, 2, 16, 0)];
    await t.app.transact(async (em) => {
      await appendLedger(em, { kind: 'insight.created', actorId: 'zhangsan', subjectType: 'insight', subjectId: 'S-2026-0001', data: { category: 'work' } }, times[0]);
      await appendLedger(em, { kind: 'insight.classified', actorId: 'liu', subjectType: 'insight', subjectId: 'S-2026-0001', data: { issueKind: 'common' } }, times[1]);
      await appendLedger(em, { kind: 'insight.action', actorId: 'liu', subjectType: 'insight', subjectId: 'S-2026-0001' }, times[2]);
    });
    const file = path.join(t.dataDir, 'ledger.xlsx');
    const request = parseExportArgs(['--from', '2026-10-01', '--to', '2026-10-02', file]);
    expect(await exportLedger(t.app.dataSource, request, { timeZone: 'Asia/Shanghai', now: Date.now(), transact: t.app.transact })).toEqual({ entries: 2 });

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const sheet = workbook.getWorksheet('工作台账')!;
    expect(sheet.getRow(1).values).toEqual([undefined, '序号', '时间', '事项', '事项代码', '操作人', '对象类型', '对象', '详情', '前一条哈希', '本条哈希']);
    expect(sheet.rowCount).toBe(3);
    expect(sheet.getRow(2).getCell(2).value).toBe('2026-10-01 00:30:00');
    expect(sheet.getRow(2).getCell(3).value).toBe('上报思想动态信息');
    expect(sheet.getRow(2).getCell(5).value).toBe('张三（zhangsan）');
    expect(sheet.getRow(3).getCell(3).value).toBe('定性');
    expect(await ledger().countBy({ kind: 'ledger.exported' })).toBe(1);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: true });
    fs.rmSync(file);
  });
});

describe('ledger export arguments', () => {
  it('refuses a missing or malformed date, a missing file and a file that is not .xlsx', () => {
    expect(() => parseExportArgs(['--from', '2026-10-01', 'x.xlsx'])).toThrow(ValidationError);
    expect(() => parseExportArgs(['--from', '2026-02-30', '--to', '2026-03-01', 'x.xlsx'])).toThrow('--from 2026-02-30');
    expect(() => parseExportArgs(['--from', '2026-10-01', '--to', '2026-10-31'])).toThrow(ValidationError);
    expect(() => parseExportArgs(['--from', '2026-10-01', '--to', '2026-10-31', 'x.csv'])).toThrow('.xlsx');
    expect(parseExportArgs(['out.xlsx', '--to', '2026-10-31', '--from', '2026-10-01'])).toEqual({ from: '2026-10-01', to: '2026-10-31', file: 'out.xlsx' });
  });
});

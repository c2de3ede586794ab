import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { formatZonedDate } from '../../src/lib/zoned-time';
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
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: read.id, problem: expect.stringContaining('写入后被改动过') });
  });

  it('names a deleted entry, in the middle and at the end', async () => {
    const count = await buildHistory();
    await sql('DELETE FROM ledger_entries WHERE id = ?', [count]);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: count, problem: expect.stringContaining('已被删除') });
    await sql('DELETE FROM ledger_entries WHERE id = ?', [3]);
    expect(await verifyLedger(t.app.dataSource)).toMatchObject({ ok: false, entryId: 3, problem: expect.stringContaining('缺失') });
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

describe.each(testDatabases())('the ledger export in words an office reads (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database });
    await importSampleOrg(t, { ...SAMPLE_ORG, people: SAMPLE_ORG.people.map((p) => (p.id === 'qianwu' ? { ...p, roles: ['liaison'] } : p)) });
  });
  afterEach(() => t.stop());

  it('names every 事项 in Chinese only and writes 详情 as readable Chinese, never raw JSON', async () => {
    const chat = consoleClient(t);
    await chat.say('qianwu', '上报 #谈心 #诉求 有同志反映报销流程太慢');
    const number = /S-\d{4}-\d{4}/.exec(await chat.sayText('qianwu', '即时 某科室多名同志酝酿集体反映绩效分配问题'))![0];
    await t.app.escalations.runDue();
    await chat.say('wang', `确认 ${number}`);
    const today = formatZonedDate('Asia/Shanghai', Date.now());
    const file = path.join(t.dataDir, 'words.xlsx');
    await exportLedger(t.app.dataSource, parseExportArgs(['--from', today, '--to', today, file]), { timeZone: 'Asia/Shanghai', now: Date.now(), transact: t.app.transact });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const sheet = workbook.getWorksheet('工作台账')!;
    const rows = sheet.getRows(2, sheet.rowCount - 1)!.map((row) => ({ label: String(row.getCell(3).value), kind: String(row.getCell(4).value), data: String(row.getCell(8).value ?? '') }));
    const kinds = rows.map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['insight.created', 'escalation.created', 'escalation.sent', 'escalation.acknowledged']));
    for (const row of rows) {
      expect(row.label).not.toMatch(/[A-Za-z]/);
      expect(row.data).not.toMatch(/[{}"]/);
    }
    const created = rows.find((r) => r.kind === 'insight.created')!;
    expect(created.data).toBe('收集方式：谈心谈话；类别：利益诉求；部门：财务处');
    expect(rows.find((r) => r.kind === 'escalation.sent')!.label).toBe('即时报告预警：已发出');
    expect(rows.find((r) => r.kind === 'escalation.acknowledged')!.data).toContain('人员：王书记（wang）');
    expect(rows.find((r) => r.kind === 'org.imported')!.data).toBe('部门：3 个；人员：6 人；新增人员：6 人；授予角色：5 项；撤销角色：0 项');
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

import path from 'node:path';
import ExcelJS from 'exceljs';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { runFromCommandLine } from '../../src/main';
import { formatZonedDate } from '../../src/lib/zoned-time';

/** The CLI reads process.env and prints; these tests give it the test app's environment and capture the output. */
describe.each(testDatabases())('xinsheng ledger verify | export (%s)', (database) => {
  let t: TestApp;
  let output: string[];
  const savedEnv = { ...process.env };

  async function cli(...argv: string[]): Promise<{ code: number | undefined; text: string }> {
    output = [];
    process.exitCode = undefined;
    await runFromCommandLine(argv);
    const code = process.exitCode as number | undefined;
    process.exitCode = undefined;
    return { code, text: output.join('\n') };
  }

  beforeEach(async () => {
    t = await startTestApp({ database });
    const chat = consoleClient(t);
    await importSampleOrg(t);
    const number = /S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', '上报 #走访 有同志反映加班较多')).title)![0];
    await chat.say('liu', `定性 ${number} 个别性`);
    await chat.say('liu', `查看 ${number}`);
    Object.assign(process.env, t.env);
    jest.spyOn(console, 'log').mockImplementation((...args) => void output.push(args.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...args) => void output.push(args.join(' ')));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await t.stop();
  });

  it('verify says the ledger is intact, then exits 2 naming the entry that was changed', async () => {
    expect(await cli('ledger', 'verify')).toEqual({ code: 0, text: 'Ledger intact: 4 entries.' });
    await t.app.dataSource.query('UPDATE ledger_entries SET data = ? WHERE id = ?', ['{"issueKind":"common"}', 3]);
    const broken = await cli('ledger', 'verify');
    expect(broken.code).toBe(2);
    expect(broken.text).toContain('LEDGER BROKEN at entry 3');
  });

  it('export writes today’s entries to the .xlsx file and says how many; a bad date changes nothing', async () => {
    const today = formatZonedDate('Asia/Shanghai', Date.now());
    const file = path.join(t.dataDir, 'taizhang.xlsx');
    expect(await cli('ledger', 'export', '--from', today, '--to', today, file)).toEqual({ code: 0, text: `Wrote 4 ledger entries (${today} to ${today}) to ${file}.` });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const kinds = workbook.getWorksheet('工作台账')!.getColumn(4).values.slice(2);
    expect(kinds).toEqual(['org.imported', 'insight.created', 'insight.classified', 'insight.read']);

    const refused = await cli('ledger', 'export', '--from', '2026-13-01', '--to', today, file);
    expect(refused.code).toBe(1);
    expect(refused.text).toContain('--from 2026-13-01');
    expect(await cli('ledger', 'verify')).toEqual({ code: 0, text: 'Ledger intact: 5 entries.' });
  });
});

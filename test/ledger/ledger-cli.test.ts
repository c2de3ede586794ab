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

  it('says an unknown command is unknown before the usage, all in Chinese, and exits 64', async () => {
    const unknown = await cli('ledgr', 'verify');
    expect(unknown.code).toBe(64);
    expect(unknown.text).toMatch(/^未知命令「ledgr」。\n用法：xinsheng <命令>/);
    const incomplete = await cli('ledger');
    expect(incomplete.code).toBe(64);
    expect(incomplete.text).toMatch(/^「ledger」不是完整的命令。\n用法：/);
    expect(await cli('migrate')).toEqual({ code: 0, text: '没有待执行的数据库迁移。' });
    expect(await cli('org', 'sync')).toEqual({ code: 1, text: '没有配置可读取通讯录的平台（请设置 WECOM_* 或 DINGTALK_* 变量，见 README）。' });
    expect((await cli('org', 'import')).text).toBe('xinsheng：org import 需要一个文件：xinsheng org import FILE（.json 或 .csv）');
  });

  it('reports a bad variable in Chinese, naming it (exit 78)', async () => {
    process.env.PORT = 'abc';
    expect(await cli('migrate')).toEqual({ code: 78, text: '配置有误：\n  - PORT：应为 0–65535 之间的整数（HTTP 端口），实际为 abc' });
  });

  it('names DATABASE_URL when the database cannot be reached at start-up, never its password', async () => {
    process.env.DATABASE_URL = 'mysql://xs:secret-pw@db.invalid:3306/xinsheng';
    const refused = await cli('migrate');
    expect(refused.code).toBe(78);
    expect(refused.text).toContain('DATABASE_URL：无法连接数据库 MySQL xs@db.invalid:3306/xinsheng：');
    expect(refused.text).not.toContain('secret-pw');
    expect(refused.text).not.toContain('getaddrinfo');
  });

  it('verify says the ledger is intact, then exits 2 naming the entry that was changed', async () => {
    expect(await cli('ledger', 'verify')).toEqual({ code: 0, text: '工作台账完整：共 4 条记录。' });
    await t.app.dataSource.query('UPDATE ledger_entries SET data = ? WHERE id = ?', ['{"issueKind":"common"}', 3]);
    const broken = await cli('ledger', 'verify');
    expect(broken.code).toBe(2);
    expect(broken.text).toContain('工作台账已被破坏，自第 3 条起：第 3 条记录写入后被改动过');
  });

  it('export writes today’s entries to the .xlsx file and says how many; a bad date changes nothing', async () => {
    const today = formatZonedDate('Asia/Shanghai', Date.now());
    const file = path.join(t.dataDir, 'taizhang.xlsx');
    expect(await cli('ledger', 'export', '--from', today, '--to', today, file)).toEqual({ code: 0, text: `已导出 4 条工作台账记录（${today} 至 ${today}）到 ${file}。` });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const kinds = workbook.getWorksheet('工作台账')!.getColumn(4).values.slice(2);
    expect(kinds).toEqual(['org.imported', 'insight.created', 'insight.classified', 'insight.read']);

    const refused = await cli('ledger', 'export', '--from', '2026-13-01', '--to', today, file);
    expect(refused.code).toBe(1);
    expect(refused.text).toContain('--from 2026-13-01：应为日期，如 2026-10-01');
    expect(await cli('ledger', 'verify')).toEqual({ code: 0, text: '工作台账完整：共 5 条记录。' });
  });
});

import fs from 'node:fs';
import { loadConfig, type Config } from './config/load-config';
import { createApp, type XinshengApp } from './app';
import { ConfigError, ValidationError } from './core/errors';
import { verifyLedger } from './core/ledger';
import { exportLedger, parseExportArgs } from './modules/ledger/ledger-export';
import { changeRoleFromCli, importOrgFile } from './cli/org-commands';
import { consoleUrl, runChat } from './cli/chat';
import { createJobContext } from './bot/job-context';
import { openQuarterByHand } from './modules/cycles/cycle-commands';
import { reportFromCli } from './cli/report-command';
import { checkSurveyTemplateFile, choicePages } from './modules/surveys/survey-template';

import { keyStatusFromCli, rotateKeysFromCli } from './cli/key-commands';
import { describeRetention, runRetention } from './core/retention';
import { backupDatabase, BackupError, mysqlHint, restoreDatabase } from './core/backup';

const USAGE = `用法：xinsheng <命令>
  serve                      运行机器人（HTTP 端口 PORT、各平台、消息投递）；启动前先执行待执行的数据库迁移
  migrate                    执行待执行的数据库迁移
  org import FILE            从 JSON 或 CSV 文件导入部门和人员（格式见 README）
  org sync                   从已连接的企业微信/钉钉通讯录读取部门和人员
  role USER ROLE             授予角色 office | deputy | secretary（机关党委 | 分管领导 | 书记）；-ROLE 为撤销
  chat --as USER [--url URL] 通过本地控制台平台与运行中的服务对话（默认地址按 PORT 和 .env）
  cycle open 2026Q4 [--due YYYY-MM-DD]
                             手动开启一个季度的定期报告周期，各部门联络员收到任务
  key status                 每个数据密钥还保护着多少条存储的数据（DATA_KEY 中第一个密钥用于加密）
  key rotate [--batch N]     用 DATA_KEY 的第一个密钥重新加密所有存储的数据；可中断后继续，服务运行时也可执行
  backup FILE                服务运行时为 SQLite 数据库做一致的备份（MySQL 见 README）
  restore FILE               把备份恢复到空数据库，然后核验工作台账
  retention [--dry-run]      立即删除（或只列出）超过 RETENTION_YEARS 的个人层面文字
  ledger verify              核验工作台账的哈希链，指出第一条被改动、删除或调换顺序的记录
  ledger export --from DATE --to DATE FILE.xlsx
                             把这些日期的工作台账记录导出为 Excel 文件，每条记录一行
  report PERIOD --out FILE.docx
                             把本单位的思想动态分析报告草稿（2026Q4、2026-11、R-2026-0002）写成 Word 文件
  survey check FILE          安装前检查一个问卷模板（bot-cards/surveys/*.json）`;

/** The only place that reads process.env and argv, prints, and sets the exit code. */
export async function runFromCommandLine(argv = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await run(argv);
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`xinsheng：${(error as Error).message}`);
    process.exitCode = error instanceof ConfigError ? 78 : 1;
  }
}

/** `.env` in the working directory, as .env.example says; a variable already set in the environment wins. */
function loadDotEnv(): void {
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
}

async function run(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 64;
  }
  if (command === 'survey' && sub === 'check') return checkSurveyFile(rest[0]);
  loadDotEnv();
  if (command === 'chat') return chat(argv.slice(1));
  if (!KNOWN_COMMANDS.has(command)) {
    console.error(`未知命令「${command}」。\n${USAGE}`);
    return 64;
  }
  const config = loadConfig(process.env);
  if (command === 'serve') return serve(config);
  if (command === 'restore') return restore(config, sub);
  return withApp(config, async (app) => {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'migrate': {
        const ran = await app.migrate();
        console.log(ran.length ? `已执行数据库迁移：${ran.join('、')}` : '没有待执行的数据库迁移。');
        return 0;
      }
      case 'org import':
        if (!rest[0]) throw new ValidationError('org import 需要一个文件：xinsheng org import FILE（.json 或 .csv）');
        await app.migrate();
        console.log(await importOrgFile(app, rest[0]));
        return 0;
      case 'org sync': {
        await app.migrate();
        const results = await app.syncDirectories();
        console.log(results.length ? results.join('\n') : '没有配置可读取通讯录的平台（请设置 WECOM_* 或 DINGTALK_* 变量，见 README）。');
        return results.length ? 0 : 1;
      }
      case 'key status':
        console.log(await keyStatusFromCli(app));
        return 0;
      case 'key rotate':
        console.log(await rotateKeysFromCli(app, rest));
        return 0;
      case 'retention':
      case 'retention --dry-run':
        console.log(await retentionFromCli(app, sub === '--dry-run'));
        return 0;
      case 'ledger verify':
        return verifyLedgerFromCli(app);
      case 'ledger export': {
        const request = parseExportArgs(rest);
        const { entries } = await exportLedger(app.dataSource, request, { timeZone: app.config.timeZone, now: Date.now(), transact: app.transact });
        console.log(`已导出 ${entries} 条工作台账记录（${request.from} 至 ${request.to}）到 ${request.file}。`);
        return 0;
      }
      case 'cycle open': {
        if (!rest[0]) throw new Error('cycle open 需要季度，例如 xinsheng cycle open 2026Q4');
        await app.migrate();
        const due = rest.indexOf('--due') >= 0 ? rest[rest.indexOf('--due') + 1] : undefined;
        console.log(await app.transact((em) => openQuarterByHand(createJobContext(em, app.services, Date.now()), rest[0], due)));
        return 0;
      }
      default:
        if (command === 'report' && sub) {
          await app.migrate();
          console.log(await reportFromCli(app, sub, rest));
          return 0;
        }
        if (command === 'backup' && sub && !rest.length) {
          const done = await backupDatabase(app.dataSource, sub);
          console.log(`已备份到 ${done.file}（${done.bytes} 字节，工作台账 ${done.ledgerEntries} 条）。备份里只有密文，没有 DATA_KEY：请把密钥与备份分开保管。`);
          return 0;
        }
        if (command === 'role' && sub && rest[0]) {
          await app.migrate();
          console.log(await changeRoleFromCli(app, sub, rest[0]));
          return 0;
        }
        console.error(`「${argv.join(' ')}」不是完整的命令。\n${USAGE}`);
        return 64;
    }
  });
}

const KNOWN_COMMANDS = new Set(['serve', 'migrate', 'org', 'role', 'ledger', 'cycle', 'report', 'key', 'backup', 'restore', 'retention', 'survey']);

async function retentionFromCli(app: XinshengApp, dryRun: boolean): Promise<string> {
  const years = app.config.retentionYears;
  if (!years) throw new ConfigError('RETENTION_YEARS：未设置，保存期限未开启，不删除任何内容（例如 RETENTION_YEARS=5）');
  await app.migrate();
  const run = await app.transact((em) => runRetention(em, { years, now: Date.now(), dryRun }));
  return describeRetention(run, dryRun, app.config.timeZone);
}

async function verifyLedgerFromCli(app: XinshengApp): Promise<number> {
  const verdict = await verifyLedger(app.dataSource);
  console.log(verdict.ok ? `工作台账完整：共 ${verdict.entries} 条记录。` : `工作台账已被破坏，自第 ${verdict.entryId} 条起：${verdict.problem}`);
  return verdict.ok ? 0 : 2;
}

/** Restores into the configured (empty) database, brings it to this version's schema and checks the ledger. */
async function restore(config: Config, file: string | undefined): Promise<number> {
  if (!file) throw new BackupError('restore 需要备份文件，例如 xinsheng restore xinsheng-backup.db（由 xinsheng backup 生成）');
  if (config.database.type !== 'sqlite') throw new BackupError(mysqlHint());
  const summary = await restoreDatabase(file, config.database.path);
  console.log(`已从 ${file} 恢复到 ${config.database.path}（工作台账 ${summary.ledgerEntries} 条）。`);
  return withApp(config, async (app) => {
    await app.migrate();
    return verifyLedgerFromCli(app);
  });
}

function checkSurveyFile(file: string | undefined): number {
  if (!file) throw new Error('survey check 需要模板文件，例如 xinsheng survey check bot-cards/surveys/quarterly-pulse.json');
  const result = checkSurveyTemplateFile(file);
  if ('error' in result) {
    console.error(result.error);
    return 65;
  }
  const pages = choicePages(result.template).length;
  console.log(`${file}：可以使用 —「${result.template.title}」，${result.template.questions.length} 个问题，${pages} 页卡片。`);
  return 0;
}

async function withApp(config: Config, work: (app: XinshengApp) => Promise<number>): Promise<number> {
  const app = await createApp(config);
  try {
    return await work(app);
  } finally {
    await app.stop();
  }
}

async function serve(config: Config): Promise<number> {
  const app = await createApp(config);
  let port: number;
  try {
    ({ port } = await app.start());
  } catch (error) {
    // A refused start (a wrong data key, say) closes what it opened, so the process ends with its message.
    await app.stop().catch(() => undefined);
    throw error;
  }
  console.log(`心声已启动，监听 ${config.http.host}:${port}（HOST、PORT）。`);
  if (config.console) console.log(`本地控制台已开启，试试：npx xinsheng chat --as zhangsan${port === 3000 ? '' : ` --url http://127.0.0.1:${port}`}`);
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await app.stop();
  return 0;
}

async function chat(args: string[]): Promise<number> {
  const user = args.includes('--as') ? args[args.indexOf('--as') + 1] : undefined;
  if (!user) throw new ValidationError('chat 需要指定身份：xinsheng chat --as USER [--url URL]');
  const url = args.includes('--url') ? args[args.indexOf('--url') + 1] : consoleUrl(process.env);
  if (!url) throw new ValidationError('--url 后应写服务地址，如 --url http://127.0.0.1:3000');
  return runChat(url.replace(/\/+$/, ''), user, { input: process.stdin, output: process.stdout });
}

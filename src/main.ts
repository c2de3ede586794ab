import fs from 'node:fs';
import { loadConfig, type Config } from './config/load-config';
import { createApp, type XinshengApp } from './app';
import { ConfigError } from './core/errors';
import { verifyLedger } from './core/ledger';
import { exportLedger, parseExportArgs } from './modules/ledger/ledger-export';
import { changeRoleFromCli, importOrgFile } from './cli/org-commands';
import { runChat } from './cli/chat';
import { keyStatusFromCli, rotateKeysFromCli } from './cli/key-commands';
import { describeRetention, runRetention } from './core/retention';
import { backupDatabase, BackupError, mysqlHint, restoreDatabase } from './core/backup';

const USAGE = `Usage: xinsheng <command>
  serve                      run the bot (HTTP on PORT, platforms, dispatcher); runs pending migrations first
  migrate                    run pending database migrations
  org import FILE            load departments and people from JSON or CSV (see README)
  org sync                   read departments and people from the connected WeCom/DingTalk directory
  role USER ROLE             grant office | deputy | secretary (机关党委 | 分管领导 | 书记); -ROLE revokes
  chat --as USER [--url URL] chat with a running server through the console platform
  key status                 how many stored values each data key still protects (DATA_KEY's first encrypts)
  key rotate [--batch N]     re-encrypt every stored value under DATA_KEY's first key; resumable, safe while serving
  backup FILE                a consistent copy of the SQLite database while the server runs (MySQL: see README)
  restore FILE               restore a backup into an empty database, then check the ledger
  retention [--dry-run]      erase (or list) individual-level free text older than RETENTION_YEARS now
  ledger verify              check the ledger's hash chain; names the first changed, deleted or reordered entry
  ledger export --from DATE --to DATE FILE.xlsx
                             write the ledger entries of those days (工作台账) to an Excel file, one row per entry`;

/** The only place that reads process.env and argv, prints, and sets the exit code. */
export async function runFromCommandLine(argv = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await run(argv);
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`xinsheng: ${(error as Error).message}`);
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
  if (command === 'chat') return chat(argv.slice(1));
  loadDotEnv();
  const config = loadConfig(process.env);
  if (command === 'serve') return serve(config);
  if (command === 'restore') return restore(config, sub);
  return withApp(config, async (app) => {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'migrate': {
        const ran = await app.migrate();
        console.log(ran.length ? `Applied: ${ran.join(', ')}` : 'No pending migrations.');
        return 0;
      }
      case 'org import':
        if (!rest[0]) throw new Error('org import needs a FILE (.json or .csv)');
        await app.migrate();
        console.log(await importOrgFile(app, rest[0]));
        return 0;
      case 'org sync': {
        await app.migrate();
        const results = await app.syncDirectories();
        console.log(results.length ? results.join('\n') : 'No platform with a directory is configured (set WECOM_* or DINGTALK_*).');
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
        console.log(`Wrote ${entries} ledger entries (${request.from} to ${request.to}) to ${request.file}.`);
        return 0;
      }
      default:
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
        console.error(USAGE);
        return 64;
    }
  });
}

async function retentionFromCli(app: XinshengApp, dryRun: boolean): Promise<string> {
  const years = app.config.retentionYears;
  if (!years) throw new ConfigError('RETENTION_YEARS：未设置，保存期限未开启，不删除任何内容（例如 RETENTION_YEARS=5）');
  await app.migrate();
  const run = await app.transact((em) => runRetention(em, { years, now: Date.now(), dryRun }));
  return describeRetention(run, dryRun, app.config.timeZone);
}

async function verifyLedgerFromCli(app: XinshengApp): Promise<number> {
  const verdict = await verifyLedger(app.dataSource);
  console.log(verdict.ok ? `Ledger intact: ${verdict.entries} entries.` : `LEDGER BROKEN at entry ${verdict.entryId}: ${verdict.problem}`);
  return verdict.ok ? 0 : 2;
}

/** Restores into the configured (empty) database, brings it to this version's schema and checks the ledger. */
async function restore(config: Config, file: string | undefined): Promise<number> {
  if (!file) throw new BackupError('restore needs a FILE (made by xinsheng backup)');
  if (config.database.type !== 'sqlite') throw new BackupError(mysqlHint());
  const summary = await restoreDatabase(file, config.database.path);
  console.log(`已从 ${file} 恢复到 ${config.database.path}（工作台账 ${summary.ledgerEntries} 条）。`);
  return withApp(config, async (app) => {
    await app.migrate();
    return verifyLedgerFromCli(app);
  });
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
  if (config.console) console.log(`心声 is running on http://127.0.0.1:${port} — try: npx xinsheng chat --as zhangsan`);
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await app.stop();
  return 0;
}

async function chat(args: string[]): Promise<number> {
  const user = args[args.indexOf('--as') + 1];
  if (!args.includes('--as') || !user) throw new Error('chat needs --as USER');
  const url = args.includes('--url') ? args[args.indexOf('--url') + 1] : `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  await runChat(url.replace(/\/+$/, ''), user, { input: process.stdin, output: process.stdout });
  return 0;
}

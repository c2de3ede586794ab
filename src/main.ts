import fs from 'node:fs';
import { loadConfig, type Config } from './config/load-config';
import { createApp, type XinshengApp } from './app';
import { ConfigError } from './core/errors';
import { verifyLedger } from './core/ledger';
import { exportLedger, parseExportArgs } from './modules/ledger/ledger-export';
import { changeRoleFromCli, importOrgFile } from './cli/org-commands';
import { runChat } from './cli/chat';
import { checkSurveyTemplateFile, choicePages } from './modules/surveys/survey-template';

const USAGE = `Usage: xinsheng <command>
  serve                      run the bot (HTTP on PORT, platforms, dispatcher); runs pending migrations first
  migrate                    run pending database migrations
  org import FILE            load departments and people from JSON or CSV (see README)
  org sync                   read departments and people from the connected WeCom/DingTalk directory
  role USER ROLE             grant office | deputy | secretary (机关党委 | 分管领导 | 书记); -ROLE revokes
  chat --as USER [--url URL] chat with a running server through the console platform
  ledger verify              check the ledger's hash chain; names the first changed, deleted or reordered entry
  ledger export --from DATE --to DATE FILE.xlsx
                             write the ledger entries of those days (工作台账) to an Excel file, one row per entry
  survey check FILE          validate a questionnaire template (bot-cards/surveys/*.json) before installing it`;

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
  if (command === 'survey' && sub === 'check') return checkSurveyFile(rest[0]);
  loadDotEnv();
  const config = loadConfig(process.env);
  if (command === 'serve') return serve(config);
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
      case 'ledger verify': {
        const verdict = await verifyLedger(app.dataSource);
        console.log(verdict.ok ? `Ledger intact: ${verdict.entries} entries.` : `LEDGER BROKEN at entry ${verdict.entryId}: ${verdict.problem}`);
        return verdict.ok ? 0 : 2;
      }
      case 'ledger export': {
        const request = parseExportArgs(rest);
        const { entries } = await exportLedger(app.dataSource, request, { timeZone: app.config.timeZone, now: Date.now(), transact: app.transact });
        console.log(`Wrote ${entries} ledger entries (${request.from} to ${request.to}) to ${request.file}.`);
        return 0;
      }
      default:
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

function checkSurveyFile(file: string | undefined): number {
  if (!file) throw new Error('survey check needs a FILE (a questionnaire template .json)');
  const result = checkSurveyTemplateFile(file);
  if ('error' in result) {
    console.error(result.error);
    return 65;
  }
  const pages = choicePages(result.template).length;
  console.log(`${file}: OK — 「${result.template.title}」, ${result.template.questions.length} questions, ${pages} card pages.`);
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
  const { port } = await app.start();
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

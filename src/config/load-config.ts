import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { parseDataKeys } from '../lib/data-key';
import type { DataKey } from '../lib/data-cipher';
import { EnvSchema, parseSurveyReminders, type Env } from './schema';
import { parseQuietHours, type QuietHours } from '../core/reminder-policy';
import { parseEscalationSteps, type EscalationStep } from '../modules/escalation/escalation-steps';
import { parseDayTime, type QuarterlyCycleSchedule } from '../modules/cycles/cycle-schedule';

/** What each variable must be, in the words of README's configuration table. */
const EXPECTED: Record<string, string> = {
  NODE_ENV: ' development、production 或 test',
  PORT: ' 0–65535 之间的整数（HTTP 端口）',
  HOST: 'HTTP 监听地址，如 0.0.0.0 或 127.0.0.1',
  DATABASE_URL: '以 sqlite: 或 mysql:// 开头的数据库地址（sqlite:PATH 或 mysql://user:pass@host:3306/db）',
  DATA_DIR: '一个目录',
  DATA_KEY: ' 32 字节数据的 base64（生成：openssl rand -base64 32）',
  TZ: ' IANA 时区名，如 Asia/Shanghai',
  LOG_LEVEL: ' fatal、error、warn、info、debug、trace 或 silent',
  ESCALATION_ACK_TIMEOUT: '时长，如 30s、15m、2h',
  OUTBOX_MAX_ATTEMPTS: ' 1–100 之间的整数（投递次数）',
  OUTBOX_LEASE: '时长，如 30s、60s、2m',
  MIN_GROUP_SIZE: '不小于 1 的整数（人数）',
  MIN_COMMENT_GROUP_SIZE: '不小于 1 的整数（人数）',
  QUIET_HOURS: '时段，如 22:00-08:00（或 off）',
  THEME_SPREAD: '不小于 2 的整数（部门数）',
  MIN_THEME_COUNT: '不小于 2 的整数（条数）',
  QUARTERLY_CYCLE_OPENS: '季度最后一个月中的日（1–28）和时间，如 15 09:00',
  QUARTERLY_CYCLE_DUE: '季度最后一个月中的日（1–28）和时间，如 25 17:00',
  UNIT_NAME: '不超过 40 个字的单位名称',
  REVIEW_MEETING_MONTHS: '用逗号分隔的月份（1–12），如 6,12',
  WECOM_MODE: ' callback（自建应用）或 robot（智能机器人）',
  WECOM_BOT_WS_URL: ' ws:// 或 wss:// 开头的 WebSocket 地址，如 wss://openws.work.weixin.qq.com',
  CONSOLE: ' on 或 off',
  WECOM_ENCODING_AES_KEY: '企业微信管理后台生成的 43 位 EncodingAESKey',
  WECOM_API_BASE: '网址，如 https://qyapi.weixin.qq.com',
  DINGTALK_MODE: ' stream 或 http',
  DINGTALK_API_BASE: '网址，如 https://api.dingtalk.com',
  DINGTALK_OAPI_BASE: '网址，如 https://oapi.dingtalk.com',
};

/** Values that must not be printed: keys, secrets, and a database URL (it may hold a password). */
const SECRET_VARIABLES = new Set(['DATA_KEY', 'DATABASE_URL', 'WECOM_SECRET', 'WECOM_TOKEN', 'WECOM_ENCODING_AES_KEY', 'WECOM_BOT_SECRET', 'DINGTALK_CLIENT_SECRET']);

export type DatabaseConfig = { type: 'sqlite'; path: string } | { type: 'mysql'; url: string };

export interface WecomConfig {
  corpId: string;
  agentId: string;
  secret: string;
  token: string;
  encodingAesKey: string;
  apiBase: string;
}

/** WECOM_MODE=robot: the intelligent robot (智能机器人) over its long connection. */
export interface WecomRobotConfig {
  botId: string;
  secret: string;
  wsUrl: string;
  /** The address-book secret (WECOM_CORP_ID + WECOM_SECRET), for directory sync; absent: `org import` only. */
  directory?: { corpId: string; secret: string; apiBase: string };
}

export interface DingtalkConfig {
  clientId: string;
  clientSecret: string;
  robotCode: string;
  mode: 'stream' | 'http';
  apiBase: string;
  oapiBase: string;
  cardTemplateId?: string;
}

export interface Config {
  production: boolean;
  http: { port: number; host: string; trustProxy: boolean };
  database: DatabaseConfig;
  dataDir: string;
  /** DATA_KEY's or DATA_KEY_FILE's keys, the first encrypts; absent outside production until start-up generates or reads data/data.key. */
  dataKeys?: DataKey[];
  timeZone: string;
  logLevel: Env['LOG_LEVEL'];
  escalation: { ackTimeoutMs: number; steps: EscalationStep[] };
  /** Dead letter after maxAttempts; a claimed row is reserved for leaseMs (another instance takes it over after). */
  outbox: { maxAttempts: number; leaseMs: number };
  minGroupSize: number;
  minCommentGroupSize: number;
  /** Quiet hours for reminders, and the override file of holidays (HOLIDAYS_FILE). */
  reminders: { quietHours: QuietHours; holidaysFile?: string };
  /** 研判 (analysis): THEME_SPREAD departments make a theme 倾向性; MIN_THEME_COUNT insights make it shown. */
  analysis: { themeSpread: number; minThemeCount: number };
  /** When quarterly cycles open and are due (QUARTERLY_CYCLE_OPENS, QUARTERLY_CYCLE_DUE). */
  quarterlyCycle: QuarterlyCycleSchedule;
  /** The unit report (UNIT_NAME) and the review meetings' months (REVIEW_MEETING_MONTHS). */
  report: { unitName: string; reviewMeetingMonths: number[] };
  /** RETENTION_YEARS: erase individual-level free text older than this (undefined: keep everything). */
  retentionYears?: number;
  /** SURVEY_REMINDERS: how long before a questionnaire's deadline its reminders go out. */
  surveyReminders: number[];
  console: boolean;
  instanceId: string;
  wecom?: WecomConfig;
  wecomRobot?: WecomRobotConfig;
  dingtalk?: DingtalkConfig;
}

/**
 * Reads the configuration from an environment object (never from process.env directly) and fails
 * closed: every problem is reported at once, each naming its variable.
 */
export function loadConfig(rawEnv: Record<string, string | undefined>): Config {
  const env = parseEnv(rawEnv);
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';

  const wecom = env.WECOM_MODE === 'callback' ? pickWecom(env, problems) : undefined;
  const wecomRobot = env.WECOM_MODE === 'robot' ? pickWecomRobot(env, problems) : undefined;
  const dingtalk = pickDingtalk(env, problems);
  const anyPlatform = Boolean(wecom || wecomRobot || dingtalk);
  const consoleOn = env.CONSOLE ?? !anyPlatform;
  if (production && env.CONSOLE) problems.push('CONSOLE：NODE_ENV=production 时不能开启本地控制台平台，请删除 CONSOLE 或设为 off');
  if (production && !anyPlatform) {
    problems.push('WECOM_CORP_ID / WECOM_BOT_ID / DINGTALK_CLIENT_ID：NODE_ENV=production 时须配置企业微信（自建应用或智能机器人）或钉钉（见 README 的配置表）');
  }
  const dataKeys = pickDataKeys(env, problems);
  if (production && !env.DATA_KEY && !env.DATA_KEY_FILE) problems.push('DATA_KEY：NODE_ENV=production 时必须设置 DATA_KEY 或 DATA_KEY_FILE（生成：openssl rand -base64 32）');
  const escalationSteps = parseEscalationSteps(env.ESCALATION_STEPS, env.ESCALATION_ACK_TIMEOUT);
  if ('problem' in escalationSteps) problems.push(`ESCALATION_STEPS：${escalationSteps.problem}`);
  const opens = parseDayTime(env.QUARTERLY_CYCLE_OPENS)!;
  const due = parseDayTime(env.QUARTERLY_CYCLE_DUE)!;
  if (opens.day * 1440 + opens.hour * 60 + opens.minute >= due.day * 1440 + due.hour * 60 + due.minute) {
    problems.push('QUARTERLY_CYCLE_DUE：应晚于 QUARTERLY_CYCLE_OPENS（同为季度最后一个月中的日期和时间）');
  }
  if (problems.length > 0) throw new ConfigError(formatProblems(problems));

  return {
    production,
    http: { port: env.PORT, host: env.HOST, trustProxy: env.TRUST_PROXY ?? false },
    database: parseDatabaseUrl(env.DATABASE_URL ?? `sqlite:${path.join(env.DATA_DIR, 'xinsheng.db')}`),
    dataDir: env.DATA_DIR,
    dataKeys,
    timeZone: env.TZ,
    logLevel: env.LOG_LEVEL,
    escalation: { ackTimeoutMs: env.ESCALATION_ACK_TIMEOUT, steps: 'steps' in escalationSteps ? escalationSteps.steps : [] },
    outbox: { maxAttempts: env.OUTBOX_MAX_ATTEMPTS, leaseMs: env.OUTBOX_LEASE },
    minGroupSize: env.MIN_GROUP_SIZE,
    minCommentGroupSize: env.MIN_COMMENT_GROUP_SIZE,
    reminders: { quietHours: parseQuietHours(env.QUIET_HOURS)!, holidaysFile: env.HOLIDAYS_FILE },
    analysis: { themeSpread: env.THEME_SPREAD, minThemeCount: env.MIN_THEME_COUNT },
    quarterlyCycle: { opens: parseDayTime(env.QUARTERLY_CYCLE_OPENS)!, due: parseDayTime(env.QUARTERLY_CYCLE_DUE)! },
    report: { unitName: env.UNIT_NAME, reviewMeetingMonths: [...new Set(env.REVIEW_MEETING_MONTHS.split(',').map(Number))].sort((a, b) => a - b) },
    retentionYears: env.RETENTION_YEARS,
    surveyReminders: parseSurveyReminders(env.SURVEY_REMINDERS)!,
    console: consoleOn && !production,
    instanceId: env.INSTANCE_ID ?? `${os.hostname()}:${process.pid}`,
    wecom,
    wecomRobot,
    dingtalk,
  };
}

function parseEnv(rawEnv: Record<string, string | undefined>): Env {
  // An empty variable (FOO=) means "not set", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (result.success) return result.data;
  const names = [...new Set(result.error.issues.map((i) => String(i.path[0])))];
  throw new ConfigError(
    formatProblems(
      names.map((name) => {
        // A check that explains itself in Chinese (which data key, why) is shown as it is; never the value.
        const own = result.error.issues.find((i) => String(i.path[0]) === name && /[\u4e00-\u9fff]/.test(i.message));
        return own ? `${name}：${own.message}` : describeBadValue(name, cleaned[name]);
      }),
    ),
  );
}

/** `PORT：应为 0–65535 之间的整数（HTTP 端口），实际为 abc` — a secret's value is never repeated. */
function describeBadValue(name: string, value: string | undefined): string {
  const expected = EXPECTED[name] ?? '合法的值（见 README 的配置表）';
  const shown = value === undefined ? '' : SECRET_VARIABLES.has(name) ? '，实际的值不符合（不在此显示）' : `，实际为 ${value}`;
  return `${name}：应为${expected}${shown}`;
}

function formatProblems(problems: string[]): string {
  return `配置有误：\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('mysql://')) return { type: 'mysql', url };
  return { type: 'sqlite', path: url.slice('sqlite:'.length) || ':memory:' };
}

/** DATA_KEY or DATA_KEY_FILE (not both: which one wins would be a guess). */
function pickDataKeys(env: Env, problems: string[]): DataKey[] | undefined {
  if (env.DATA_KEY && env.DATA_KEY_FILE) {
    problems.push('DATA_KEY：与 DATA_KEY_FILE 只能设置一个');
    return undefined;
  }
  let text = env.DATA_KEY;
  const name = env.DATA_KEY_FILE ? 'DATA_KEY_FILE' : 'DATA_KEY';
  if (env.DATA_KEY_FILE) {
    try {
      text = fs.readFileSync(env.DATA_KEY_FILE, 'utf8');
    } catch (error) {
      problems.push(`DATA_KEY_FILE：无法读取 ${env.DATA_KEY_FILE}（${(error as NodeJS.ErrnoException).code ?? (error as Error).message}）`);
      return undefined;
    }
  }
  if (text === undefined) return undefined;
  const parsed = parseDataKeys(text);
  if ('problem' in parsed) {
    problems.push(`${name}：${parsed.problem}`);
    return undefined;
  }
  return parsed.keys;
}

/** A platform is on when any of its credentials is set; then all of them must be. */
function requireAll(env: Env, names: (keyof Env)[], problems: string[]): boolean {
  const set = names.filter((n) => env[n] !== undefined);
  if (set.length === 0) return false;
  for (const name of names) {
    if (env[name] === undefined) problems.push(`${name}：未设置（已设置 ${set.join('、')}，同一平台的凭据须全部设置）`);
  }
  return set.length === names.length;
}

function pickWecom(env: Env, problems: string[]): WecomConfig | undefined {
  const names: (keyof Env)[] = ['WECOM_CORP_ID', 'WECOM_AGENT_ID', 'WECOM_SECRET', 'WECOM_TOKEN', 'WECOM_ENCODING_AES_KEY'];
  if (!requireAll(env, names, problems)) return undefined;
  return {
    corpId: env.WECOM_CORP_ID!,
    agentId: env.WECOM_AGENT_ID!,
    secret: env.WECOM_SECRET!,
    token: env.WECOM_TOKEN!,
    encodingAesKey: env.WECOM_ENCODING_AES_KEY!,
    apiBase: env.WECOM_API_BASE,
  };
}

/**
 * Robot mode needs the robot's id and secret (and none of the self-built app's variables). The
 * address-book secret is optional: with WECOM_CORP_ID and WECOM_SECRET the directory can be synced.
 */
function pickWecomRobot(env: Env, problems: string[]): WecomRobotConfig | undefined {
  const missing = (['WECOM_BOT_ID', 'WECOM_BOT_SECRET'] as const).filter((name) => !env[name]);
  for (const name of missing) problems.push(`${name}：未设置（WECOM_MODE=robot 时必须设置）`);
  if (!env.WECOM_BOT_ID || !env.WECOM_BOT_SECRET) return undefined;
  if (Boolean(env.WECOM_CORP_ID) !== Boolean(env.WECOM_SECRET)) {
    problems.push(`${env.WECOM_CORP_ID ? 'WECOM_SECRET' : 'WECOM_CORP_ID'}：未设置（智能机器人模式下同步通讯录需要同时设置 WECOM_CORP_ID 和通讯录的 WECOM_SECRET）`);
  }
  const directory =
    env.WECOM_CORP_ID && env.WECOM_SECRET ? { corpId: env.WECOM_CORP_ID, secret: env.WECOM_SECRET, apiBase: env.WECOM_API_BASE } : undefined;
  return { botId: env.WECOM_BOT_ID, secret: env.WECOM_BOT_SECRET, wsUrl: env.WECOM_BOT_WS_URL.replace(/\/+$/, ''), directory };
}

function pickDingtalk(env: Env, problems: string[]): DingtalkConfig | undefined {
  if (!requireAll(env, ['DINGTALK_CLIENT_ID', 'DINGTALK_CLIENT_SECRET'], problems)) return undefined;
  return {
    clientId: env.DINGTALK_CLIENT_ID!,
    clientSecret: env.DINGTALK_CLIENT_SECRET!,
    // For an internal app robot the robot code is the app's client id unless the console says otherwise.
    robotCode: env.DINGTALK_ROBOT_CODE ?? env.DINGTALK_CLIENT_ID!,
    mode: env.DINGTALK_MODE,
    apiBase: env.DINGTALK_API_BASE,
    oapiBase: env.DINGTALK_OAPI_BASE,
    cardTemplateId: env.DINGTALK_CARD_TEMPLATE_ID,
  };
}

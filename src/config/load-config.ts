import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { EnvSchema, parseSurveyReminders, type Env } from './schema';
import { parseQuietHours, type QuietHours } from '../core/reminder-policy';
import { parseEscalationSteps, type EscalationStep } from '../modules/escalation/escalation-steps';

export type DatabaseConfig = { type: 'sqlite'; path: string } | { type: 'mysql'; url: string };

export interface WecomConfig {
  corpId: string;
  agentId: string;
  secret: string;
  token: string;
  encodingAesKey: string;
  apiBase: string;
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
  http: { port: number; host: string };
  database: DatabaseConfig;
  dataDir: string;
  /** Absent outside production until start-up generates or reads data/data.key. */
  dataKey?: Buffer;
  timeZone: string;
  logLevel: Env['LOG_LEVEL'];
  escalation: { ackTimeoutMs: number; steps: EscalationStep[] };
  /** Dead letter after maxAttempts; a claimed row is reserved for leaseMs (another instance takes it over after). */
  outbox: { maxAttempts: number; leaseMs: number };
  minGroupSize: number;
  minCommentGroupSize: number;
  /** Quiet hours for reminders, and the override file of holidays (HOLIDAYS_FILE). */
  reminders: { quietHours: QuietHours; holidaysFile?: string };
  /** SURVEY_REMINDERS: how long before a questionnaire's deadline its reminders go out. */
  surveyReminders: number[];
  console: boolean;
  instanceId: string;
  wecom?: WecomConfig;
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

  const wecom = pickWecom(env, problems);
  const dingtalk = pickDingtalk(env, problems);
  const consoleOn = env.CONSOLE ?? (!wecom && !dingtalk);
  if (production && env.CONSOLE) problems.push('CONSOLE: the console platform is refused when NODE_ENV=production');
  if (production && !wecom && !dingtalk) {
    problems.push('WECOM_CORP_ID / DINGTALK_CLIENT_ID: NODE_ENV=production needs WeCom or DingTalk configured');
  }
  if (production && !env.DATA_KEY) problems.push('DATA_KEY: required when NODE_ENV=production (openssl rand -base64 32)');
  const escalationSteps = parseEscalationSteps(env.ESCALATION_STEPS, env.ESCALATION_ACK_TIMEOUT);
  if ('problem' in escalationSteps) problems.push(`ESCALATION_STEPS: ${escalationSteps.problem}`);
  if (problems.length > 0) throw new ConfigError(formatProblems(problems));

  return {
    production,
    http: { port: env.PORT, host: env.HOST },
    database: parseDatabaseUrl(env.DATABASE_URL ?? `sqlite:${path.join(env.DATA_DIR, 'xinsheng.db')}`),
    dataDir: env.DATA_DIR,
    dataKey: env.DATA_KEY ? Buffer.from(env.DATA_KEY, 'base64') : undefined,
    timeZone: env.TZ,
    logLevel: env.LOG_LEVEL,
    escalation: { ackTimeoutMs: env.ESCALATION_ACK_TIMEOUT, steps: 'steps' in escalationSteps ? escalationSteps.steps : [] },
    outbox: { maxAttempts: env.OUTBOX_MAX_ATTEMPTS, leaseMs: env.OUTBOX_LEASE },
    minGroupSize: env.MIN_GROUP_SIZE,
    minCommentGroupSize: env.MIN_COMMENT_GROUP_SIZE,
    reminders: { quietHours: parseQuietHours(env.QUIET_HOURS)!, holidaysFile: env.HOLIDAYS_FILE },
    surveyReminders: parseSurveyReminders(env.SURVEY_REMINDERS)!,
    console: consoleOn && !production,
    instanceId: env.INSTANCE_ID ?? `${os.hostname()}:${process.pid}`,
    wecom,
    dingtalk,
  };
}

function parseEnv(rawEnv: Record<string, string | undefined>): Env {
  // An empty variable (FOO=) means "not set", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(formatProblems(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)));
}

function formatProblems(problems: string[]): string {
  return `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('mysql://')) return { type: 'mysql', url };
  return { type: 'sqlite', path: url.slice('sqlite:'.length) || ':memory:' };
}

/** A platform is on when any of its credentials is set; then all of them must be. */
function requireAll(env: Env, names: (keyof Env)[], problems: string[]): boolean {
  const set = names.filter((n) => env[n] !== undefined);
  if (set.length === 0) return false;
  for (const name of names) {
    if (env[name] === undefined) problems.push(`${name}: missing (needed because ${set.join(', ')} is set)`);
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

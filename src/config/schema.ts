import { z } from 'zod';
import { parseDuration } from '../lib/duration';
import { parseQuietHours } from '../core/reminder-policy';
import { parseDayTime } from '../modules/cycles/cycle-schedule';
import { parseDataKeys } from '../lib/data-key';

/** `24h,2h` → [86400000, 7200000]; `off` → []; null when malformed. */
export function parseSurveyReminders(text: string): number[] | null {
  if (/^(off|none)$/i.test(text.trim())) return [];
  const values = text.split(/[,，]/).map((part) => parseDuration(part));
  return values.every((v): v is number => v !== null && v > 0) ? values : null;
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 15m or 2h, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .optional()
  .transform((v) => (v === undefined ? undefined : ['on', 'true', '1'].includes(v)));

const url = z.string().url().transform((u) => u.replace(/\/+$/, ''));

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Every environment variable the bot reads. README's configuration table mirrors this list. */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** Unset: `sqlite:<DATA_DIR>/xinsheng.db` (see loadConfig). */
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^(sqlite:|mysql:\/\/)/.test(v), 'must start with sqlite: or mysql://'),
  DATA_DIR: z.string().default('data'),
  /** One or more data keys (see src/lib/data-key.ts parseDataKeys): the first encrypts, all decrypt. */
  DATA_KEY: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const parsed = v === undefined ? null : parseDataKeys(v);
      if (parsed && 'problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
    }),
  /** A file holding the data keys (systemd credentials, a secret store's mount): instead of DATA_KEY. */
  DATA_KEY_FILE: z.string().optional(),
  TZ: z.string().default('Asia/Shanghai').refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ESCALATION_ACK_TIMEOUT: duration('15m'),
  /** Escalation chain, e.g. `secretary,office | secretary,deputy | office-notice` (see src/modules/escalation/escalation-steps.ts). */
  ESCALATION_STEPS: z.string().optional(),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  OUTBOX_LEASE: duration('60s'),
  MIN_GROUP_SIZE: z.coerce.number().int().min(1).default(5),
  MIN_COMMENT_GROUP_SIZE: z.coerce.number().int().min(1).default(10),
  /** Reminders never go out in this window (moved to its end, the next allowed morning); `off` for none. */
  QUIET_HOURS: z.string().default('22:00-08:00').refine((v) => parseQuietHours(v) !== null, 'expected a window such as 22:00-08:00 (or off)'),
  /** JSON of holidays and make-up workdays for years the holiday package does not cover yet. */
  HOLIDAYS_FILE: z.string().optional(),
  /** 研判: a theme raised in at least this many departments is 倾向性 (and a spread warning). */
  THEME_SPREAD: z.coerce.number().int().min(2).default(3),
  /** 研判: a theme is shown only with at least this many insights behind it. */
  MIN_THEME_COUNT: z.coerce.number().int().min(2).default(3),
  /** Quarterly cycle (定期报告): day of the quarter's last month and local time it opens / is due. */
  QUARTERLY_CYCLE_OPENS: z.string().default('15 09:00').refine((v) => parseDayTime(v) !== null, 'expected a day (1-28) of the quarter\'s last month and a time, such as 15 09:00'),
  QUARTERLY_CYCLE_DUE: z.string().default('25 17:00').refine((v) => parseDayTime(v) !== null, 'expected a day (1-28) of the quarter\'s last month and a time, such as 25 17:00'),
  /** The unit's name on the analysis report (思想动态分析报告) and its signature. */
  UNIT_NAME: z.string().max(40).default('本单位'),
  /** Months of the half-yearly review meetings (分析研判会议, Art. 12), e.g. 6,12. */
  REVIEW_MEETING_MONTHS: z
    .string()
    .default('6,12')
    .refine((v) => v.split(',').every((m) => /^\s*(?:[1-9]|1[0-2])\s*$/.test(m)), 'expected months 1-12 separated by commas, such as 6,12'),
  /** Individual-level free text older than this many years is erased nightly; unset keeps everything. */
  RETENTION_YEARS: z.coerce
    .number({ message: '必须是 1 或更大的整数（年）；不设置则不删除任何内容' })
    .int('必须是 1 或更大的整数（年）；不设置则不删除任何内容')
    .min(1, '必须是 1 或更大的整数（年）；不设置则不删除任何内容')
    .optional(),
  /** on behind nginx (or another reverse proxy) that sets X-Forwarded-For: logs name the real client address. */
  TRUST_PROXY: onOff,
  /** Questionnaire reminders, before the deadline, comma-separated (`24h,2h`; `off` for none). */
  SURVEY_REMINDERS: z
    .string()
    .default('24h,2h')
    .refine((v) => parseSurveyReminders(v) !== null, 'expected durations before the deadline such as 24h,2h (or off)'),
  CONSOLE: onOff,
  INSTANCE_ID: z.string().optional(),

  WECOM_CORP_ID: z.string().optional(),
  WECOM_AGENT_ID: z.string().optional(),
  WECOM_SECRET: z.string().optional(),
  WECOM_TOKEN: z.string().optional(),
  WECOM_ENCODING_AES_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^[A-Za-z0-9+/]{43}$/.test(v), 'must be the 43-character EncodingAESKey from the WeCom admin console'),
  WECOM_API_BASE: url.default('https://qyapi.weixin.qq.com'),
  /** `callback`: the self-built app (自建应用) with a public callback URL; `robot`: the intelligent robot's long connection. */
  WECOM_MODE: z.enum(['callback', 'robot']).default('callback'),
  WECOM_BOT_ID: z.string().optional(),
  WECOM_BOT_SECRET: z.string().optional(),
  WECOM_BOT_WS_URL: z
    .string()
    .default('wss://openws.work.weixin.qq.com')
    .refine((v) => /^wss?:\/\/[^\s/]+/.test(v), 'must be a ws:// or wss:// address'),

  DINGTALK_CLIENT_ID: z.string().optional(),
  DINGTALK_CLIENT_SECRET: z.string().optional(),
  DINGTALK_ROBOT_CODE: z.string().optional(),
  DINGTALK_MODE: z.enum(['stream', 'http']).default('stream'),
  DINGTALK_API_BASE: url.default('https://api.dingtalk.com'),
  DINGTALK_OAPI_BASE: url.default('https://oapi.dingtalk.com'),
  DINGTALK_CARD_TEMPLATE_ID: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

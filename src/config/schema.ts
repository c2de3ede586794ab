import { z } from 'zod';
import { parseDuration } from '../lib/duration';
import { parseQuietHours } from '../core/reminder-policy';

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
  DATA_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || Buffer.from(v, 'base64').length === 32, 'must be the base64 of exactly 32 bytes (openssl rand -base64 32)'),
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

  DINGTALK_CLIENT_ID: z.string().optional(),
  DINGTALK_CLIENT_SECRET: z.string().optional(),
  DINGTALK_ROBOT_CODE: z.string().optional(),
  DINGTALK_MODE: z.enum(['stream', 'http']).default('stream'),
  DINGTALK_API_BASE: url.default('https://api.dingtalk.com'),
  DINGTALK_OAPI_BASE: url.default('https://oapi.dingtalk.com'),
  DINGTALK_CARD_TEMPLATE_ID: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';

const KEY = Buffer.alloc(32, 7).toString('base64');

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from the environment', () => {
  it('starts on the embedded default with no variables: SQLite, port 3000, console on', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.database).toEqual({ type: 'sqlite', path: 'data/xinsheng.db' });
    expect(config.console).toBe(true);
    expect(config.timeZone).toBe('Asia/Shanghai');
    expect(config.escalation.ackTimeoutMs).toBe(15 * 60_000);
    expect(config.wecom).toBeUndefined();
  });

  it('keeps the default SQLite file in DATA_DIR', () => {
    expect(loadConfig({ DATA_DIR: '/var/lib/xinsheng' }).database).toEqual({ type: 'sqlite', path: '/var/lib/xinsheng/xinsheng.db' });
  });

  it('names each bad variable', () => {
    const message = problemsOf({ PORT: 'abc', DATA_KEY: 'short', ESCALATION_ACK_TIMEOUT: 'soon', DATABASE_URL: 'postgres://x', TZ: 'Beijing' });
    expect(message).toContain('TZ: must be an IANA time zone');
    expect(message).toContain('PORT');
    expect(message).toContain('DATA_KEY');
    expect(message).toContain('ESCALATION_ACK_TIMEOUT');
    expect(message).toContain('DATABASE_URL');
  });

  it('turns a platform on only when all of its credentials are set, naming the missing ones', () => {
    const message = problemsOf({ WECOM_CORP_ID: 'ww1', WECOM_SECRET: 's' });
    expect(message).toContain('WECOM_TOKEN: missing');
    expect(message).toContain('WECOM_ENCODING_AES_KEY: missing');
    const config = loadConfig({ DINGTALK_CLIENT_ID: 'ding1', DINGTALK_CLIENT_SECRET: 'secret' });
    expect(config.dingtalk?.robotCode).toBe('ding1');
    expect(config.dingtalk?.mode).toBe('stream');
    expect(config.console).toBe(false);
  });

  it('refuses production without DATA_KEY, without a platform, or with the console', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toMatch(/DATA_KEY[\s\S]*WECOM_CORP_ID|WECOM_CORP_ID[\s\S]*DATA_KEY/);
    const platform = { DINGTALK_CLIENT_ID: 'd', DINGTALK_CLIENT_SECRET: 's', DATA_KEY: KEY };
    expect(problemsOf({ NODE_ENV: 'production', CONSOLE: 'on', ...platform })).toContain('CONSOLE');
    expect(loadConfig({ NODE_ENV: 'production', ...platform }).console).toBe(false);
  });

  it('reads MySQL URLs and durations', () => {
    const config = loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/xs', ESCALATION_ACK_TIMEOUT: '30s', DATA_KEY: KEY });
    expect(config.database).toEqual({ type: 'mysql', url: 'mysql://u:p@db:3306/xs' });
    expect(config.escalation.ackTimeoutMs).toBe(30_000);
    expect(config.dataKey?.length).toBe(32);
  });
});

describe('SURVEY_REMINDERS', () => {
  it('reads a comma list of durations before the deadline, off for none, and names itself when bad', () => {
    expect(loadConfig({}).surveyReminders).toEqual([24 * 3_600_000, 2 * 3_600_000]);
    expect(loadConfig({ SURVEY_REMINDERS: '3d,30m' }).surveyReminders).toEqual([3 * 86_400_000, 30 * 60_000]);
    expect(loadConfig({ SURVEY_REMINDERS: 'off' }).surveyReminders).toEqual([]);
    expect(problemsOf({ SURVEY_REMINDERS: '24h,soon' })).toContain('SURVEY_REMINDERS');
  });
});

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

  it('reads the 研判 thresholds THEME_SPREAD and MIN_THEME_COUNT (defaults 3 and 3), naming a bad one', () => {
    expect(loadConfig({}).analysis).toEqual({ themeSpread: 3, minThemeCount: 3 });
    expect(loadConfig({ THEME_SPREAD: '4', MIN_THEME_COUNT: '5' }).analysis).toEqual({ themeSpread: 4, minThemeCount: 5 });
    const message = problemsOf({ THEME_SPREAD: '1', MIN_THEME_COUNT: 'many' });
    expect(message).toContain('THEME_SPREAD');
    expect(message).toContain('MIN_THEME_COUNT');
  });

  it('keeps the default SQLite file in DATA_DIR', () => {
    expect(loadConfig({ DATA_DIR: '/var/lib/xinsheng' }).database).toEqual({ type: 'sqlite', path: '/var/lib/xinsheng/xinsheng.db' });
  });

  it('names each bad variable in Chinese, with what it should be and what it is', () => {
    const message = problemsOf({ PORT: 'abc', DATA_KEY: 'short', ESCALATION_ACK_TIMEOUT: 'soon', DATABASE_URL: 'postgres://u:pw@x', TZ: 'Beijing', CONSOLE: 'maybe' });
    expect(message).toMatch(/^配置有误：/);
    expect(message).toContain('PORT：应为 0–65535 之间的整数（HTTP 端口），实际为 abc');
    expect(message).toContain('TZ：应为 IANA 时区名，如 Asia/Shanghai，实际为 Beijing');
    expect(message).toContain('ESCALATION_ACK_TIMEOUT：应为时长，如 30s、15m、2h，实际为 soon');
    expect(message).toContain('CONSOLE：应为 on 或 off，实际为 maybe');
    expect(message).toContain('DATA_KEY：第 1 个密钥不是 32 字节的 base64');
    expect(message).toContain('DATABASE_URL：应为以 sqlite: 或 mysql:// 开头');
    // Secrets (and a database URL, which may hold a password) are never repeated.
    expect(message).not.toContain('short');
    expect(message).not.toContain('pw@x');
    expect(message).not.toMatch(/[Ee]xpected|must/);
  });

  it('turns a platform on only when all of its credentials are set, naming the missing ones', () => {
    const message = problemsOf({ WECOM_CORP_ID: 'ww1', WECOM_SECRET: 's' });
    expect(message).toContain('WECOM_TOKEN：未设置（已设置 WECOM_CORP_ID、WECOM_SECRET');
    expect(message).toContain('WECOM_ENCODING_AES_KEY：未设置');
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
    expect(config.dataKeys?.[0].key.length).toBe(32);
  });
});

describe('WeCom robot mode (WECOM_MODE=robot)', () => {
  it('needs the robot id and secret, not the self-built app variables, and defaults to the public address', () => {
    const config = loadConfig({ WECOM_MODE: 'robot', WECOM_BOT_ID: 'bot1', WECOM_BOT_SECRET: 's' });
    expect(config.wecom).toBeUndefined();
    expect(config.wecomRobot).toEqual({ botId: 'bot1', secret: 's', wsUrl: 'wss://openws.work.weixin.qq.com', directory: undefined });
    expect(config.console).toBe(false);
  });

  it('names the missing robot variables', () => {
    const message = problemsOf({ WECOM_MODE: 'robot' });
    expect(message).toContain('WECOM_BOT_ID：未设置');
    expect(message).toContain('WECOM_BOT_SECRET：未设置');
    expect(problemsOf({ WECOM_MODE: 'robot', WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 's', WECOM_CORP_ID: 'ww1' })).toContain('WECOM_SECRET：未设置');
  });

  it('uses WECOM_CORP_ID + WECOM_SECRET (the address-book secret) for directory sync only, and a private address', () => {
    const config = loadConfig({
      WECOM_MODE: 'robot',
      WECOM_BOT_ID: 'bot1',
      WECOM_BOT_SECRET: 's',
      WECOM_BOT_WS_URL: 'wss://ws.corp.example/',
      WECOM_CORP_ID: 'ww1',
      WECOM_SECRET: 'contacts',
      WECOM_API_BASE: 'https://qyapi.corp.example',
    });
    expect(config.wecomRobot).toEqual({
      botId: 'bot1',
      secret: 's',
      wsUrl: 'wss://ws.corp.example',
      directory: { corpId: 'ww1', secret: 'contacts', apiBase: 'https://qyapi.corp.example' },
    });
    expect(config.wecom).toBeUndefined();
  });

  it('refuses a mode it does not know and an address that is not a WebSocket one', () => {
    expect(problemsOf({ WECOM_MODE: 'webhook' })).toContain('WECOM_MODE');
    expect(problemsOf({ WECOM_MODE: 'robot', WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 's', WECOM_BOT_WS_URL: 'https://x' })).toContain('WECOM_BOT_WS_URL：应为 ws:// 或 wss:// 开头的 WebSocket 地址');
  });

  it('counts as a platform in production', () => {
    const config = loadConfig({ NODE_ENV: 'production', DATA_KEY: KEY, WECOM_MODE: 'robot', WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 's' });
    expect(config.production).toBe(true);
    expect(config.wecomRobot?.botId).toBe('b');
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

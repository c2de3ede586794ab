import { randomBytes } from 'node:crypto';
import { PlatformApiError } from '../../core/errors';
import type { Logger } from '../../lib/logger';

/**
 * The WeCom server API (`${WECOM_API_BASE}/cgi-bin/...`) over global fetch: the access token is
 * cached, refreshed before it expires and fetched by one caller at a time; invalid-token answers
 * refresh it and retry the call once; transient failures are retried briefly with backoff; and
 * errors a deployer must fix are kept for /readyz.
 */
export interface WecomClientOptions {
  apiBase: string;
  corpId: string;
  secret: string;
  log: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  timeoutMs?: number;
  /** Backoff before each in-call retry of a transient failure. */
  retryDelaysMs?: number[];
}

export interface WecomResponse {
  errcode: number;
  errmsg?: string;
  [field: string]: unknown;
}

export interface WecomClient {
  get(path: string, query?: Record<string, string>): Promise<WecomResponse>;
  post(path: string, body: unknown, query?: Record<string, string>): Promise<WecomResponse>;
  /** media/upload?type=file; the file name is what recipients see. Returns the media_id. */
  uploadFile(fileName: string, mimeType: string, data: Buffer): Promise<string>;
  /** media/get: the bytes of a file a person sent (MediaId, valid 3 days), with the name WeCom gives it. */
  downloadMedia(mediaId: string): Promise<{ data: Buffer; name: string | null; mimeType: string | null }>;
  configurationProblems(): string[];
}

/** The token is refused or missing: fetch a new one and try again (spec §6.1). */
const TOKEN_ERRCODES = new Set([40014, 42001, 41001]);
/** Worth trying again: system busy, concurrency limit, frequency limit (spec §6.2). */
const TRANSIENT_ERRCODES = new Set([-1, 45033]);
const RATE_LIMITED = 45009;
/** A deployer must act: wrong secret/corp id, IP not trusted, no permission, app disabled. */
const CONFIGURATION_HINTS: Record<number, string> = {
  40001: 'secret 无效：检查 WECOM_SECRET 与 WECOM_CORP_ID 是否属于同一应用',
  40013: 'corpid 无效：检查 WECOM_CORP_ID',
  40056: 'agentid 无效：检查 WECOM_AGENT_ID',
  40091: 'secret 不合法：检查 WECOM_SECRET',
  41002: '缺少 corpid：检查 WECOM_CORP_ID',
  41004: '缺少 secret：检查 WECOM_SECRET',
  48002: '接口无权限：在管理后台为应用开通该接口的权限（如通讯录读取）',
  48006: '接口权限已被收回：在管理后台重新授权',
  50003: '应用已禁用：在管理后台启用应用',
  60020: '服务器 IP 不在应用的“企业可信IP”中：在管理后台添加本服务器的出口 IP',
};
/** After a refused secret, gettoken is not called again for a while: repeated failures ban the IP for an hour. */
const GETTOKEN_COOLDOWN_MS = 60_000;
/** Refresh this long before WeCom's stated expiry; WeCom may also revoke early (handled by TOKEN_ERRCODES). */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

interface CachedToken {
  value: string;
  expiresAt: number;
}

export function createWecomClient(options: WecomClientOptions): WecomClient {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retryDelaysMs = options.retryDelaysMs ?? [300, 1500];
  const log = options.log.child({ platform: 'wecom' });
  const problems = new Map<string, string>();
  let cached: CachedToken | null = null;
  let inflight: Promise<string> | null = null;
  let refusedToken: { error: PlatformApiError; until: number } | null = null;

  function url(path: string, query: Record<string, string>): string {
    return `${options.apiBase}/cgi-bin/${path}?${new URLSearchParams(query).toString()}`;
  }

  function noteOutcome(path: string, errcode: number): void {
    const hint = CONFIGURATION_HINTS[errcode];
    if (hint) problems.set(path, `企业微信 ${path}: errcode ${errcode} — ${hint}`);
    else if (errcode === 0) problems.delete(path);
  }

  function toError(path: string, response: WecomResponse): PlatformApiError {
    const errcode = response.errcode;
    const configuration = errcode in CONFIGURATION_HINTS;
    const retryable = errcode === RATE_LIMITED || TRANSIENT_ERRCODES.has(errcode) || TOKEN_ERRCODES.has(errcode);
    if (configuration) log.error({ path, errcode }, 'wecom configuration error');
    else log.warn({ path, errcode, retryable }, 'wecom api error');
    return new PlatformApiError('wecom', `WeCom ${path} failed with errcode ${errcode}`, { errcode, retryable, configuration });
  }

  /** One HTTP exchange. Network failures, timeouts, 5xx and non-JSON answers are transient. */
  async function exchange(path: string, target: string, init: RequestInit): Promise<WecomResponse> {
    let response: Response;
    try {
      response = await fetch(target, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      log.warn({ path, reason: (cause as Error).name }, 'wecom network error');
      throw new PlatformApiError('wecom', `WeCom ${path}: network error`, { retryable: true }, { cause });
    }
    const status = response.status;
    const parsed = await response.json().catch(() => null);
    if (status >= 500 || !parsed || typeof parsed !== 'object' || typeof (parsed as WecomResponse).errcode !== 'number') {
      // A 200 without errcode (some endpoints omit it on success) counts as success.
      if (status < 300 && parsed && typeof parsed === 'object') return { errcode: 0, ...(parsed as object) };
      log.warn({ path, status }, 'wecom unexpected http answer');
      throw new PlatformApiError('wecom', `WeCom ${path}: HTTP ${status}`, { status, retryable: status >= 500 || status === 429 });
    }
    return parsed as WecomResponse;
  }

  /** Retries transient failures a couple of times within the call; the outbox retries the rest later. */
  async function exchangeWithRetry(path: string, makeRequest: () => [string, RequestInit]): Promise<WecomResponse> {
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < retryDelaysMs.length;
      try {
        const response = await exchange(path, ...makeRequest());
        if (!TRANSIENT_ERRCODES.has(response.errcode) || !canRetry) return response;
      } catch (error) {
        if (!(error instanceof PlatformApiError) || !error.details.retryable || !canRetry) throw error;
      }
      await sleep(retryDelaysMs[attempt]);
    }
  }

  async function fetchToken(): Promise<string> {
    if (refusedToken && now() < refusedToken.until) throw refusedToken.error;
    const response = await exchangeWithRetry('gettoken', () => [
      url('gettoken', { corpid: options.corpId, corpsecret: options.secret }),
      { method: 'GET' },
    ]);
    noteOutcome('gettoken', response.errcode);
    if (response.errcode !== 0 || typeof response.access_token !== 'string') {
      const error = toError('gettoken', response.errcode === 0 ? { errcode: -1 } : response);
      if (error.details.configuration) refusedToken = { error, until: now() + GETTOKEN_COOLDOWN_MS };
      throw error;
    }
    refusedToken = null;
    const lifetimeMs = Number(response.expires_in ?? 7200) * 1000;
    cached = { value: response.access_token, expiresAt: now() + Math.max(lifetimeMs - TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2) };
    return cached.value;
  }

  /** Single flight: concurrent callers share one gettoken request. */
  function accessToken(): Promise<string> {
    if (cached && now() < cached.expiresAt) return Promise.resolve(cached.value);
    inflight ??= fetchToken().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  function forget(token: string): void {
    // Only drop the token this call used; another caller may already have fetched a new one.
    if (cached?.value === token) cached = null;
  }

  async function call(path: string, init: (token: string) => [string, RequestInit]): Promise<WecomResponse> {
    for (let tokenAttempt = 0; ; tokenAttempt++) {
      const token = await accessToken();
      const response = await exchangeWithRetry(path, () => init(token));
      if (TOKEN_ERRCODES.has(response.errcode) && tokenAttempt === 0) {
        log.info({ path, errcode: response.errcode }, 'wecom access token refused; refreshing');
        forget(token);
        continue;
      }
      noteOutcome(path, response.errcode);
      if (response.errcode !== 0) throw toError(path, response);
      return response;
    }
  }

  return {
    get(path, query = {}) {
      return call(path, (token) => [url(path, { ...query, access_token: token }), { method: 'GET' }]);
    },
    post(path, body, query = {}) {
      const json = JSON.stringify(body);
      return call(path, (token) => [
        url(path, { ...query, access_token: token }),
        { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: json },
      ]);
    },
    async uploadFile(fileName, mimeType, data) {
      const form = multipartFile(fileName, mimeType, data);
      const response = await call('media/upload', (token) => [
        url('media/upload', { access_token: token, type: 'file' }),
        { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body },
      ]);
      if (typeof response.media_id !== 'string') throw toError('media/upload', { errcode: -1 });
      return response.media_id;
    },
    async downloadMedia(mediaId) {
      for (let tokenAttempt = 0; ; tokenAttempt++) {
        const token = await accessToken();
        let response: Response;
        try {
          response = await fetch(url('media/get', { access_token: token, media_id: mediaId }), { method: 'GET', signal: AbortSignal.timeout(timeoutMs * 6) });
        } catch (cause) {
          log.warn({ path: 'media/get', reason: (cause as Error).name }, 'wecom network error');
          throw new PlatformApiError('wecom', 'WeCom media/get: network error', { retryable: true }, { cause });
        }
        const type = response.headers.get('content-type') ?? '';
        // Errors come back as JSON (40007: the media id is invalid or expired); a file as its bytes.
        if (/json|text\/plain/i.test(type) || response.status >= 400) {
          const answer = (await response.json().catch(() => ({ errcode: -1 }))) as WecomResponse;
          if (TOKEN_ERRCODES.has(answer.errcode) && tokenAttempt === 0) {
            forget(token);
            continue;
          }
          noteOutcome('media/get', answer.errcode);
          throw toError('media/get', answer.errcode ? answer : { errcode: -1 });
        }
        const data = Buffer.from(await response.arrayBuffer());
        return { data, name: fileNameOf(response.headers.get('content-disposition')), mimeType: type.split(';')[0].trim() || null };
      }
    },
    configurationProblems() {
      return [...problems.values()];
    },
  };
}

/** The file name of a Content-Disposition header (`filename*=UTF-8''…` or `filename="…"`), or null. */
export function fileNameOf(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      return null;
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  if (!plain) return null;
  // WeCom sends the UTF-8 bytes of a Chinese name as they are; fetch reads header bytes as Latin-1.
  const raw = plain[1].trim();
  const bytes = Buffer.from(raw, 'latin1');
  const utf8 = bytes.toString('utf8');
  return /[^\u0000-\u00ff]/.test(raw) || utf8.includes('\ufffd') ? raw : utf8;
}

/**
 * The multipart body media/upload expects (spec §8): one part named `media` whose filename is shown
 * to recipients, with the `filelength` parameter WeCom's own example carries. Built by hand so the
 * UTF-8 file name goes through as is.
 */
export function multipartFile(fileName: string, mimeType: string, data: Buffer): { contentType: string; body: Buffer } {
  const boundary = `----xinsheng${randomBytes(12).toString('hex')}`;
  // WeCom refuses `\` and `:` and a leading `/` in file names; quotes and newlines would break the header.
  const safeName = fileName.replace(/["\r\n\\:]/g, '_').replace(/^\/+/, '') || 'file';
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="media"; filename="${safeName}"; filelength=${data.length}\r\n` +
    `Content-Type: ${mimeType || 'application/octet-stream'}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), data, Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8')]);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body };
}

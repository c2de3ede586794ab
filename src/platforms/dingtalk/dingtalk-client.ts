import { PlatformApiError } from '../../core/errors';
import type { Logger } from '../../lib/logger';
import type { Pacer } from '../../core/outbox';

/*
 * DingTalk server APIs (spec §4, §5, §6): the new API under DINGTALK_API_BASE (token in the
 * x-acs-dingtalk-access-token header) and the legacy one under DINGTALK_OAPI_BASE (?access_token=).
 * fetch is injected (nock intercepts the global one in tests); so are the clock and sleep, which
 * pace calls under DingTalk's 20 calls/s per app per API and space out retries.
 */

export interface DingtalkClientOptions {
  clientId: string;
  clientSecret: string;
  apiBase: string;
  oapiBase: string;
  log: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Per API path; DingTalk's limit is 20 per app per API. */
  callsPerSecond?: number;
  /**
   * A pacer per API path, shared by every instance on MySQL (PlatformLimits); without it each
   * client paces its own calls at callsPerSecond.
   */
  pacerFor?: (path: string, callsPerSecond: number) => Pacer;
  /** Attempts for a throttled (QpsLimit), 5xx or network failure before giving up to the outbox. */
  attempts?: number;
  retryBaseMs?: number;
  timeoutMs?: number;
}

export interface BatchSendResult {
  processQueryKey?: string;
  invalidStaffIdList: string[];
  flowControlledStaffIdList: string[];
}

export interface OapiDepartment {
  dept_id: number;
  name: string;
  parent_id?: number;
}

export interface OapiUser {
  userid: string;
  name: string;
  dept_id_list?: number[];
  active?: boolean;
}

/** The token is refreshed this long before DingTalk says it expires. */
const TOKEN_MARGIN_MS = 300_000;
const LEGACY_AUTH_ERRCODES = new Set([88, 40014, 42001]);
const LEGACY_THROTTLE_ERRCODES = new Set([90018, 90002, -1, 15]);
const PLATFORM = 'dingtalk';
const TOKEN_PATH = '/v1.0/oauth2/accessToken';

type Attempt<T> = { ok: true; value: T } | { ok: false; error: PlatformApiError; authFailure: boolean };

export class DingtalkClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly minIntervalMs: number;
  private readonly attempts: number;
  private readonly retryBaseMs: number;
  private readonly timeoutMs: number;
  private token: { value: string; expiresAt: number } | undefined;
  private tokenRequest: Promise<string> | undefined;
  private readonly nextSlot = new Map<string, number>();
  private readonly sharedPacers = new Map<string, Pacer>();
  private readonly callsPerSecond: number;
  /** Errors a deployer must fix (bad secret, missing permission …) by API path, until that path works again. */
  private readonly problems = new Map<string, string>();

  constructor(private readonly options: DingtalkClientOptions) {
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.callsPerSecond = options.callsPerSecond ?? 19;
    this.minIntervalMs = 1000 / this.callsPerSecond;
    this.attempts = options.attempts ?? 4;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  configurationProblems(): string[] {
    return [...this.problems.values()];
  }

  // -------------------------------------------------------------------------------------------
  // Access token: cached, single-flight, dropped when DingTalk says it is invalid.

  async accessToken(): Promise<string> {
    if (this.token && this.now() < this.token.expiresAt) return this.token.value;
    this.tokenRequest ??= this.fetchToken().finally(() => {
      this.tokenRequest = undefined;
    });
    return this.tokenRequest;
  }

  private async fetchToken(): Promise<string> {
    const body = { appKey: this.options.clientId, appSecret: this.options.clientSecret };
    const response = await this.send(`${this.options.apiBase}${TOKEN_PATH}`, 'POST', { 'content-type': 'application/json' }, JSON.stringify(body));
    const json = (await readJson(response)) as { accessToken?: string; expireIn?: number; code?: string };
    if (!response.ok || !json.accessToken) {
      const retryable = response.status >= 500 || response.status === 429;
      const error = new PlatformApiError(PLATFORM, `access token refused (HTTP ${response.status}${json.code ? ` ${json.code}` : ''})`, {
        status: response.status,
        errcode: json.code,
        retryable,
        configuration: !retryable,
      });
      if (!retryable) this.problems.set(TOKEN_PATH, '钉钉拒绝了 DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET（获取 access token 失败）');
      throw error;
    }
    this.problems.delete(TOKEN_PATH);
    const lifetimeMs = (json.expireIn ?? 7200) * 1000;
    this.token = { value: json.accessToken, expiresAt: this.now() + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2) };
    return json.accessToken;
  }

  private dropToken(value: string): void {
    if (this.token?.value === value) this.token = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // New API (api.dingtalk.com).

  /** One call to the new API, paced, retried on throttling/5xx/network, token refreshed once. */
  async api<T>(method: 'POST' | 'PUT' | 'GET', path: string, body?: unknown): Promise<T> {
    return this.withRetries(path, async () => {
      const token = await this.accessToken();
      const response = await this.send(
        `${this.options.apiBase}${path}`,
        method,
        { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': token },
        body === undefined ? undefined : JSON.stringify(body),
      );
      const json = (await readJson(response)) as Record<string, unknown>;
      if (response.ok) return { ok: true, value: json as T };
      const code = typeof json.code === 'string' ? json.code : undefined;
      const authFailure = response.status === 401 || (response.status === 400 && isTokenCode(code));
      if (authFailure) this.dropToken(token);
      return { ok: false, error: this.apiError(path, response.status, code), authFailure };
    });
  }

  private apiError(path: string, status: number, code: string | undefined): PlatformApiError {
    const throttled = status === 429 || (status === 403 && !!code?.startsWith('Forbidden.AccessDenied.QpsLimit'));
    const quota = status === 403 && code === 'Forbidden.AccessDenied.ApiCountLimitForOrg';
    const forbidden = status === 403 && !throttled && !quota;
    const authFailure = status === 401 || (status === 400 && isTokenCode(code));
    if (forbidden) this.problems.set(path, `钉钉应用缺少权限或 IP 不在白名单（${path}: ${code ?? status}）`);
    return new PlatformApiError(PLATFORM, `${path} failed (HTTP ${status}${code ? ` ${code}` : ''})`, {
      status,
      errcode: code,
      retryable: throttled || quota || status >= 500,
      configuration: forbidden || quota || authFailure,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Legacy API (oapi.dingtalk.com): HTTP 200 with errcode.

  async oapi<T>(path: string, body: unknown): Promise<T> {
    return this.withRetries(path, async () => {
      const token = await this.accessToken();
      const url = `${this.options.oapiBase}${path}?access_token=${encodeURIComponent(token)}`;
      const response = await this.send(url, 'POST', { 'content-type': 'application/json' }, JSON.stringify(body));
      const json = (await readJson(response)) as { errcode?: number; errmsg?: string; result?: T };
      if (response.ok && (json.errcode ?? 0) === 0) return { ok: true, value: json.result as T };
      const errcode = json.errcode ?? response.status;
      const authFailure = LEGACY_AUTH_ERRCODES.has(errcode);
      if (authFailure) this.dropToken(token);
      const retryable = response.status >= 500 || LEGACY_THROTTLE_ERRCODES.has(errcode);
      const configuration = authFailure || errcode === 60011 || errcode === 60020;
      if (configuration) this.problems.set(path, `钉钉通讯录接口被拒绝（${path}: errcode ${errcode}），请检查应用权限`);
      return {
        ok: false,
        authFailure,
        error: new PlatformApiError(PLATFORM, `${path} failed (errcode ${errcode})`, { status: response.status, errcode, retryable, configuration }),
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Shared plumbing.

  /**
   * Paces each attempt, retries throttling/5xx/network failures with exponential backoff, and
   * retries once with a fresh token after an authentication failure.
   */
  private async withRetries<T>(path: string, attempt: () => Promise<Attempt<T>>): Promise<T> {
    let refreshed = false;
    for (let n = 1; ; n += 1) {
      await this.pace(path);
      let outcome: Attempt<T>;
      try {
        outcome = await attempt();
      } catch (error) {
        if (error instanceof PlatformApiError) throw error; // token endpoint refused
        outcome = { ok: false, authFailure: false, error: networkError(path, error) };
      }
      if (outcome.ok) {
        this.problems.delete(path);
        return outcome.value;
      }
      if (outcome.authFailure && !refreshed) {
        refreshed = true;
        continue;
      }
      if (!outcome.error.details.retryable || n >= this.attempts) throw outcome.error;
      const delay = this.retryBaseMs * 2 ** (n - 1);
      this.options.log.warn({ path, status: outcome.error.details.status, errcode: outcome.error.details.errcode, delay }, 'dingtalk api: retrying');
      await this.sleep(delay);
    }
  }

  /** Waits for this API path's next free slot (≤ callsPerSecond). */
  private async pace(path: string): Promise<void> {
    if (this.options.pacerFor) {
      let pacer = this.sharedPacers.get(path);
      if (!pacer) this.sharedPacers.set(path, (pacer = this.options.pacerFor(path, this.callsPerSecond)));
      await pacer.take();
      return;
    }
    const now = this.now();
    const slot = Math.max(now, this.nextSlot.get(path) ?? 0);
    this.nextSlot.set(path, slot + this.minIntervalMs);
    if (slot > now) await this.sleep(slot - now);
  }

  private async send(url: string, method: string, headers: Record<string, string>, body?: string | FormData): Promise<Response> {
    return this.fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
  }

  // -------------------------------------------------------------------------------------------
  // Robot messages, cards, media, directory.

  async batchSend(robotCode: string, userIds: string[], msgKey: string, msgParam: Record<string, string>): Promise<BatchSendResult> {
    const result = await this.api<Partial<BatchSendResult>>('POST', '/v1.0/robot/oToMessages/batchSend', {
      robotCode,
      userIds,
      msgKey,
      msgParam: JSON.stringify(msgParam),
    });
    return {
      processQueryKey: result.processQueryKey,
      invalidStaffIdList: result.invalidStaffIdList ?? [],
      flowControlledStaffIdList: result.flowControlledStaffIdList ?? [],
    };
  }

  async groupSend(robotCode: string, openConversationId: string, msgKey: string, msgParam: Record<string, string>): Promise<void> {
    await this.api('POST', '/v1.0/robot/groupMessages/send', { robotCode, openConversationId, msgKey, msgParam: JSON.stringify(msgParam) });
  }

  async createAndDeliverCard(request: Record<string, unknown>): Promise<void> {
    const result = await this.api<{ success?: boolean; result?: { deliverResults?: { success?: boolean; errorMsg?: string }[] } }>(
      'POST',
      '/v1.0/card/instances/createAndDeliver',
      request,
    );
    const failed = result.result?.deliverResults?.find((r) => r.success === false);
    if (result.success === false || failed) {
      throw new PlatformApiError(PLATFORM, `card delivery failed${failed?.errorMsg ? `: ${failed.errorMsg}` : ''}`, { retryable: false });
    }
  }

  async updateCardInstance(outTrackId: string, cardParamMap: Record<string, string>): Promise<void> {
    await this.api('PUT', '/v1.0/card/instances', {
      outTrackId,
      cardData: { cardParamMap },
      cardUpdateOptions: { updateCardDataByKey: true, updatePrivateDataByKey: true },
    });
  }

  /** Uploads a file (legacy media API) and returns its media_id for sampleFile. */
  /**
   * A file a person sent the robot: messageFiles/download turns its downloadCode into a short-lived
   * downloadUrl, which is then fetched without the token.
   */
  async downloadMessageFile(robotCode: string, downloadCode: string): Promise<{ data: Buffer; mimeType: string | null }> {
    const { downloadUrl } = await this.api<{ downloadUrl?: string }>('POST', '/v1.0/robot/messageFiles/download', { robotCode, downloadCode });
    if (!downloadUrl) throw new PlatformApiError(PLATFORM, 'messageFiles/download gave no downloadUrl', { retryable: false });
    let response: Response;
    try {
      response = await this.fetch(downloadUrl, { method: 'GET', signal: AbortSignal.timeout(this.timeoutMs * 6) });
    } catch (error) {
      throw networkError('messageFiles/download', error);
    }
    if (!response.ok) throw new PlatformApiError(PLATFORM, `file download failed (HTTP ${response.status})`, { status: response.status, retryable: response.status >= 500 });
    const type = response.headers.get('content-type');
    return { data: Buffer.from(await response.arrayBuffer()), mimeType: type ? type.split(';')[0].trim() : null };
  }

  async uploadMedia(fileName: string, mimeType: string, data: Buffer): Promise<string> {
    const path = '/media/upload';
    return this.withRetries(path, async () => {
      const token = await this.accessToken();
      const form = new FormData();
      form.append('type', 'file');
      form.append('media', new Blob([new Uint8Array(data)], { type: mimeType }), fileName);
      const url = `${this.options.oapiBase}${path}?access_token=${encodeURIComponent(token)}`;
      const response = await this.send(url, 'POST', {}, form);
      const json = (await readJson(response)) as { errcode?: number; media_id?: string };
      if (response.ok && (json.errcode ?? 0) === 0 && json.media_id) return { ok: true, value: json.media_id };
      const errcode = json.errcode ?? response.status;
      const authFailure = LEGACY_AUTH_ERRCODES.has(errcode);
      if (authFailure) this.dropToken(token);
      const retryable = response.status >= 500 || LEGACY_THROTTLE_ERRCODES.has(errcode);
      return { ok: false, authFailure, error: new PlatformApiError(PLATFORM, `${path} failed (errcode ${errcode})`, { status: response.status, errcode, retryable }) };
    });
  }

  async getDepartment(deptId: number): Promise<OapiDepartment> {
    return this.oapi<OapiDepartment>('/topapi/v2/department/get', { dept_id: deptId });
  }

  async listSubDepartments(deptId: number): Promise<OapiDepartment[]> {
    return (await this.oapi<OapiDepartment[] | undefined>('/topapi/v2/department/listsub', { dept_id: deptId })) ?? [];
  }

  async listUsers(deptId: number, cursor: number): Promise<{ hasMore: boolean; nextCursor: number; list: OapiUser[] }> {
    const result = await this.oapi<{ has_more?: boolean; next_cursor?: number; list?: OapiUser[] }>('/topapi/v2/user/list', {
      dept_id: deptId,
      cursor,
      size: 100,
    });
    return { hasMore: !!result?.has_more, nextCursor: result?.next_cursor ?? 0, list: result?.list ?? [] };
  }
}

function isTokenCode(code: string | undefined): boolean {
  return code === 'InvalidAuthentication' || code === 'invalidParameter.token.invalid' || code === 'token.notExisted';
}

function networkError(path: string, cause: unknown): PlatformApiError {
  const reason = cause instanceof Error ? cause.name : 'error';
  return new PlatformApiError(PLATFORM, `${path}: network ${reason}`, { retryable: true }, { cause });
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

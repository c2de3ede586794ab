import type WebSocket from 'ws';
import { WSClient, WeComApiClient, decryptFile, type TemplateCard, type WsFrame } from '@wecom/aibot-node-sdk';
import type { Logger } from '../../lib/logger';

/*
 * The only file that imports @wecom/aibot-node-sdk (1.0.7). The SDK is used for the frame protocol
 * (auth frame, heartbeat, reply queue with receipts, media upload, file decryption); the bot owns
 * the connection's lifecycle, as it does for DingTalk Stream (stream-connection.ts):
 *  - the SDK's own reconnect is off (0 attempts): each WSClient serves one connection and is then
 *    disposed; one reconnect timer at most, exponential backoff with jitter, capped, forever;
 *  - a watchdog drops a connection on which nothing (not even a heartbeat receipt) arrived for
 *    `silenceMs`, and an attempt that is not authenticated within `connectTimeoutMs`;
 *  - WeCom allows one connection per robot: when another instance connects, this one gets
 *    `disconnected_event` and is closed by the server. It then stands by for `takeoverHoldMs`
 *    instead of reconnecting at once, so two instances never kick each other in a loop;
 *  - stop() cancels timers and closes every socket.
 * The SDK logs frame bodies (message text) at debug level: its logger is mapped to ours without
 * debug/info and without the extra arguments, so no message text or secret reaches the log.
 */

/** A message or event frame pushed by WeCom, reduced to what the adapter needs. */
export interface RobotFrame {
  cmd: 'aibot_msg_callback' | 'aibot_event_callback';
  reqId: string;
  body: Record<string, unknown>;
}

export type RobotConnectionState = 'stopped' | 'connecting' | 'connected' | 'reconnecting' | 'standby';

export type RobotConnectionStatus =
  | { type: 'connected' }
  | { type: 'disconnected'; reason: 'closed' | 'silent' | 'taken_over' }
  | { type: 'attempt_failed'; attempt: number; reason: string }
  | { type: 'reconnect_scheduled'; attempt: number; delayMs: number; standby: boolean }
  | { type: 'stopped' };

export interface RobotConnectionOptions {
  botId: string;
  secret: string;
  /** WECOM_BOT_WS_URL. */
  wsUrl: string;
  log: Logger;
  onFrame: (frame: RobotFrame) => void;
  onStatus?: (status: RobotConnectionStatus) => void;
  /** First reconnect delay; doubled per consecutive failure up to maxDelayMs, then jittered. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Opening the socket plus the auth receipt must finish within this. */
  connectTimeoutMs?: number;
  /** The SDK's heartbeat (ping frame) interval; every receipt counts as activity. */
  heartbeatMs?: number;
  /** Nothing received for this long → the connection is dropped and opened anew. */
  silenceMs?: number;
  /** After another connection took over, wait this long (jittered) before trying again. */
  takeoverHoldMs?: number;
  /** A connection that lived this long resets the backoff. */
  stableMs?: number;
  /** How long a sent frame waits for its receipt (the SDK's default is 5 s). */
  receiptTimeoutMs?: number;
  random?: () => number;
  now?: () => number;
}

/** The default address of the public WeCom robot gateway (the SDK's DEFAULT_WS_URL). */
export const PUBLIC_ROBOT_WS_URL = 'wss://openws.work.weixin.qq.com';

/** A send failed because no connection is up (reconnecting, standing by, stopped). */
export class RobotNotConnectedError extends Error {
  constructor() {
    super('wecom robot: not connected');
  }
}

/** WeCom answered a sent frame with a non-zero errcode. */
export class RobotReceiptError extends Error {
  constructor(
    readonly errcode: number,
    errmsg: string,
  ) {
    super(`wecom robot answered errcode ${errcode}: ${errmsg.slice(0, 200)}`);
  }
}

interface SdkInternals {
  wsManager: { ws: WebSocket | null; replyAckTimeout: number; disconnect(): void };
}

function internals(client: WSClient): SdkInternals {
  return client as unknown as SdkInternals;
}

/** The SDK's Logger, reduced to warnings and errors, first argument only (never frame bodies). */
function sdkLogger(log: Logger) {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => log.warn({ sdk: String(message).slice(0, 200) }, 'wecom robot sdk warning'),
    error: (message: string) => log.warn({ sdk: String(message).slice(0, 200) }, 'wecom robot sdk error'),
  };
}

/** Turns whatever the SDK rejected with (an Error, or the receipt frame) into an Error. */
function asError(reason: unknown): Error {
  if (reason instanceof Error) {
    return /not connected|connection closed|manually closed|disconnected due to new connection/i.test(reason.message) ? new RobotNotConnectedError() : reason;
  }
  const frame = reason as Partial<WsFrame> | undefined;
  if (frame && typeof frame.errcode === 'number') return new RobotReceiptError(frame.errcode, frame.errmsg ?? '');
  return new Error('wecom robot: send failed');
}

/**
 * One logical robot connection that stays up until stop(): at most one attempt in flight and one
 * timer pending, so a failing gateway sees attempts spaced by the backoff, never a storm.
 */
export class RobotConnection {
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly connectTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly silenceMs: number;
  private readonly takeoverHoldMs: number;
  private readonly stableMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  private stopped = true;
  private current: { client: WSClient; openedAt: number } | undefined;
  private pending: WSClient | undefined;
  private attemptTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastActivityAt = 0;
  private stateName: RobotConnectionState = 'stopped';
  private lastErrorText: string | undefined;
  private lastProblem: string | undefined;
  private readonly connectedWaiters = new Set<() => void>();

  constructor(private readonly options: RobotConnectionOptions) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    // Below the SDK's own verdict (three heartbeats without a receipt), so the bot's watchdog decides.
    this.silenceMs = options.silenceMs ?? 2.5 * this.heartbeatMs;
    this.takeoverHoldMs = options.takeoverHoldMs ?? 5 * 60_000;
    this.stableMs = options.stableMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  get state(): RobotConnectionState {
    return this.stateName;
  }

  /** The last connection or send error, for /readyz (no message content in it). */
  get lastError(): string | undefined {
    return this.lastErrorText;
  }

  /** Set while WeCom refuses the robot's credentials (for /readyz). */
  get configurationProblem(): string | undefined {
    return this.lastProblem;
  }

  /** Opens the first connection in the background; never throws. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.watchdog = setInterval(() => this.checkSilence(), Math.max(10, Math.floor(this.silenceMs / 4)));
    this.attempt();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.attemptTimer);
    clearInterval(this.watchdog);
    this.reconnectTimer = this.attemptTimer = this.watchdog = undefined;
    if (this.pending) this.dispose(this.pending);
    if (this.current) this.dispose(this.current.client);
    this.pending = this.current = undefined;
    this.setState('stopped');
    for (const wake of this.connectedWaiters) wake();
    this.connectedWaiters.clear();
    this.emit({ type: 'stopped' });
  }

  /** Resolves once connected, or after `timeoutMs` (whichever first); true when connected. */
  async waitUntilConnected(timeoutMs: number): Promise<boolean> {
    if (this.current || this.stopped || timeoutMs <= 0) return this.connected;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.connectedWaiters.delete(wake);
        resolve();
      };
      this.connectedWaiters.add(wake);
      timer = setTimeout(wake, timeoutMs);
    });
    return this.connected;
  }

  /** Proactive message to a chat (a person's userid, or a group chatid): aibot_send_msg. */
  async sendMessage(chatId: string, body: Record<string, unknown> & { msgtype: string }): Promise<void> {
    await this.call((client) => client.sendMessage(chatId, body as unknown as Parameters<WSClient['sendMessage']>[1]));
  }

  /** Replaces the card a person clicked (aibot_respond_update_msg), answering that click's frame. */
  async updateTemplateCard(reqId: string, templateCard: Record<string, unknown>, userIds: string[]): Promise<void> {
    await this.call((client) => client.updateTemplateCard({ headers: { req_id: reqId } }, templateCard as unknown as TemplateCard, userIds));
  }

  /** Uploads a temporary file (three-step chunked upload over the socket); returns its media_id. */
  async uploadFile(data: Buffer, fileName: string): Promise<string> {
    let mediaId = '';
    await this.call(async (client) => {
      mediaId = (await client.uploadMedia(data, { type: 'file', filename: fileName })).media_id;
    });
    return mediaId;
  }

  private async call(run: (client: WSClient) => Promise<unknown>): Promise<void> {
    const current = this.current;
    if (!current) throw new RobotNotConnectedError();
    try {
      await run(current.client);
    } catch (reason) {
      const error = asError(reason);
      if (!(error instanceof RobotNotConnectedError)) this.lastErrorText = error.message;
      throw error;
    }
  }

  private attempt(): void {
    if (this.stopped || this.pending) return;
    this.setState(this.failures === 0 && !this.current ? 'connecting' : 'reconnecting');
    const client = this.createClient();
    this.pending = client;
    this.attemptTimer = setTimeout(() => this.onAttemptFailed(client, 'not authenticated in time'), this.connectTimeoutMs);
    client.connect();
    const socket = internals(client).wsManager.ws;
    // Every frame received (heartbeat receipts included) proves the connection alive.
    socket?.on('message', () => {
      if (this.current?.client === client) this.lastActivityAt = this.now();
    });
    // The SDK strips the socket's listeners in some paths (a takeover) before it is gone: a late
    // socket error must not become an uncaught exception.
    socket?.on('error', () => undefined);
  }

  private createClient(): WSClient {
    const { botId, secret, wsUrl, log } = this.options;
    const client = new WSClient({
      botId,
      secret,
      wsUrl,
      maxReconnectAttempts: 0,
      maxAuthFailureAttempts: 0,
      heartbeatInterval: this.heartbeatMs,
      logger: sdkLogger(log),
    });
    if (this.options.receiptTimeoutMs) internals(client).wsManager.replyAckTimeout = this.options.receiptTimeoutMs;
    let takenOver = false;
    client.on('authenticated', () => this.adopt(client));
    client.on('error', (error: Error) => this.onClientError(error));
    client.on('event.disconnected_event', () => {
      takenOver = true;
    });
    client.on('disconnected', () => {
      if (this.pending === client) this.onAttemptFailed(client, takenOver ? 'taken over' : this.lastErrorText ?? 'connection closed');
      else if (this.current?.client === client) this.drop(takenOver ? 'taken_over' : 'closed');
    });
    client.on('message', (frame: WsFrame) => this.forward(client, frame));
    client.on('event', (frame: WsFrame) => {
      const eventType = (frame.body as { event?: { eventtype?: string } } | undefined)?.event?.eventtype;
      if (eventType !== 'disconnected_event') this.forward(client, frame);
    });
    return client;
  }

  private onClientError(error: Error): void {
    // The SDK's "gave up reconnecting" errors are our own doing (0 attempts): the bot reconnects.
    if (error.name === 'WSReconnectExhaustedError' || error.name === 'WSAuthFailureError') return;
    this.lastErrorText = error.message.slice(0, 300);
    const refused = /Authentication failed: (.*) \(code: (-?\d+)\)/.exec(error.message);
    if (refused) {
      this.lastProblem = `WECOM_BOT_ID / WECOM_BOT_SECRET：企业微信拒绝了智能机器人的凭证（errcode ${refused[2]}），请核对机器人 ID 和 Secret`;
    }
  }

  private forward(client: WSClient, frame: WsFrame): void {
    if (this.current?.client !== client || !frame.cmd || !frame.body) return;
    if (frame.cmd !== 'aibot_msg_callback' && frame.cmd !== 'aibot_event_callback') return;
    try {
      this.options.onFrame({ cmd: frame.cmd, reqId: frame.headers?.req_id ?? '', body: frame.body as Record<string, unknown> });
    } catch (error) {
      this.options.log.error({ err: error }, 'wecom robot: frame handler failed');
    }
  }

  private adopt(client: WSClient): void {
    if (this.pending !== client) return;
    clearTimeout(this.attemptTimer);
    this.attemptTimer = undefined;
    this.pending = undefined;
    this.current = { client, openedAt: this.now() };
    this.lastActivityAt = this.now();
    this.lastProblem = undefined;
    this.lastErrorText = undefined;
    this.setState('connected');
    this.options.log.info('wecom robot: connected');
    this.emit({ type: 'connected' });
    for (const wake of this.connectedWaiters) wake();
  }

  private onAttemptFailed(client: WSClient, reason: string): void {
    if (this.pending !== client) return;
    clearTimeout(this.attemptTimer);
    this.attemptTimer = undefined;
    this.pending = undefined;
    this.dispose(client);
    if (this.stopped) return;
    this.lastErrorText = reason;
    this.options.log.warn({ reason, attempt: this.failures + 1 }, 'wecom robot: connection attempt failed');
    this.emit({ type: 'attempt_failed', attempt: this.failures + 1, reason });
    this.scheduleReconnect(reason === 'taken over');
  }

  /** Forgets the current connection and schedules its successor. */
  private drop(reason: 'closed' | 'silent' | 'taken_over'): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    this.dispose(current.client);
    if (this.now() - current.openedAt >= this.stableMs) this.failures = 0;
    if (reason !== 'taken_over') this.lastErrorText = reason === 'silent' ? 'connection silent' : 'connection closed';
    this.options.log.warn({ reason }, 'wecom robot: connection lost');
    this.emit({ type: 'disconnected', reason });
    this.scheduleReconnect(reason === 'taken_over');
  }

  private scheduleReconnect(standby: boolean): void {
    if (this.stopped || this.reconnectTimer || this.pending) return;
    const delayMs = standby ? this.jitter(this.takeoverHoldMs) : this.jitter(Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.failures, 30)));
    if (!standby) this.failures += 1;
    this.setState(standby ? 'standby' : 'reconnecting');
    this.emit({ type: 'reconnect_scheduled', attempt: this.failures, delayMs, standby });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.attempt();
    }, delayMs);
  }

  /** "Equal jitter": half fixed, half random, so instances and retries spread out. */
  private jitter(ceiling: number): number {
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  private checkSilence(): void {
    if (this.current && this.now() - this.lastActivityAt >= this.silenceMs) this.drop('silent');
  }

  /** Ends a client for good: no listeners, no heartbeat, no pending receipt, no socket. */
  private dispose(client: WSClient): void {
    client.removeAllListeners();
    client.on('error', () => undefined);
    internals(client).wsManager.ws?.on('error', () => undefined);
    internals(client).wsManager.disconnect();
  }

  private setState(state: RobotConnectionState): void {
    this.stateName = state;
  }

  private emit(status: RobotConnectionStatus): void {
    this.options.onStatus?.(status);
  }
}

/**
 * Downloads a file a person sent (its url lives five minutes) and decrypts it with the frame's
 * per-file aeskey (AES-256-CBC, PKCS#7 to 32 bytes). The file name comes from Content-Disposition.
 */
export async function downloadRobotFile(url: string, aesKey: string | undefined, log: Logger, timeoutMs = 30_000): Promise<{ data: Buffer; fileName?: string }> {
  const api = new WeComApiClient(sdkLogger(log), timeoutMs);
  const { buffer, filename } = await api.downloadFileRaw(url);
  return { data: aesKey ? decryptFile(buffer, aesKey) : buffer, fileName: filename };
}

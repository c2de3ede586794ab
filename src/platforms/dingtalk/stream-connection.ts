import type WebSocket from 'ws';
import { DWClient, TOPIC_CARD, TOPIC_ROBOT, type DWClientDownStream } from 'dingtalk-stream';
import type { Logger } from '../../lib/logger';

/*
 * The only file that imports dingtalk-stream. The SDK (2.1.5) is used for what it does well — the
 * socket, the frame envelope, ping replies and acknowledgements — and the bot owns everything the
 * SDK gets wrong (README, DingTalk → Stream):
 *  - the gateway is opened at `${apiBase}/v1.0/gateway/connections/open`, not the hard-coded public host;
 *  - the SDK's autoReconnect is off: one reconnect timer at most, exponential backoff with jitter;
 *  - a watchdog pings an idle socket and drops a silent one;
 *  - a SYSTEM `disconnect` is answered by opening a new connection before the old one is dropped;
 *  - every DWClient is used for one connection only and disposed completely (listeners, socket).
 */

export { TOPIC_CARD, TOPIC_ROBOT };

/** One CALLBACK frame from the gateway, reduced to what the adapter needs. */
export interface StreamFrame {
  topic: string;
  messageId: string;
  data: string;
}

/** Answers a CALLBACK frame on the connection that delivered it (`{"response": …}` on the wire). */
export type FrameResponder = (response: unknown) => void;

export type ConnectionStatus =
  | { type: 'connected' }
  | { type: 'disconnected'; reason: 'closed' | 'silent' | 'system_disconnect' }
  | { type: 'attempt_failed'; attempt: number; reason: string }
  | { type: 'reconnect_scheduled'; attempt: number; delayMs: number }
  | { type: 'stopped' };

export interface StreamConnectionOptions {
  clientId: string;
  clientSecret: string;
  /** DINGTALK_API_BASE; the gateway is opened under it. */
  apiBase: string;
  log: Logger;
  onFrame: (frame: StreamFrame, respond: FrameResponder) => void;
  /** Status changes, for logs, /readyz and tests. */
  onStatus?: (status: ConnectionStatus) => void;
  /** First reconnect delay; doubled per consecutive failure up to maxDelayMs, then jittered. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Gateway POST plus WebSocket handshake must finish within this. */
  connectTimeoutMs?: number;
  /** No frame (or pong) for this long → the connection is dropped and opened anew. */
  silenceMs?: number;
  /** A connection that lived this long resets the backoff. */
  stableMs?: number;
  random?: () => number;
  now?: () => number;
}

/** How long a closing socket may wait for the gateway's close frame before it is cut. */
const CLOSE_GRACE_MS = 1000;

const USER_AGENT = 'xinsheng-dingtalk-stream/1.0 (dingtalk-stream 2.1.5)';

/** Thrown when the gateway refuses the credentials: retrying will not help until a deployer fixes them. */
export class GatewayRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface ClientHooks {
  onActivity(): void;
  onSystemDisconnect(): void;
  onMalformedFrame(): void;
}

/** A DWClient for exactly one connection, opened through the configured gateway. */
class GatewayClient extends DWClient {
  private readonly abort = new AbortController();

  constructor(
    private readonly gatewayUrl: string,
    credentials: { clientId: string; clientSecret: string },
    private readonly timeoutMs: number,
    private readonly hooks: ClientHooks,
  ) {
    // autoReconnect and subscriptions are runtime options missing from the SDK's types. A fresh
    // subscriptions array per client: the SDK's default one is shared by every instance.
    super({
      ...credentials,
      ua: USER_AGENT,
      keepAlive: false,
      autoReconnect: false,
      subscriptions: [{ type: 'EVENT', topic: '*' }],
    } as ConstructorParameters<typeof DWClient>[0]);
  }

  /** Replaces the SDK's POST to the hard-coded public gateway with one to the configured base. */
  override async getEndpoint(): Promise<this> {
    const response = await fetch(this.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        clientId: this.config.clientId,
        clientSecret: this.config.clientSecret,
        ua: this.config.ua,
        subscriptions: this.config.subscriptions,
      }),
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)]),
    });
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new GatewayRefusedError(`gateway refused the credentials (HTTP ${response.status})`, response.status);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`gateway answered HTTP ${response.status}`);
    }
    const body = (await response.json()) as { endpoint?: unknown; ticket?: unknown };
    if (typeof body.endpoint !== 'string' || typeof body.ticket !== 'string' || !body.endpoint || !body.ticket) {
      throw new Error('gateway answered without endpoint or ticket');
    }
    // dw_url is declared private in the SDK's types but is a plain field read by _connect().
    (this as unknown as { dw_url: string }).dw_url = `${body.endpoint}?ticket=${encodeURIComponent(body.ticket)}`;
    return this;
  }

  /** Every frame proves the connection alive; a malformed one must not throw inside ws's listener. */
  override onDownStream(data: string): void {
    this.hooks.onActivity();
    try {
      super.onDownStream(data);
    } catch {
      this.hooks.onMalformedFrame();
    }
  }

  override onSystem(downstream: DWClientDownStream): void {
    super.onSystem(downstream);
    if (downstream.headers?.topic === 'disconnect') this.hooks.onSystemDisconnect();
  }

  get rawSocket(): WebSocket | undefined {
    return (this as unknown as { socket?: WebSocket }).socket;
  }

  /** Ends this client for good: no listeners, no socket, no pending request. */
  dispose(): void {
    this.abort.abort();
    (this as unknown as { userDisconnect: boolean }).userDisconnect = true;
    this.removeAllListeners();
    const socket = this.rawSocket;
    if (!socket) return;
    if (socket.readyState === 0) {
      // While the handshake runs, the SDK's own 'error' listener must stay: it rejects the pending
      // _connect() when terminate() aborts the handshake.
      socket.on('error', () => undefined);
      socket.terminate();
      return;
    }
    socket.removeAllListeners();
    socket.on('error', () => undefined);
    if (socket.readyState !== 1) {
      socket.terminate();
      return;
    }
    // A close frame tells the gateway at once; terminate() follows shortly in case the peer never
    // answers (ws would otherwise keep the socket for 30 s). The timer is cleared on close.
    socket.close(1000, 'bye');
    const force = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    force.unref();
    socket.once('close', () => clearTimeout(force));
  }
}

/**
 * One logical Stream connection that stays up until stop(): at most one attempt in flight and one
 * reconnect timer pending, so a failing gateway sees attempts spaced by the backoff, never a storm.
 */
export class StreamConnection {
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly connectTimeoutMs: number;
  private readonly silenceMs: number;
  private readonly stableMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly gatewayUrl: string;

  private stopped = true;
  private current: { client: GatewayClient; openedAt: number } | undefined;
  /** The connection told by SYSTEM disconnect to go; dropped once its successor is open. */
  private draining: GatewayClient | undefined;
  private pending: GatewayClient | undefined;
  private inflight: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastActivityAt = 0;
  private lastProblem: string | undefined;

  constructor(private readonly options: StreamConnectionOptions) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.silenceMs = options.silenceMs ?? 90_000;
    this.stableMs = options.stableMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.gatewayUrl = `${options.apiBase.replace(/\/+$/, '')}/v1.0/gateway/connections/open`;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  /** The last reason the gateway refused us, if it was the credentials (for /readyz). */
  get configurationProblem(): string | undefined {
    return this.lastProblem;
  }

  /** Opens the first connection; on failure keeps trying in the background (never throws). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.startWatchdog();
    await this.attempt();
  }

  /** Cancels the timer and any attempt in flight and closes every socket. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.pending?.dispose();
    await this.inflight;
    this.current?.client.dispose();
    this.current = undefined;
    this.draining?.dispose();
    this.draining = undefined;
    this.emit({ type: 'stopped' });
  }

  private attempt(): Promise<void> {
    if (this.stopped || this.inflight) return this.inflight ?? Promise.resolve();
    this.inflight = (async () => {
      const failure = await this.openConnection();
      // Cleared before a reconnect is scheduled: scheduleReconnect() refuses while an attempt is in flight.
      this.inflight = undefined;
      if (failure && !this.stopped) this.onAttemptFailed(failure.error);
    })();
    return this.inflight;
  }

  /** One attempt: gateway POST, then the WebSocket handshake. Returns the failure, if any. */
  private async openConnection(): Promise<{ error: unknown } | undefined> {
    const client = this.createClient();
    this.pending = client;
    try {
      await client.getEndpoint();
      await this.withTimeout(client._connect(), client);
    } catch (error) {
      this.pending = undefined;
      client.dispose();
      return { error };
    }
    this.pending = undefined;
    if (this.stopped) client.dispose();
    else this.adopt(client);
    return undefined;
  }

  private createClient(): GatewayClient {
    const { clientId, clientSecret, log } = this.options;
    const client: GatewayClient = new GatewayClient(this.gatewayUrl, { clientId, clientSecret }, this.connectTimeoutMs, {
      onActivity: () => {
        this.lastActivityAt = this.now();
      },
      onSystemDisconnect: () => this.onSystemDisconnect(client),
      onMalformedFrame: () => log.warn('dingtalk stream: ignored a malformed frame'),
    });
    const forward = (topic: string) => (frame: DWClientDownStream) => this.forward(client, topic, frame);
    client.registerCallbackListener(TOPIC_ROBOT, forward(TOPIC_ROBOT));
    client.registerCallbackListener(TOPIC_CARD, forward(TOPIC_CARD));
    // Org events are not used yet; the SDK acknowledges them with SUCCESS so they are not redelivered.
    client.registerAllEventListener(() => ({ status: 'SUCCESS' }) as ReturnType<Parameters<DWClient['registerAllEventListener']>[0]>);
    return client;
  }

  private forward(client: GatewayClient, topic: string, frame: DWClientDownStream): void {
    const messageId = frame.headers?.messageId;
    if (!messageId) return;
    const respond: FrameResponder = (response) => {
      // The ack must go back on the socket that carried the frame; if it has gone, the gateway
      // redelivers and the inbound store drops the duplicate.
      if (client.rawSocket?.readyState === 1) client.socketCallBackResponse(messageId, response);
    };
    try {
      this.options.onFrame({ topic, messageId, data: typeof frame.data === 'string' ? frame.data : '' }, respond);
    } catch (error) {
      this.options.log.error({ err: error, topic }, 'dingtalk stream: frame handler failed');
    }
  }

  private adopt(client: GatewayClient): void {
    const previous = this.draining;
    this.draining = undefined;
    this.current = { client, openedAt: this.now() };
    this.lastActivityAt = this.now();
    this.lastProblem = undefined;
    client.rawSocket?.on('pong', () => {
      this.lastActivityAt = this.now();
    });
    client.rawSocket?.on('close', () => this.onClosed(client));
    previous?.dispose();
    this.options.log.info('dingtalk stream: connected');
    this.emit({ type: 'connected' });
  }

  private onClosed(client: GatewayClient): void {
    client.dispose();
    if (this.draining === client) {
      this.draining = undefined;
      return;
    }
    if (this.current?.client !== client) return;
    this.drop('closed');
  }

  private onSystemDisconnect(client: GatewayClient): void {
    if (this.stopped || this.current?.client !== client) return;
    // The gateway stops delivering on this socket and closes it ~10 s later: open the successor
    // now (no backoff — this is routine) and drop this one once the successor is up.
    this.current = undefined;
    this.draining = client;
    this.options.log.info('dingtalk stream: gateway asked to reconnect');
    this.emit({ type: 'disconnected', reason: 'system_disconnect' });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.attempt();
  }

  /** Forgets the current connection and schedules its successor. */
  private drop(reason: 'closed' | 'silent'): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    current.client.dispose();
    if (this.now() - current.openedAt >= this.stableMs) this.failures = 0;
    this.options.log.warn({ reason }, 'dingtalk stream: connection lost');
    this.emit({ type: 'disconnected', reason });
    this.scheduleReconnect();
  }

  private onAttemptFailed(error: unknown): void {
    this.draining?.dispose();
    this.draining = undefined;
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof GatewayRefusedError) {
      this.lastProblem = `钉钉 Stream 网关拒绝了 DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET（HTTP ${error.status}）`;
    }
    this.options.log.warn({ reason, attempt: this.failures + 1 }, 'dingtalk stream: connection attempt failed');
    this.emit({ type: 'attempt_failed', attempt: this.failures + 1, reason });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer || this.inflight) return;
    const delayMs = this.backoffDelay(this.failures);
    this.failures += 1;
    this.emit({ type: 'reconnect_scheduled', attempt: this.failures, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.attempt();
    }, delayMs);
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so clients spread out. */
  private backoffDelay(failures: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(failures, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  private startWatchdog(): void {
    const tickMs = Math.max(10, Math.floor(this.silenceMs / 4));
    this.watchdog = setInterval(() => this.checkSilence(), tickMs);
  }

  /** Pings a quiet socket (the pong counts as activity) and drops one that stays silent. */
  private checkSilence(): void {
    const current = this.current;
    if (!current) return;
    const idleMs = this.now() - this.lastActivityAt;
    if (idleMs >= this.silenceMs) {
      this.drop('silent');
    } else if (idleMs >= this.silenceMs / 2) {
      try {
        current.client.rawSocket?.ping();
      } catch {
        // The socket is closing; its 'close' event handles the rest.
      }
    }
  }

  private async withTimeout(opening: Promise<void>, client: GatewayClient): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.rawSocket?.terminate();
        reject(new Error('websocket handshake timed out'));
      }, this.connectTimeoutMs);
    });
    try {
      await Promise.race([opening, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private emit(status: ConnectionStatus): void {
    this.options.onStatus?.(status);
  }
}

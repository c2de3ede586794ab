import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A fake WeCom intelligent-robot gateway on 127.0.0.1, speaking the frames of @wecom/aibot-node-sdk
 * 1.0.7: `aibot_subscribe` (auth, answered with errcode 0 or a refusal), `ping` (heartbeat receipt),
 * pushed `aibot_msg_callback` / `aibot_event_callback` frames, receipts for `aibot_send_msg`,
 * `aibot_respond_update_msg` and the three upload steps. One connection per robot: a second
 * authenticated connection gets the first one a `disconnected_event` and closes it, as WeCom does.
 * Its HTTP side serves encrypted files for downloadFile.
 */

export const BOT_ID = 'aibot-test-id';
export const BOT_SECRET = 'aibot-test-secret';

export interface SentFrame {
  cmd: string;
  reqId: string;
  body: Record<string, unknown>;
  /** Which connection (1-based, in order of opening) carried it. */
  connection: number;
}

export interface FakeRobotGatewayOptions {
  /** Record sent frames (off for the benchmark, which only counts them). */
  record?: boolean;
}

interface Client {
  socket: WebSocket;
  number: number;
  authenticated: boolean;
}

let sequence = 0;

export function textFrameBody(options: { msgid?: string; userid?: string; content: string; chatid?: string }): Record<string, unknown> {
  sequence += 1;
  return {
    msgid: options.msgid ?? `msg-${sequence}-${Date.now()}`,
    aibotid: BOT_ID,
    chattype: options.chatid ? 'group' : 'single',
    ...(options.chatid ? { chatid: options.chatid } : {}),
    from: { userid: options.userid ?? 'zhangsan' },
    create_time: Math.floor(Date.now() / 1000),
    msgtype: 'text',
    text: { content: options.content },
  };
}

export function eventFrameBody(options: { msgid?: string; userid?: string; event: Record<string, unknown> }): Record<string, unknown> {
  sequence += 1;
  return {
    msgid: options.msgid ?? `evt-${sequence}-${Date.now()}`,
    aibotid: BOT_ID,
    chattype: 'single',
    from: { userid: options.userid ?? 'zhangsan' },
    create_time: Math.floor(Date.now() / 1000),
    msgtype: 'event',
    event: options.event,
  };
}

/** Encrypts like WeCom: AES-256-CBC, key = base64 aeskey, iv = its first 16 bytes, PKCS#7 to 32 bytes. */
export function encryptFile(plain: Buffer, aesKey: string): Buffer {
  const key = Buffer.from(aesKey, 'base64');
  const pad = 32 - (plain.length % 32);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]);
}

export class FakeRobotGateway {
  readonly sent: SentFrame[] = [];
  readonly authFrames: Record<string, unknown>[] = [];
  /** Times (Date.now) of every upgrade request, refused or not. */
  readonly upgradeAttempts: number[] = [];
  sentCount = 0;
  connectionCount = 0;
  /** Refuse upgrades with HTTP 503 while set. */
  refusing = false;
  /** Answer heartbeats while set (cleared to model a silent connection). */
  answeringPings = true;
  /** The secret the gateway accepts. */
  secret = BOT_SECRET;
  /** Receipts for aibot_send_msg answer this errcode. */
  sendErrcode = 0;
  port = 0;

  private server!: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly clients = new Set<Client>();
  private readonly files = new Map<string, { data: Buffer; name: string }>();
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];
  private uploadSeq = 0;

  constructor(readonly options: FakeRobotGatewayOptions = {}) {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get openSockets(): number {
    return this.clients.size;
  }

  /** The number of the connection currently authenticated (0 when none). */
  get activeConnection(): number {
    return [...this.clients].find((c) => c.authenticated)?.number ?? 0;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.onHttp(req, res));
    // Peers that vanish mid-request (a refused or terminated client) must not crash the test process.
    this.server.on('connection', (socket) => socket.on('error', () => undefined));
    this.server.on('clientError', (_error, socket) => socket.destroy());
    this.wss.on('error', () => undefined);
    this.server.on('upgrade', (req, socket, head) => {
      this.upgradeAttempts.push(Date.now());
      socket.on('error', () => undefined);
      if (this.refusing) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        this.notify();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.socket.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Serves `data` encrypted with a fresh key; returns the file body a frame carries. */
  serveFile(data: Buffer, name: string): { url: string; aeskey: string } {
    const aeskey = crypto.randomBytes(32).toString('base64');
    const id = crypto.randomBytes(8).toString('hex');
    this.files.set(id, { data: encryptFile(data, aeskey), name });
    return { url: `http://127.0.0.1:${this.port}/file/${id}`, aeskey };
  }

  /** Pushes a frame on the authenticated connection; returns its req_id. */
  push(cmd: 'aibot_msg_callback' | 'aibot_event_callback', body: Record<string, unknown>, reqId = `req-${++sequence}`): string {
    const client = [...this.clients].find((c) => c.authenticated);
    if (!client) throw new Error('no authenticated robot connection');
    client.socket.send(JSON.stringify({ cmd, headers: { req_id: reqId }, body }));
    return reqId;
  }

  pushText(options: Parameters<typeof textFrameBody>[0], reqId?: string): string {
    return this.push('aibot_msg_callback', textFrameBody(options), reqId);
  }

  pushEvent(options: Parameters<typeof eventFrameBody>[0], reqId?: string): string {
    return this.push('aibot_event_callback', eventFrameBody(options), reqId);
  }

  /** Closes every socket without a close frame (a network cut). */
  dropAll(): void {
    for (const client of this.clients) client.socket.terminate();
  }

  /** Resolves once `test` holds (checked on every frame and connection change). */
  async waitFor(description: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (test()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${description} (connections opened: ${this.connectionCount}, open: ${this.clients.size}, active: ${this.activeConnection})`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  framesOf(cmd: string): SentFrame[] {
    return this.sent.filter((f) => f.cmd === cmd);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.test()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  private onHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const match = /^\/file\/([0-9a-f]+)$/.exec(req.url ?? '');
    const file = match ? this.files.get(match[1]) : undefined;
    if (!file) {
      res.writeHead(404, { connection: 'close' }).end();
      return;
    }
    // No keep-alive: a pooled client socket reset by stop() would surface as an error in the test process.
    res.writeHead(200, { connection: 'close', 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}` });
    res.end(file.data);
  }

  private onConnection(socket: WebSocket): void {
    const client: Client = { socket, number: ++this.connectionCount, authenticated: false };
    this.clients.add(client);
    socket.on('message', (data) => this.onFrame(client, JSON.parse(data.toString()) as { cmd: string; headers: { req_id: string }; body?: Record<string, unknown> }));
    socket.on('close', () => {
      this.clients.delete(client);
      this.notify();
    });
    socket.on('error', () => undefined);
    this.notify();
  }

  private receipt(client: Client, reqId: string, errcode = 0, body?: Record<string, unknown>): void {
    client.socket.send(JSON.stringify({ headers: { req_id: reqId }, errcode, errmsg: errcode === 0 ? 'ok' : 'refused', ...(body ? { body } : {}) }));
  }

  private onFrame(client: Client, frame: { cmd: string; headers: { req_id: string }; body?: Record<string, unknown> }): void {
    const reqId = frame.headers?.req_id ?? '';
    const body = frame.body ?? {};
    if (frame.cmd === 'aibot_subscribe') {
      this.authFrames.push(body);
      if (body.bot_id !== BOT_ID || body.secret !== this.secret) {
        this.receipt(client, reqId, 40001);
        return;
      }
      this.takeOverFrom(client);
      client.authenticated = true;
      this.receipt(client, reqId);
      this.notify();
      return;
    }
    if (frame.cmd === 'ping') {
      if (this.answeringPings) this.receipt(client, reqId);
      return;
    }
    this.sentCount += 1;
    if (this.options.record !== false) this.sent.push({ cmd: frame.cmd, reqId, body, connection: client.number });
    if (frame.cmd === 'aibot_upload_media_init') this.receipt(client, reqId, 0, { upload_id: `up-${++this.uploadSeq}` });
    else if (frame.cmd === 'aibot_upload_media_finish') this.receipt(client, reqId, 0, { type: 'file', media_id: `media-${this.uploadSeq}`, created_at: '1' });
    else if (frame.cmd === 'aibot_send_msg') this.receipt(client, reqId, this.sendErrcode);
    else this.receipt(client, reqId);
    this.notify();
  }

  /** WeCom keeps one connection per robot: the older one is told and closed. */
  private takeOverFrom(newcomer: Client): void {
    for (const old of this.clients) {
      if (old === newcomer || !old.authenticated) continue;
      old.authenticated = false;
      old.socket.send(JSON.stringify({ cmd: 'aibot_event_callback', headers: { req_id: `disc-${++sequence}` }, body: eventFrameBody({ event: { eventtype: 'disconnected_event' } }) }));
      setTimeout(() => old.socket.terminate(), 20);
    }
  }
}

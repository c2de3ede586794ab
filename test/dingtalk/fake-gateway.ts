import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A fake DingTalk Stream gateway on 127.0.0.1: the HTTP endpoint that hands out tickets
 * (POST /v1.0/gateway/connections/open) and the WebSocket that pushes frames and collects
 * acknowledgements. It also answers the few OpenAPI calls the bot makes after a message (token,
 * batchSend, group send, card create/update), so a whole app can run against it (the benchmark).
 */

export const TOPIC_ROBOT = '/v1.0/im/bot/messages/get';
export const TOPIC_CARD = '/v1.0/card/instances/callback';

export interface AckFrame {
  code: number;
  headers: { messageId: string; contentType?: string };
  message: string;
  data: string;
}

export interface GatewayPost {
  clientId: string;
  clientSecret: string;
  ua: string;
  subscriptions: { type: string; topic: string }[];
}

export interface OpenApiCall {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface FakeGatewayOptions {
  /** Answer the ticket POST with this status instead of a ticket. */
  refuseTicketStatus?: number;
  /** Answer the WebSocket upgrade with 403. */
  refuseUpgrade?: boolean;
  /** Record OpenAPI calls (off for the benchmark, which only counts them). */
  recordOpenApi?: boolean;
}

export interface RobotPayloadOverrides {
  msgId?: string;
  text?: string;
  senderStaffId?: string;
  senderNick?: string;
  conversationType?: '1' | '2';
  conversationId?: string;
}

let sequence = 0;

export function robotMessagePayload(overrides: RobotPayloadOverrides = {}): Record<string, unknown> {
  sequence += 1;
  const now = Date.now();
  return {
    conversationId: overrides.conversationId ?? 'cidDirect==',
    conversationType: overrides.conversationType ?? '1',
    chatbotCorpId: 'dingcorp',
    chatbotUserId: '$:LWCP_v1:$bot',
    robotCode: 'dingrobot',
    msgId: overrides.msgId ?? `msg${sequence}-${now}`,
    msgtype: 'text',
    text: { content: overrides.text ?? ' 帮助' },
    senderNick: overrides.senderNick ?? '张三',
    senderStaffId: overrides.senderStaffId ?? 'zhangsan',
    senderId: '$:LWCP_v1:$sender',
    senderCorpId: 'dingcorp',
    isAdmin: false,
    createAt: now,
    sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=x',
    sessionWebhookExpiredTime: now + 5_400_000,
  };
}

export function cardCallbackPayload(options: {
  outTrackId: string;
  userId: string;
  params: Record<string, unknown>;
}): Record<string, unknown> {
  const privateData = JSON.stringify({ cardPrivateData: { actionIds: ['button_1'], params: options.params } });
  return {
    type: 'actionCallback',
    outTrackId: options.outTrackId,
    corpId: 'dingcorp',
    userId: options.userId,
    userIdType: 1,
    spaceType: 'im',
    spaceId: 'cidxxxx',
    extension: '{}',
    content: privateData,
    value: privateData,
  };
}

export class FakeGateway {
  readonly ticketPosts: GatewayPost[] = [];
  readonly acks: AckFrame[] = [];
  readonly openApiCalls: OpenApiCall[] = [];
  openApiCount = 0;
  upgradeAttempts = 0;
  connectionCount = 0;

  private server!: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly tickets = new Set<string>();
  private readonly ackWaiters = new Map<string, (ack: AckFrame) => void>();
  private readonly connectionWaiters: { count: number; resolve: () => void }[] = [];
  private frameSequence = 0;
  port = 0;

  constructor(readonly options: FakeGatewayOptions = {}) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.onHttp(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves once `count` WebSocket connections have been opened in total. */
  waitForConnections(count: number): Promise<void> {
    if (this.connectionCount >= count) return Promise.resolve();
    return new Promise((resolve) => this.connectionWaiters.push({ count, resolve }));
  }

  /** Resolves once no client socket is open (the bot closed its side). */
  async waitForNoSockets(): Promise<void> {
    while (this.sockets.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Pushes a CALLBACK frame on the newest socket; resolves with the bot's acknowledgement. */
  pushCallback(topic: string, payload: unknown, messageId = this.nextMessageId()): Promise<AckFrame> {
    const ack = new Promise<AckFrame>((resolve) => this.ackWaiters.set(messageId, resolve));
    this.send({
      specVersion: '1.0',
      type: 'CALLBACK',
      headers: { topic, messageId, contentType: 'application/json', time: String(Date.now()), appId: 'app', connectionId: 'c' },
      data: JSON.stringify(payload),
    });
    return ack;
  }

  pushRobotMessage(payload: unknown, messageId?: string): Promise<AckFrame> {
    return this.pushCallback(TOPIC_ROBOT, payload, messageId);
  }

  pushCardCallback(payload: unknown, messageId?: string): Promise<AckFrame> {
    return this.pushCallback(TOPIC_CARD, payload, messageId);
  }

  /** A SYSTEM frame (ping, disconnect) on the newest socket. */
  sendSystem(topic: string, data: unknown, messageId?: string): Promise<AckFrame> | void {
    const id = messageId ?? this.nextMessageId();
    const ack = topic === 'ping' ? new Promise<AckFrame>((resolve) => this.ackWaiters.set(id, resolve)) : undefined;
    this.send({ specVersion: '1.0', type: 'SYSTEM', headers: { topic, messageId: id, contentType: 'application/json', time: String(Date.now()) }, data: JSON.stringify(data) });
    return ack;
  }

  /** Sends raw text (e.g. a malformed frame). */
  sendRaw(text: string): void {
    this.newestSocket().send(text);
  }

  /** Closes every socket from the server side, as the real gateway does after a disconnect. */
  closeSockets(): void {
    for (const socket of this.sockets) socket.close(1000, 'bye');
  }

  private nextMessageId(): string {
    this.frameSequence += 1;
    return `frame-${this.frameSequence}`;
  }

  private newestSocket(): WebSocket {
    const sockets = [...this.sockets];
    const socket = sockets[sockets.length - 1];
    if (!socket) throw new Error('fake gateway: no connected client');
    return socket;
  }

  private send(frame: unknown): void {
    this.newestSocket().send(JSON.stringify(frame));
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.baseUrl);
    res.setHeader('content-type', 'application/json');
    if (req.method === 'POST' && url.pathname === '/v1.0/gateway/connections/open') {
      this.ticketPosts.push(JSON.parse(text) as GatewayPost);
      if (this.options.refuseTicketStatus) {
        res.statusCode = this.options.refuseTicketStatus;
        res.end(JSON.stringify({ code: 'refused', message: 'refused' }));
        return;
      }
      const ticket = `ticket-${this.ticketPosts.length}`;
      this.tickets.add(ticket);
      res.end(JSON.stringify({ endpoint: `ws://127.0.0.1:${this.port}/connect`, ticket }));
      return;
    }
    this.answerOpenApi(req, url, text, res);
  }

  /** Just enough of the OpenAPI for a running bot: everything succeeds. */
  private answerOpenApi(req: http.IncomingMessage, url: URL, text: string, res: http.ServerResponse): void {
    this.openApiCount += 1;
    if (this.options.recordOpenApi !== false) {
      this.openApiCalls.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body: text ? safeJson(text) : undefined });
    }
    if (url.pathname === '/v1.0/oauth2/accessToken') {
      res.end(JSON.stringify({ accessToken: 'fake-token', expireIn: 7200 }));
    } else if (url.pathname === '/v1.0/robot/oToMessages/batchSend' || url.pathname === '/v1.0/robot/groupMessages/send') {
      res.end(JSON.stringify({ processQueryKey: 'pqk' }));
    } else if (url.pathname.startsWith('/v1.0/card/instances')) {
      res.end(JSON.stringify({ success: true, result: { deliverResults: [] } }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'notFound', message: 'not faked' }));
    }
  }

  private onUpgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    this.upgradeAttempts += 1;
    const ticket = new URL(req.url ?? '/', this.baseUrl).searchParams.get('ticket') ?? '';
    // Tickets are single use, as on the real gateway.
    if (this.options.refuseUpgrade || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    this.connectionCount += 1;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (raw) => this.onAck(JSON.parse(raw.toString()) as AckFrame));
    for (const waiter of [...this.connectionWaiters]) {
      if (this.connectionCount >= waiter.count) {
        this.connectionWaiters.splice(this.connectionWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  private onAck(ack: AckFrame): void {
    this.acks.push(ack);
    const id = ack.headers?.messageId;
    const waiter = id ? this.ackWaiters.get(id) : undefined;
    if (waiter) {
      this.ackWaiters.delete(id);
      waiter(ack);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

import { PlatformApiError } from '../../src/core/errors';
import type { Card, OutboundContent, PlatformName, Recipient } from '../../src/core/messages';
import { recipientKey, type DeliveryOutcome, type DeliveryRequest, type PlatformAdapter } from '../../src/core/platform-adapter';

/** What the fake answers to one call: accept it, or fail like a real platform would. */
export type FakeAnswer = 'ok' | 'server-error' | 'rate-limited' | 'refused' | 'misconfigured';

export interface FakeCall {
  at: number;
  recipients: string[];
  content: OutboundContent;
}

export interface FakePlatformOptions {
  name?: PlatformName;
  /** Advertised to the dispatcher (PlatformAdapter.sendRateLimitPerSecond). */
  sendRateLimitPerSecond?: number;
  /**
   * The platform's own limit: at most this many calls in any rolling second (counted when a call
   * arrives); a call over it is answered "too many requests", as WeCom (45009) and DingTalk do.
   */
  enforcedLimitPerSecond?: number;
  /** Time each call takes. */
  latencyMs?: number;
  /** Files people sent, by ref, for downloadFile (a missing ref fails like a platform would). */
  files?: Record<string, Buffer>;
}

/**
 * A platform adapter for tests and benchmarks: records every call and answers as scripted —
 * HTTP 5xx, rate-limit (429), or a refusal that is not worth retrying.
 */
export function fakePlatform(options: FakePlatformOptions = {}) {
  const calls: FakeCall[] = [];
  const updates: { at: number; recipient: string; ref: string; card: Card }[] = [];
  const rejected: { at: number; answer: FakeAnswer }[] = [];
  const downloads: string[] = [];
  const script: FakeAnswer[] = [];
  let rule: (request: DeliveryRequest) => FakeAnswer = () => 'ok';
  const arrivals: number[] = [];
  const name = options.name ?? 'wecom';

  function overLimit(): boolean {
    const limit = options.enforcedLimitPerSecond;
    if (!limit) return false;
    const at = Date.now();
    while (arrivals.length && arrivals[0] <= at - 1000) arrivals.shift();
    if (arrivals.length >= limit) return true;
    arrivals.push(at);
    return false;
  }

  function answerFor(request: DeliveryRequest | null): FakeAnswer {
    if (overLimit()) return 'rate-limited';
    return script.shift() ?? (request ? rule(request) : 'ok');
  }

  function raise(answer: FakeAnswer): never {
    rejected.push({ at: Date.now(), answer });
    if (answer === 'server-error') throw new PlatformApiError(name, `${name}: HTTP 502`, { status: 502, retryable: true });
    if (answer === 'rate-limited') throw new PlatformApiError(name, `${name}: HTTP 429`, { status: 429, retryable: true });
    if (answer === 'misconfigured') throw new PlatformApiError(name, `${name}: errcode 60020 not allow to access from your ip`, { errcode: 60020, retryable: false, configuration: true });
    throw new PlatformApiError(name, `${name}: errcode 60011 no privilege`, { errcode: 60011, retryable: false });
  }

  const adapter: PlatformAdapter = {
    name,
    sendRateLimitPerSecond: options.sendRateLimitPerSecond,
    async start() {},
    async stop() {},
    async deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
      const answer = answerFor(request);
      if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
      if (answer !== 'ok') raise(answer);
      const keys = request.recipients.map(recipientKey);
      calls.push({ at: Date.now(), recipients: keys, content: request.content });
      if (request.content.kind !== 'card') return {};
      return { cardRefs: Object.fromEntries(keys.map((key) => [key, `ref-${calls.length}-${key}`])) };
    },
    async downloadFile(file: { ref: string; name: string }) {
      const data = options.files?.[file.ref];
      downloads.push(file.ref);
      if (!data) throw new PlatformApiError(name, `${name}: errcode 40007 invalid media_id`, { errcode: 40007, retryable: true });
      return { data, name: file.name };
    },
    async updateCard(recipient: Recipient, ref: string, card: Card): Promise<void> {
      const answer = answerFor(null);
      if (answer !== 'ok') raise(answer);
      updates.push({ at: Date.now(), recipient: recipientKey(recipient), ref, card });
    },
  };

  return {
    adapter,
    calls,
    updates,
    rejected,
    /** Refs downloadFile was asked for, in order. */
    downloads,
    /** The next answers, in order (then back to the rule). */
    answerNext(...answers: FakeAnswer[]) {
      script.push(...answers);
    },
    /** The answer for calls not scripted, e.g. failing one recipient for good. */
    answerWith(next: (request: DeliveryRequest) => FakeAnswer) {
      rule = next;
    },
    /** Texts (or card titles) delivered to one recipient, in order. */
    deliveredTo(userId: string): string[] {
      return calls
        .filter((c) => c.recipients.includes(`user:${userId}`))
        .map((c) => (c.content.kind === 'text' ? c.content.text : c.content.kind === 'card' ? c.content.card.title : c.content.kind));
    },
  };
}

export type FakePlatform = ReturnType<typeof fakePlatform>;

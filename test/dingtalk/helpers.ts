import type { DingtalkConfig } from '../../src/config/load-config';
import type { BotEvent } from '../../src/core/events';
import type { InboundSink } from '../../src/core/platform-adapter';

export const CLIENT_ID = 'dingclientid';
export const CLIENT_SECRET = 'ding-client-secret';
export const ROBOT_CODE = 'dingrobotcode';

export function dingtalkConfig(overrides: Partial<DingtalkConfig> = {}): DingtalkConfig {
  return {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    robotCode: ROBOT_CODE,
    mode: 'stream',
    apiBase: 'https://api.dingtalk.test',
    oapiBase: 'https://oapi.dingtalk.test',
    ...overrides,
  };
}

/**
 * An InboundSink like the core's: records events, reports duplicates by id. `hold()` makes the
 * next accepts wait until `release()`, to observe that nothing is acknowledged before the record.
 */
export class FakeSink implements InboundSink {
  readonly events: BotEvent[] = [];
  readonly ids = new Set<string>();
  failing = false;
  private held: (() => void)[] | null = null;
  private waiters: { count: number; resolve: () => void }[] = [];

  async accept(event: BotEvent): Promise<boolean> {
    if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
    if (this.failing) throw new Error('database unavailable');
    this.events.push(event);
    const fresh = !this.ids.has(event.id);
    this.ids.add(event.id);
    this.waiters = this.waiters.filter((w) => (this.events.length >= w.count ? (w.resolve(), false) : true));
    return fresh;
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const resolve of held) resolve();
  }

  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  waitForEvents(count: number): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** The SDK logs "connect success" / "Disconnecting." / socket errors on the console unconditionally. */
export function silenceSdkConsole(): void {
  beforeAll(() => {
    jest.spyOn(console, 'info').mockImplementation(() => undefined);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => {
    jest.restoreAllMocks();
  });
}

/**
 * The robot's limits are per conversation: 30 messages a minute and 1,000 an hour (beyond them
 * WeCom drops messages). Every message this instance sends to a chat is counted in rolling
 * windows; a delivery that would go over is not sent but handed back to the outbox
 * (`retryLater`, tried again a minute later without counting an attempt). A delivery of several
 * parts reserves all of them or none, so a retry never repeats parts already sent.
 * The counts live in memory, in the one instance that holds the robot connection (the lease). When
 * an instance becomes the holder it starts from what the outbox sent in the last hour (`record`),
 * so a failover or a restart does not open a fresh window.
 */
export interface ConversationLimits {
  perMinute: number;
  perHour: number;
}

export const ROBOT_LIMITS: ConversationLimits = { perMinute: 30, perHour: 1000 };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export class ConversationPacer {
  private readonly sent = new Map<string, number[]>();

  constructor(
    private readonly limits: ConversationLimits = ROBOT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves `count` messages to `chatId` now; false (nothing reserved) when that would exceed a limit. */
  tryReserve(chatId: string, count = 1): boolean {
    const at = this.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => at - t < HOUR);
    const lastMinute = times.filter((t) => at - t < MINUTE).length;
    if (lastMinute + count > this.limits.perMinute || times.length + count > this.limits.perHour) {
      this.sent.set(chatId, times);
      return false;
    }
    for (let i = 0; i < count; i++) times.push(at);
    this.sent.set(chatId, times);
    return true;
  }

  /** Counts `count` messages sent to `chatId` at `at` (by an earlier holder of the connection). */
  record(chatId: string, at: number, count = 1): void {
    const times = this.sent.get(chatId) ?? [];
    for (let i = 0; i < count; i++) times.push(at);
    times.sort((a, b) => a - b);
    this.sent.set(chatId, times);
  }

  /** Forgets every count (before counting afresh from the outbox). */
  clear(): void {
    this.sent.clear();
  }

  /** How long until `count` more messages to `chatId` fit in both windows (0: now). */
  waitMs(chatId: string, count = 1): number {
    const at = this.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => at - t < HOUR);
    const fitIn = (window: number, limit: number, inWindow: number[]) => {
      if (inWindow.length + count <= limit) return 0;
      // The oldest messages leave the window first: wait until enough of them have.
      const leaving = inWindow[inWindow.length + count - limit - 1];
      return leaving === undefined ? window : window - (at - leaving);
    };
    const lastMinute = times.filter((t) => at - t < MINUTE);
    return Math.max(0, fitIn(MINUTE, this.limits.perMinute, lastMinute), fitIn(HOUR, this.limits.perHour, times));
  }

  /** Gives back a reservation whose messages were not sent (the call failed before WeCom took them). */
  release(chatId: string, count = 1): void {
    const times = this.sent.get(chatId);
    if (times) times.splice(Math.max(0, times.length - count), count);
  }

  /** Drops conversations idle for an hour, so the map does not grow with every person ever written to. */
  prune(): void {
    const at = this.now();
    for (const [chatId, times] of this.sent) if (times.every((t) => at - t >= HOUR)) this.sent.delete(chatId);
  }
}

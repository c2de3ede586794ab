/**
 * The robot's limits are per conversation: 30 messages a minute and 1,000 an hour (beyond them
 * WeCom drops messages). Every message this instance sends to a chat is counted in rolling
 * windows; a delivery that would go over is not sent but handed back to the outbox
 * (`retryLater`, tried again a minute later without counting an attempt). A delivery of several
 * parts reserves all of them or none, so a retry never repeats parts already sent.
 * The counts live in memory: one instance holds the robot connection, and a restart starts afresh.
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

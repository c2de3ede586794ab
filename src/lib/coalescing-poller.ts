import type { Logger } from './logger';

/**
 * Runs `round` on a timer and on demand, never two at once: a call while a round runs gets that
 * round's result and asks for one more round after it (so work committed meanwhile is not missed),
 * however many calls came. Used by the outbox dispatcher and the escalation worker.
 */
export interface CoalescingPoller {
  /** Runs a round now, or joins the running one (and has one more run after it). */
  run(): Promise<number>;
  /** Polls every `intervalMs`; `beforeFirst` (e.g. taking back own leases) runs before the first round. */
  start(beforeFirst?: () => Promise<void>): void;
  /** Stops polling and waits for the running round. */
  stop(): Promise<void>;
  /** Asks for a round soon (after a commit that made work); ignored once stopped. */
  kick(): void;
  readonly stopped: boolean;
}

export function createCoalescingPoller(round: () => Promise<number>, options: { intervalMs: number; log: Logger; name: string }): CoalescingPoller {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = true;

  function run(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = round()
      .catch((error) => {
        options.log.error({ err: error }, `${options.name} round failed`);
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          void run();
        }
      });
    return running;
  }

  return {
    run,
    start(beforeFirst) {
      stopped = false;
      timer = setInterval(() => void run(), options.intervalMs);
      timer.unref();
      const first = beforeFirst ? beforeFirst().catch((error) => options.log.error({ err: error }, `${options.name}: preparing the first round failed`)) : Promise.resolve();
      void first.then(() => run());
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      while (running) await running;
    },
    kick() {
      if (!stopped) void run();
    },
    get stopped() {
      return stopped;
    },
  };
}

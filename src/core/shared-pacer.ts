import type { Transact } from '../db/data-source';
import { execute, isDuplicateKeyError } from '../db/raw-sql';
import type { Logger } from '../lib/logger';
import type { Pacer } from './outbox';

/*
 * Pacing shared by every instance on one database (MySQL), so N instances together stay under a
 * platform's limit instead of each using all of it. The instances share one schedule per bucket
 * (`rate_schedules.next_at_us`): an instance reserves a block of call times, `spacing` apart, by
 * moving the bucket's cursor forward in one short transaction, and then calls at those times. The
 * union of all instances' reservations is one evenly spaced sequence.
 *
 * A call may start up to LATENESS_MS after its reserved time (a late timer on a busy machine, the
 * call's transit); the spacing leaves room for that: calls reserved in any window of
 * 1000 + LATENESS_MS ms number at most `rate - 1`, so the platform never sees more than `rate` in a
 * rolling second. A reserved time missed by more than that is given up (never compressed into the
 * next). Clocks of the instances are assumed in step (NTP), as the outbox leases already assume.
 */

const LATENESS_MS = 15;
/** At most this share of a second is reserved ahead at once, so an idle instance holds few unused times. */
const MAX_AHEAD_SECONDS = 0.25;

export function sharedSpacingMs(ratePerSecond: number): number {
  return (1000 + LATENESS_MS) / Math.max(1, ratePerSecond - 1);
}

export interface SharedPacerOptions {
  bucket: string;
  ratePerSecond: number;
  transact: Transact;
  log?: Logger;
  clock?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export function createSharedPacer(options: SharedPacerOptions): Pacer {
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const spacingUs = Math.ceil(sharedSpacingMs(options.ratePerSecond) * 1000);
  const maxBlock = Math.max(1, Math.ceil(options.ratePerSecond * MAX_AHEAD_SECONDS));
  const slots: number[] = [];
  let waiting = 0;
  let reserving: Promise<void> | null = null;

  async function reserveBlock(count: number): Promise<number[]> {
    return options.transact(async (em) => {
      const nowUs = clock() * 1000;
      const span = count * spacingUs;
      const moved = await execute(em, 'UPDATE rate_schedules SET next_at_us = CASE WHEN next_at_us < ? THEN ? ELSE next_at_us END + ? WHERE bucket = ?', [
        nowUs,
        nowUs,
        span,
        options.bucket,
      ]);
      if (moved === 0) {
        try {
          await execute(em, 'INSERT INTO rate_schedules (bucket, next_at_us) VALUES (?, ?)', [options.bucket, nowUs + span]);
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          await execute(em, 'UPDATE rate_schedules SET next_at_us = CASE WHEN next_at_us < ? THEN ? ELSE next_at_us END + ? WHERE bucket = ?', [nowUs, nowUs, span, options.bucket]);
        }
      }
      const [row] = (await em.query('SELECT next_at_us FROM rate_schedules WHERE bucket = ?', [options.bucket])) as { next_at_us: number | string }[];
      const start = Number(row.next_at_us) - span;
      return Array.from({ length: count }, (_, i) => (start + i * spacingUs) / 1000);
    });
  }

  function reserve(): Promise<void> {
    reserving ??= (async () => {
      try {
        const count = Math.min(maxBlock, Math.max(1, waiting - slots.length));
        slots.push(...(await reserveBlock(count)));
      } finally {
        reserving = null;
      }
    })();
    return reserving;
  }

  return {
    async take() {
      waiting++;
      try {
        for (;;) {
          while (slots.length && slots[0] + LATENESS_MS < clock()) slots.shift();
          const slot = slots.shift();
          if (slot === undefined) {
            await reserve();
            continue;
          }
          const wait = slot - clock();
          if (wait > 0) await sleep(wait);
          if (clock() <= slot + LATENESS_MS) return;
        }
      } finally {
        waiting--;
      }
    },
    pause(ms) {
      // Everyone holds back after a "too many requests": the shared cursor moves past the pause.
      const untilUs = (clock() + ms) * 1000;
      slots.splice(0, slots.length);
      void options
        .transact((em) => execute(em, 'UPDATE rate_schedules SET next_at_us = CASE WHEN next_at_us < ? THEN ? ELSE next_at_us END WHERE bucket = ?', [untilUs, untilUs, options.bucket]))
        .catch((error) => options.log?.warn({ err: error, bucket: options.bucket }, 'shared pacing: pause not recorded'));
    },
  };
}

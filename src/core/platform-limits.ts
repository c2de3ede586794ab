import type { Transact } from '../db/data-source';
import type { Logger } from '../lib/logger';
import { createLocalKeyedLimit, createSharedKeyedLimit, type KeyedLimit, type KeyedLimitRule } from './keyed-limit';
import { createPacer, type Pacer } from './outbox';
import { createSharedPacer } from './shared-pacer';

/**
 * The platforms' own limits below the per-app pacing of the outbox: DingTalk's calls per second
 * per API, WeCom's messages per minute per member. On MySQL every instance shares them through the
 * database (rate_schedules), so N instances together stay under each limit; on SQLite (one
 * instance) they are kept in memory.
 */
export interface PlatformLimits {
  /** Paces calls to one bucket (one API of one app) at `ratePerSecond`. */
  pacer(bucket: string, ratePerSecond: number): Pacer;
  /** Limits messages per key (one member of one app). */
  perKey(bucket: string, rule: KeyedLimitRule): KeyedLimit;
}

export function createLocalLimits(): PlatformLimits {
  return {
    pacer: (_bucket, ratePerSecond) => createPacer(ratePerSecond),
    perKey: (_bucket, rule) => createLocalKeyedLimit(rule),
  };
}

export function createSharedLimits(deps: { transact: Transact; log?: Logger; clock?: () => number }): PlatformLimits {
  return {
    pacer: (bucket, ratePerSecond) => createSharedPacer({ bucket, ratePerSecond, transact: deps.transact, log: deps.log, clock: deps.clock }),
    perKey: (bucket, rule) => createSharedKeyedLimit({ bucket, rule, transact: deps.transact, clock: deps.clock }),
  };
}

import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Transact } from '../db/data-source';
import { isDuplicateKeyError } from '../db/raw-sql';
import { forUpdateSql } from '../db/row-locks';

/*
 * Limits per key (per member, say: WeCom takes at most 30 messages a minute from one app to one
 * member, and silently drops the rest). Each key has its own schedule, as in a generic cell rate
 * algorithm: a key's cursor moves `interval` forward per message, and a message may go while the
 * cursor is at most `burst - 1` intervals ahead of now. With interval = perMs / (count - burst),
 * no window of perMs ever holds more than `count` messages for one key, however they arrive.
 *
 * A message that may not go now is not waited for: the caller hands its recipients back to the
 * outbox, which tries them again a minute later.
 */

export interface KeyedLimitRule {
  /** At most this many messages per key in any window of `perMs`. */
  count: number;
  perMs: number;
  /** How many may go at once to a key that has had none for a while (the rest are spread out). */
  burst: number;
}

export interface KeyedLimit {
  /**
   * Reserves `cost` messages for each key that may have them now; returns those keys. The others
   * are over their limit for now and nothing is reserved for them.
   */
  admit(keys: string[], cost?: number): Promise<Set<string>>;
}

/** A small margin, so that clocks and rounding never make a window hold one message too many. */
const MARGIN = 1.01;

function timing(rule: KeyedLimitRule): { intervalMs: number; toleranceMs: number } {
  if (rule.burst < 1 || rule.burst >= rule.count) throw new Error('a keyed limit needs 1 <= burst < count');
  const intervalMs = (rule.perMs / (rule.count - rule.burst)) * MARGIN;
  return { intervalMs, toleranceMs: (rule.burst - 1) * intervalMs };
}

/** The cursor after `cost` messages from `cursor`, or null when they may not go now. */
function advance(cursor: number | undefined, now: number, cost: number, t: { intervalMs: number; toleranceMs: number }): number | null {
  const start = Math.max(cursor ?? now, now);
  if (start + (cost - 1) * t.intervalMs - now > t.toleranceMs) return null;
  return start + cost * t.intervalMs;
}

/** One instance alone: the cursors live in memory. */
export function createLocalKeyedLimit(rule: KeyedLimitRule, clock: () => number = Date.now): KeyedLimit {
  const t = timing(rule);
  const cursors = new Map<string, number>();
  return {
    async admit(keys, cost = 1) {
      const now = clock();
      // Cursors in the past say nothing more than an absent one; they are dropped now and then.
      if (cursors.size > 10_000) for (const [key, at] of cursors) if (at <= now) cursors.delete(key);
      const admitted = new Set<string>();
      for (const key of new Set(keys)) {
        const next = advance(cursors.get(key), now, cost, t);
        if (next === null) continue;
        cursors.set(key, next);
        admitted.add(key);
      }
      return admitted;
    },
  };
}

export interface SharedKeyedLimitOptions {
  /** The bucket prefix in rate_schedules, e.g. `wecom:member`. */
  bucket: string;
  rule: KeyedLimitRule;
  transact: Transact;
  clock?: () => number;
}

/** rate_schedules.bucket holds 64 characters; a longer key is hashed (still one bucket per key). */
const MAX_BUCKET = 64;
/** Keys looked up per statement. */
const KEYS_PER_STATEMENT = 500;

/**
 * Every instance on one database shares the cursors (rate_schedules, one row per key, in
 * microseconds like the shared pacer's). The rows are read FOR UPDATE on MySQL, so two instances
 * admitting the same member wait for each other rather than both using the same room.
 */
export function createSharedKeyedLimit(options: SharedKeyedLimitOptions): KeyedLimit {
  const t = timing(options.rule);
  const clock = options.clock ?? Date.now;
  const bucketOf = (key: string) => {
    const bucket = `${options.bucket}:${key}`;
    return bucket.length <= MAX_BUCKET ? bucket : `${options.bucket}:h:${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
  };

  async function admitPart(em: EntityManager, keys: string[], cost: number, now: number): Promise<string[]> {
    const buckets = keys.map(bucketOf);
    const rows = (await em.query(`SELECT bucket, next_at_us FROM rate_schedules WHERE bucket IN (${buckets.map(() => '?').join(', ')})${forUpdateSql(em)}`, buckets)) as {
      bucket: string;
      next_at_us: number | string;
    }[];
    const cursors = new Map(rows.map((r) => [r.bucket, Number(r.next_at_us) / 1000]));
    const admitted: string[] = [];
    const updates: [string, number][] = [];
    const inserts: [string, number][] = [];
    keys.forEach((key, i) => {
      const bucket = buckets[i];
      const next = advance(cursors.get(bucket), now, cost, t);
      if (next === null) return;
      admitted.push(key);
      (cursors.has(bucket) ? updates : inserts).push([bucket, Math.ceil(next * 1000)]);
    });
    if (updates.length) {
      await em.query(
        `UPDATE rate_schedules SET next_at_us = CASE bucket ${updates.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE bucket IN (${updates.map(() => '?').join(', ')})`,
        [...updates.flat(), ...updates.map(([bucket]) => bucket)],
      );
    }
    if (inserts.length) {
      await em.query(`INSERT INTO rate_schedules (bucket, next_at_us) VALUES ${inserts.map(() => '(?, ?)').join(', ')}`, inserts.flat());
    }
    return admitted;
  }

  return {
    async admit(keys, cost = 1) {
      const unique = [...new Set(keys)];
      if (unique.length === 0) return new Set();
      for (let attempt = 1; ; attempt++) {
        try {
          return await options.transact(async (em) => {
            const now = clock();
            const admitted = new Set<string>();
            for (let i = 0; i < unique.length; i += KEYS_PER_STATEMENT) {
              for (const key of await admitPart(em, unique.slice(i, i + KEYS_PER_STATEMENT), cost, now)) admitted.add(key);
            }
            return admitted;
          });
        } catch (error) {
          // Another instance wrote the first row of the same new key meanwhile: read it again.
          if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
        }
      }
    },
  };
}

import type { EntityManager } from 'typeorm';
import { execute, identifier } from '../db/raw-sql';
import { ERASED_VALUE } from '../lib/data-cipher';
import { startOfZonedDay, zonedDate } from '../lib/zoned-time';
import { appendLedger } from './ledger';
import { RETAINED_TEXTS, type RetainedText } from './retained-texts';
import { scheduleTimer, type TimerHandlerEntry } from './timers';

/*
 * Retention (RETENTION_YEARS, Art. 16): individual-level free text older than that is erased every
 * night (RETAINED_TEXTS says what and how), in the timer job's transaction, with one ledger entry of
 * the counts. The ledger holds codes and counts only, so erasing texts leaves its chain intact.
 * Each erasure is idempotent (an erased value is not counted again), so two instances, a nightly
 * job and an operator's run may overlap without harm.
 */

export const RETENTION_TIMER = 'retention.nightly';
/** 03:30 in TZ: after the 02:30 directory sync, before the working day. */
const NIGHTLY_MINUTES = 3 * 60 + 30;

export interface RetentionRun {
  years: number;
  /** Rows dated before this instant were in scope. */
  cutoff: number;
  /** Texts (or rows, for `delete`) erased per RETAINED_TEXTS name. */
  counts: Record<string, number>;
  total: number;
}

/** The same instant `years` calendar years earlier (29 February falls back to 28 February). */
export function retentionCutoff(now: number, years: number): number {
  const date = new Date(now);
  const target = new Date(now);
  target.setUTCFullYear(date.getUTCFullYear() - years);
  if (target.getUTCMonth() !== date.getUTCMonth()) target.setUTCDate(0);
  return target.getTime();
}

function scope(spec: RetainedText, column?: string): string {
  const time = spec.time.startsWith('(') ? spec.time : identifier(spec.time);
  const parts = [`${time} < ?`];
  if (spec.where) parts.push(`(${spec.where})`);
  if (column) parts.push(`${identifier(column)} IS NOT NULL`, `${identifier(column)} <> '${ERASED_VALUE}'`);
  return parts.join(' AND ');
}

async function count(em: EntityManager, spec: RetainedText, cutoff: number): Promise<number> {
  const one = async (column?: string) =>
    Number(((await em.query(`SELECT COUNT(*) AS n FROM ${identifier(spec.table)} WHERE ${scope(spec, column)}`, [cutoff])) as { n: number | string }[])[0].n);
  if (spec.erase.kind === 'delete') return one();
  let total = 0;
  for (const column of spec.erase.columns) total += await one(column);
  return total;
}

async function erase(em: EntityManager, spec: RetainedText, cutoff: number): Promise<number> {
  const table = identifier(spec.table);
  if (spec.erase.kind === 'delete') return execute(em, `DELETE FROM ${table} WHERE ${scope(spec)}`, [cutoff]);
  const value = spec.erase.kind === 'replace' ? `'${ERASED_VALUE}'` : 'NULL';
  let total = 0;
  for (const column of spec.erase.columns) total += await execute(em, `UPDATE ${table} SET ${identifier(column)} = ${value} WHERE ${scope(spec, column)}`, [cutoff]);
  return total;
}

/** Erases (or with dryRun only counts) what is older than `years`; a real run appends its ledger entry. */
export async function runRetention(em: EntityManager, options: { years: number; now: number; dryRun?: boolean }): Promise<RetentionRun> {
  const cutoff = retentionCutoff(options.now, options.years);
  const counts: Record<string, number> = {};
  for (const spec of RETAINED_TEXTS) counts[spec.name] = options.dryRun ? await count(em, spec, cutoff) : await erase(em, spec, cutoff);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (!options.dryRun) {
    await appendLedger(em, { kind: 'retention.erased', subjectType: 'retention', subjectId: String(options.years), data: { years: options.years, cutoff, counts } }, options.now);
  }
  return { years: options.years, cutoff, counts, total };
}

/** The next 03:30 in the zone after `now`. */
export function nextNightlyRun(timeZone: string, now: number): number {
  const { year, month, day } = zonedDate(timeZone, now);
  const today = startOfZonedDay(timeZone, year, month, day) + NIGHTLY_MINUTES * 60_000;
  if (today > now) return today;
  const tomorrow = zonedDate(timeZone, today + 24 * 3600_000);
  return startOfZonedDay(timeZone, tomorrow.year, tomorrow.month, tomorrow.day) + NIGHTLY_MINUTES * 60_000;
}

/** One timer per night (`retention:2026-12-02`): scheduling it at every start-up never runs a night twice. */
export async function scheduleNightlyRetention(em: EntityManager, timeZone: string, now: number): Promise<void> {
  const dueAt = nextNightlyRun(timeZone, now);
  const { year, month, day } = zonedDate(timeZone, dueAt);
  const date = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  await scheduleTimer(em, { key: `retention:${date}`, kind: RETENTION_TIMER, dueAt }, now);
}

/** The nightly job: erases, records, and schedules the next night (nothing while RETENTION_YEARS is off). */
export function retentionTimerHandlers(options: { years?: number; timeZone: string; onRun?: (run: RetentionRun) => void }): Record<string, TimerHandlerEntry> {
  return {
    [RETENTION_TIMER]: {
      run: async (em, _job, now) => {
        if (!options.years) return;
        options.onRun?.(await runRetention(em, { years: options.years, now }));
        await scheduleNightlyRetention(em, options.timeZone, now + 60_000);
      },
    },
  };
}

/** `xinsheng retention [--dry-run]` output. */
export function describeRetention(run: RetentionRun, dryRun: boolean, timeZone: string): string {
  const { year, month, day } = zonedDate(timeZone, run.cutoff);
  const head = `${dryRun ? '试运行（未删除任何内容）：将删除' : '已删除'} ${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')} 之前（超过 ${run.years} 年）的个人层面文字 ${run.total} 项${dryRun ? '' : '（已记入工作台账）'}：`;
  return [head, ...Object.entries(run.counts).map(([name, n]) => `  ${name}：${n}`)].join('\n');
}

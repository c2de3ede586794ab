import os from 'node:os';
import type { EntityManager } from 'typeorm';
import type { Transact } from '../db/data-source';
import { execute, isDuplicateKeyError } from '../db/raw-sql';
import { isEndedProcessOnThisHost } from '../lib/local-process';

/*
 * A lease on a maintenance run (key rotation, retention) in the database, so two runs — from two
 * shells, two hosts, or a nightly job and an operator — never overlap. The holder renews the lease
 * with each batch and stores its progress in the same transaction, so a run killed at any point
 * is resumed from its last committed batch. A holder that died is taken over when its lease ends,
 * or at once when it was a process on this host that no longer exists.
 */

export const DEFAULT_LEASE_MS = 60_000;

export class LockHeldError extends Error {
  constructor(
    public readonly lockName: string,
    public readonly owner: string,
    public readonly leaseUntil: number,
  ) {
    super(`${lockName}：另一个进程（${owner}）正在运行，租约到 ${new Date(leaseUntil).toISOString()}；本次未做任何改动。等它结束后再试。`);
    this.name = 'LockHeldError';
  }
}

export class LockLostError extends Error {
  constructor(lockName: string) {
    super(`${lockName}：租约已被另一个进程接管，本次停止（已提交的批次保留，可再次运行继续）`);
    this.name = 'LockLostError';
  }
}

export interface MaintenanceLock {
  /** The progress the previous holder committed (null on a fresh start). */
  readonly progress: string | null;
  /** Renews the lease and records progress in the caller's transaction; throws LockLostError if another took over. */
  renew(em: EntityManager, progress: string | null, now: number): Promise<void>;
  /** Ends the run (in the caller's transaction, with the run's last writes). */
  release(em: EntityManager): Promise<void>;
}

export function processOwner(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** True when the owner (`host:pid`) names a process on this host that has ended. */
function isDeadLocalProcess(owner: string): boolean {
  const [host, pid] = owner.split(':');
  return /^\d+$/.test(pid ?? '') && isEndedProcessOnThisHost(host, Number(pid));
}

export async function acquireMaintenanceLock(
  transact: Transact,
  name: string,
  options: { owner?: string; now: () => number; leaseMs?: number },
): Promise<MaintenanceLock> {
  const owner = options.owner ?? processOwner();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const progress = await transact(async (em) => {
    const now = options.now();
    const [held] = (await em.query('SELECT owner, lease_until, progress FROM maintenance_locks WHERE name = ?', [name])) as {
      owner: string;
      lease_until: number | string;
      progress: string | null;
    }[];
    if (!held) {
      try {
        await execute(em, 'INSERT INTO maintenance_locks (name, owner, lease_until, progress, started_at) VALUES (?, ?, ?, NULL, ?)', [name, owner, now + leaseMs, now]);
        return null;
      } catch (error) {
        if (isDuplicateKeyError(error)) throw new LockHeldError(name, 'unknown', now + leaseMs);
        throw error;
      }
    }
    const leaseUntil = Number(held.lease_until);
    if (held.owner !== owner && leaseUntil > now && !isDeadLocalProcess(held.owner)) throw new LockHeldError(name, held.owner, leaseUntil);
    const taken = await execute(em, 'UPDATE maintenance_locks SET owner = ?, lease_until = ? WHERE name = ? AND owner = ? AND lease_until = ?', [
      owner,
      now + leaseMs,
      name,
      held.owner,
      leaseUntil,
    ]);
    if (taken !== 1) throw new LockHeldError(name, 'unknown', now + leaseMs);
    return held.progress;
  });
  return {
    progress,
    async renew(em, next, now) {
      const renewed = await execute(em, 'UPDATE maintenance_locks SET lease_until = ?, progress = ? WHERE name = ? AND owner = ?', [now + leaseMs, next, name, owner]);
      if (renewed !== 1) throw new LockLostError(name);
    },
    async release(em) {
      await execute(em, 'DELETE FROM maintenance_locks WHERE name = ? AND owner = ?', [name, owner]);
    },
  };
}

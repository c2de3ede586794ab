import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Transact } from '../db/data-source';
import { execute, isDuplicateKeyError } from '../db/raw-sql';
import { isEndedProcessOnThisHost } from '../lib/local-process';

/*
 * A lease in the database on a connection only one instance may hold (the WeCom robot's long
 * connection: WeCom keeps one per robot and a second one takes it over). The claim style is the
 * maintenance locks' and the outbox's: a conditional UPDATE (or the INSERT of the first row) is the
 * claim, so of several instances trying at once exactly one gets it.
 *  - The holder renews the lease well before it ends (every `renewMs`, lease `leaseMs`); the others
 *    try to take it every `renewMs` and succeed only once it has passed (or it was released).
 *  - A holder that stops releases the lease (the next instance takes it at its next try); one that
 *    dies is replaced once its lease has passed, at once when it was a process on the same host that
 *    no longer exists (a restart after a crash does not wait out its own old lease).
 *  - A holder that could not renew until its lease ended must assume someone else has it: the
 *    caller stops using the connection then (`heldUntil`), so two holders never overlap.
 * Clocks of the instances are assumed in step (NTP), as the outbox leases already assume.
 */

/** The defaults: a dead holder is replaced within LEASE + RENEW (40 s). */
export const CONNECTION_LEASE_MS = 30_000;
export const CONNECTION_LEASE_RENEW_MS = 10_000;

export interface LeaseHolder {
  owner: string;
  leaseUntil: number;
}

export interface ConnectionLease {
  /** This instance's owner token (`<INSTANCE_ID>@<host>:<pid>:<boot>`). */
  readonly owner: string;
  readonly leaseMs: number;
  readonly renewMs: number;
  /** Takes the lease when free, expired, already ours, or left by a dead process on this host; true when held. */
  tryAcquire(): Promise<boolean>;
  /** Extends our lease; false when another instance holds it now (we lost it). */
  renew(): Promise<boolean>;
  /** Gives the lease up (on stop), so another instance takes over at its next try. */
  release(): Promise<void>;
  /** Who holds it now (null when nobody does), for /readyz. */
  holder(): Promise<LeaseHolder | null>;
}

export interface ConnectionLeaseOptions {
  transact: Transact;
  /** The lease's name, e.g. `wecom-robot:<bot id>`. */
  name: string;
  instanceId: string;
  now: () => number;
  leaseMs?: number;
  renewMs?: number;
}

const OWNER_PATTERN = /@([^@]+):(\d+):[0-9a-f]+$/;

/** True when the owner names a process on this host that has ended (its lease can go at once). */
function isDeadLocalProcess(owner: string): boolean {
  const match = OWNER_PATTERN.exec(owner);
  return match !== null && isEndedProcessOnThisHost(match[1], Number(match[2]));
}

export function createConnectionLease(options: ConnectionLeaseOptions): ConnectionLease {
  const { transact, name, now } = options;
  const leaseMs = options.leaseMs ?? CONNECTION_LEASE_MS;
  const renewMs = options.renewMs ?? CONNECTION_LEASE_RENEW_MS;
  // Unique per app object: two apps in one process (tests) or a restarted process are different holders.
  const owner = `${options.instanceId.slice(0, 100)}@${os.hostname().slice(0, 60)}:${process.pid}:${randomUUID().slice(0, 8)}`;

  async function readHolder(): Promise<LeaseHolder | null> {
    return transact(async (em) => {
      const [row] = (await em.query('SELECT owner, lease_until FROM connection_leases WHERE name = ?', [name])) as { owner: string; lease_until: number | string }[];
      return row ? { owner: row.owner, leaseUntil: Number(row.lease_until) } : null;
    });
  }

  return {
    owner,
    leaseMs,
    renewMs,

    async tryAcquire() {
      const held = await readHolder();
      const at = now();
      if (held && held.owner !== owner && held.leaseUntil >= at && !isDeadLocalProcess(held.owner)) return false;
      return transact(async (em) => {
        if (!held) {
          try {
            await execute(em, 'INSERT INTO connection_leases (name, owner, lease_until, acquired_at) VALUES (?, ?, ?, ?)', [name, owner, at + leaseMs, at]);
            return true;
          } catch (error) {
            if (isDuplicateKeyError(error)) return false;
            throw error;
          }
        }
        if (held.owner === owner) return (await execute(em, 'UPDATE connection_leases SET lease_until = ? WHERE name = ? AND owner = ?', [at + leaseMs, name, owner])) === 1;
        // Conditional on what was read: of two instances taking an expired lease at once, one wins.
        const taken = await execute(em, 'UPDATE connection_leases SET owner = ?, lease_until = ?, acquired_at = ? WHERE name = ? AND owner = ? AND lease_until = ?', [
          owner,
          at + leaseMs,
          at,
          name,
          held.owner,
          held.leaseUntil,
        ]);
        return taken === 1;
      });
    },

    async renew() {
      return transact(async (em) => (await execute(em, 'UPDATE connection_leases SET lease_until = ? WHERE name = ? AND owner = ?', [now() + leaseMs, name, owner])) === 1);
    },

    async release() {
      await transact((em) => execute(em, 'DELETE FROM connection_leases WHERE name = ? AND owner = ?', [name, owner]));
    },

    holder: readHolder,
  };
}

import os from 'node:os';

/**
 * True when `host` is this machine and process `pid` on it has ended, so a lease it held can be
 * taken at once instead of waiting for it to run out. Our own pid is never ended; a process of
 * another user (EPERM) is alive.
 */
export function isEndedProcessOnThisHost(host: string, pid: number): boolean {
  if (host !== os.hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

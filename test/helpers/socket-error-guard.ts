import net from 'node:net';

/*
 * A socket that errors with nobody listening throws, and between two tests jest reports that as
 * "Test suite failed to run: read ECONNRESET" against whichever suite is running in the worker —
 * usually one that has nothing to do with the socket. This guard records where each socket was
 * made and, when one errors with no listener, prints that origin instead of throwing, so the flake
 * names its cause. Production code is not affected: it runs only in tests.
 */
const GUARDED = Symbol.for('xinsheng.socketErrorGuard');
const ORIGIN = Symbol.for('xinsheng.socketOrigin');

type Guarded = typeof net.Socket.prototype & { [ORIGIN]?: string };

export function installSocketErrorGuard(): void {
  const proto = net.Socket.prototype as unknown as Record<symbol, unknown> & { emit: (...args: unknown[]) => boolean; connect: (...args: unknown[]) => unknown };
  if (proto[GUARDED]) return;
  proto[GUARDED] = true;
  const originalEmit = proto.emit;
  proto.emit = function (this: Guarded & net.Socket, event: unknown, ...args: unknown[]) {
    if (event === 'error' && this.listenerCount('error') === 0) {
      const error = args[0] as NodeJS.ErrnoException;
      process.stderr.write(`[socket-error-guard] unhandled socket error ${error?.code ?? error?.message} on ${this.remoteAddress ?? '?'}:${this.remotePort ?? '?'}\n${this[ORIGIN] ?? '(origin unknown)'}\n`);
      return false;
    }
    return originalEmit.call(this, event, ...args);
  };
  const originalConnect = proto.connect;
  proto.connect = function (this: Guarded, ...args: unknown[]) {
    this[ORIGIN] = new Error('socket made here').stack?.split('\n').slice(1, 12).join('\n');
    return originalConnect.apply(this, args);
  };
}

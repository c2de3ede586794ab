import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { OutboundContent } from '../../src/core/messages';

const ROOT = path.join(__dirname, '..', '..');

export interface ChildInstance {
  port: number;
  /** Resolves when the process has ended, with its exit signal (SIGKILL after a crash). */
  exited: Promise<NodeJS.Signals | number | null>;
  say(from: string, text: string): Promise<{ replies: { text?: string }[] } | null>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a harness (test/outbox/instance-harness.ts by default) in a child process and waits for it to serve. */
export async function startInstance(env: Record<string, string>, harness = path.join('test', 'outbox', 'instance-harness.ts')): Promise<ChildInstance> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', harness], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CHILD_LOG_LEVEL: process.env.CHILD_LOG ? 'warn' : 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Debugging aid: CHILD_LOG=file keeps the children's warnings and errors.
  if (process.env.CHILD_LOG) child.stderr!.on('data', (chunk: Buffer) => fs.appendFileSync(process.env.CHILD_LOG!, chunk));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    void exited.then((how) => reject(new Error(`instance exited (${how}) before serving: ${stderr.slice(-2000)}`)));
  });
  return {
    port,
    exited,
    async say(from, text) {
      // The instance may be killed while answering (a crash test): then there is no answer.
      try {
        const response = await fetch(`http://127.0.0.1:${port}/console/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ from, text }),
        });
        return (await response.json()) as { replies: { text?: string }[] };
      } catch {
        return null;
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      // A child that does not stop when asked is killed, so no test leaves a server running (jest would never exit).
      const grace = setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(grace);
    },
  };
}

export interface PlatformDelivery {
  instance: string;
  recipients: string[];
  content: OutboundContent;
}

/** The fake platform's HTTP side, on 127.0.0.1: records every delivery the instances make. */
export async function startPlatformServer(options: { latencyMs?: number } = {}) {
  const deliveries: PlatformDelivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      deliveries.push(JSON.parse(body) as PlatformDelivery);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"errcode":0}');
      }, options.latencyMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    deliveries,
    /** What one user received: texts, or the titles of cards. */
    to(userId: string): string[] {
      return deliveries
        .filter((d) => d.recipients.includes(`user:${userId}`))
        .map((d) => (d.content.kind === 'text' ? d.content.text : d.content.kind === 'card' ? d.content.card.title : d.content.kind));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

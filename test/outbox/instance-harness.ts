/**
 * One Xinsheng instance in a child process, for the crash and several-instances tests (run with
 * `node --import tsx`). Its platform adapter posts every delivery to the test's fake platform
 * server (FAKE_PLATFORM_URL). CRASH_AT=before-send|after-send kills the process with SIGKILL at
 * that point of its first delivery (once: CRASH_MARKER remembers it), to model a crash between
 * commit and send, or between the platform's answer and marking the row sent.
 */
import fs from 'node:fs';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { PlatformApiError } from '../../src/core/errors';
import { createLogger } from '../../src/lib/logger';
import { recipientKey, type PlatformAdapter } from '../../src/core/platform-adapter';

const platformUrl = process.env.FAKE_PLATFORM_URL!;
const instance = process.env.INSTANCE_ID!;

async function crashIf(point: string): Promise<void> {
  const marker = process.env.CRASH_MARKER;
  if (process.env.CRASH_AT !== point || !marker || fs.existsSync(marker)) return;
  fs.writeFileSync(marker, point);
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined);
}

/**
 * CRASH_AT=mid-fanout: at the CRASH_DELIVERY-th card delivery (default 2) the process stops starting
 * new calls, lets the calls already at the platform come back and be marked sent, then SIGKILLs
 * itself: a crash in the middle of a fan-out with nothing in flight.
 */
let deliveries = 0;
let crashing = false;
async function crashMidFanout(kind: string): Promise<void> {
  if (process.env.CRASH_AT !== 'mid-fanout') return;
  const marker = process.env.CRASH_MARKER;
  if (crashing) await new Promise(() => undefined);
  if (!marker || fs.existsSync(marker) || kind !== 'card') return;
  if (++deliveries < Number(process.env.CRASH_DELIVERY ?? 2)) return;
  crashing = true;
  fs.writeFileSync(marker, 'mid-fanout');
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 700);
  await new Promise(() => undefined);
}

const adapter: PlatformAdapter = {
  name: 'wecom',
  sendRateLimitPerSecond: 1000,
  async start() {},
  async stop() {},
  async deliver(request) {
    await crashIf('before-send');
    await crashMidFanout(request.content.kind);
    const response = await fetch(platformUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instance, recipients: request.recipients.map(recipientKey), content: request.content }),
    });
    if (!response.ok) throw new PlatformApiError('wecom', `fake platform: HTTP ${response.status}`, { status: response.status, retryable: true });
    await crashIf('after-send');
    return {};
  },
};

async function main(): Promise<void> {
  // Logs go to stderr (the test keeps them only with CHILD_LOG set).
  const app = await createApp(loadConfig(process.env), { log: createLogger(process.env.CHILD_LOG_LEVEL ?? 'silent', pino.destination(2)), adapters: [adapter] });
  const { port } = await app.start();
  process.stdout.write(`READY ${port}\n`);
  process.on('SIGTERM', () => {
    void app.stop().then(() => process.exit(0));
  });
}

main().catch((error) => {
  process.stderr.write(`harness failed: ${(error as Error).stack}\n`);
  process.exit(1);
});

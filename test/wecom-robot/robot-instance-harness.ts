/**
 * One Xinsheng instance in WECOM_MODE=robot in a child process, for the crash test (run with
 * `node --import tsx`). It connects to the test's fake robot gateway (WECOM_BOT_WS_URL). With
 * CRASH_AT=after-store it is killed with SIGKILL right after the first frame's event is stored
 * (committed) and before it is processed (once: CRASH_MARKER remembers it).
 * For the lease tests: ROBOT_LEASE_MS / ROBOT_LEASE_RENEW_MS time its connection lease, and
 * FAKE_HOSTNAME makes it look like a process on another host (whose death this host cannot see).
 */
import fs from 'node:fs';
import os from 'node:os';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { createLogger } from '../../src/lib/logger';
import type { AdapterServices, InboundSink } from '../../src/core/platform-adapter';
import { createWecomRobotAdapter } from '../../src/platforms/wecom-robot/robot-adapter';

function crashIfAsked(): void {
  const marker = process.env.CRASH_MARKER;
  if (process.env.CRASH_AT !== 'after-store' || !marker || fs.existsSync(marker)) return;
  fs.writeFileSync(marker, 'after-store');
  process.kill(process.pid, 'SIGKILL');
}

async function main(): Promise<void> {
  const fakeHostname = process.env.FAKE_HOSTNAME;
  if (fakeHostname) os.hostname = () => fakeHostname;
  const config = loadConfig(process.env);
  const log = createLogger(process.env.CHILD_LOG_LEVEL ?? 'silent', pino.destination(2));
  const timing = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const robot = createWecomRobotAdapter({ config: config.wecomRobot!, log, lease: { leaseMs: timing('ROBOT_LEASE_MS'), renewMs: timing('ROBOT_LEASE_RENEW_MS') } });
  const adapter = {
    ...robot,
    start: (sink: InboundSink, services?: AdapterServices) =>
      robot.start(
        {
          async accept(event) {
            const fresh = await sink.accept(event);
            crashIfAsked();
            return fresh;
          },
        },
        services,
      ),
  };
  const app = await createApp(config, { log, adapters: [adapter] });
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

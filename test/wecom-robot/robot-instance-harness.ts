/**
 * One Xinsheng instance in WECOM_MODE=robot in a child process, for the crash test (run with
 * `node --import tsx`). It connects to the test's fake robot gateway (WECOM_BOT_WS_URL). With
 * CRASH_AT=after-store it is killed with SIGKILL right after the first frame's event is stored
 * (committed) and before it is processed (once: CRASH_MARKER remembers it).
 */
import fs from 'node:fs';
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
  const config = loadConfig(process.env);
  const log = createLogger(process.env.CHILD_LOG_LEVEL ?? 'silent', pino.destination(2));
  const robot = createWecomRobotAdapter({ config: config.wecomRobot!, log });
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

/*
 * Runs `xinsheng key rotate` in a child process for the crash tests: ROTATE_KILL_AT=before-commit:3
 * SIGKILLs the process inside the third batch's transaction (nothing of it committed),
 * after-commit:3 just after it committed; before-commit:analysis_keywords.hash in the first batch of that table or step.
 */
import { loadConfig } from '../../src/config/load-config';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';
import { rotateKeysFromCli } from '../../src/cli/key-commands';
import type { RotationCrashPoint } from '../../src/core/key-rotation';

async function main(): Promise<void> {
  const [point, at] = (process.env.ROTATE_KILL_AT ?? ':').split(':');
  const app = await createApp(loadConfig(process.env), { log: createLogger('silent') });
  const onBatch = (reached: RotationCrashPoint, batch: number, table: string) => {
    if (reached === point && (batch === Number(at) || table === at)) process.kill(process.pid, 'SIGKILL');
  };
  try {
    console.log(await rotateKeysFromCli(app, process.argv.slice(2), { onBatch }));
  } finally {
    await app.stop();
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});

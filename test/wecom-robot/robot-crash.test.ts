import fs from 'node:fs';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { importSampleOrg } from '../helpers/org-fixture';
import { startInstance, type ChildInstance } from '../outbox/child-instance';
import { BOT_ID, BOT_SECRET, FakeRobotGateway } from './fake-robot-gateway';

jest.setTimeout(90_000);

/**
 * A real process in WECOM_MODE=robot, killed with SIGKILL after a frame arrived and was stored,
 * before it was processed: after the restart it is processed once (one reply), and the same frame
 * pushed again changes nothing.
 */
describe.each(testDatabases())('WeCom robot: a frame survives a SIGKILL between store and processing (%s)', (database) => {
  let gateway: FakeRobotGateway;
  let t: TestApp;
  const children: ChildInstance[] = [];

  beforeEach(async () => {
    gateway = await new FakeRobotGateway().start();
    t = await startTestApp({ database });
    await importSampleOrg(t);
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    await t.stop();
    await gateway.stop();
  });

  async function instance(env: Record<string, string> = {}): Promise<ChildInstance> {
    const child = await startInstance(
      {
        ...t.env,
        CONSOLE: 'off',
        INSTANCE_ID: 'robot-node',
        WECOM_MODE: 'robot',
        WECOM_BOT_ID: BOT_ID,
        WECOM_BOT_SECRET: BOT_SECRET,
        WECOM_BOT_WS_URL: gateway.wsUrl,
        CRASH_MARKER: path.join(t.dataDir, 'crash-robot'),
        ...env,
      },
      path.join('test', 'wecom-robot', 'robot-instance-harness.ts'),
    );
    children.push(child);
    return child;
  }

  const rows = (): Promise<{ id: string; status: string }[]> => t.app.dataSource.query('SELECT id, status FROM inbound_events');
  const repliesTo = (userId: string) => gateway.framesOf('aibot_send_msg').filter((f) => f.body.chatid === userId);

  it('is processed once after the restart', async () => {
    const crashing = await instance({ CRASH_AT: 'after-store' });
    await gateway.waitFor('the first connection', () => gateway.activeConnection === 1);
    gateway.pushText({ msgid: 'before-crash', userid: 'zhangsan', content: '帮助' }, 'req-crash');
    expect(await crashing.exited).toBe('SIGKILL');
    expect(fs.readFileSync(path.join(t.dataDir, 'crash-robot'), 'utf8')).toBe('after-store');
    expect(await rows()).toEqual([{ id: 'wecom:robot:msg:before-crash', status: 'received' }]);
    expect(repliesTo('zhangsan')).toHaveLength(0);

    await instance();
    await gateway.waitFor('the reply after the restart', () => repliesTo('zhangsan').length > 0, 30_000);
    expect(await rows()).toEqual([{ id: 'wecom:robot:msg:before-crash', status: 'processed' }]);

    // WeCom pushing the same frame again (same msgid) changes nothing.
    gateway.pushText({ msgid: 'before-crash', userid: 'zhangsan', content: '帮助' }, 'req-again');
    gateway.pushText({ msgid: 'marker', userid: 'lisi', content: '帮助' });
    await gateway.waitFor('the marker reply', () => repliesTo('lisi').length > 0, 30_000);
    expect(repliesTo('zhangsan')).toHaveLength(1);
    expect(repliesTo('zhangsan')[0].connection).toBe(2);
  });
});

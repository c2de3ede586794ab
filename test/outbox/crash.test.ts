import fs from 'node:fs';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { importSampleOrg } from '../helpers/org-fixture';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { EscalationEntity, EscalationEventEntity } from '../../src/db/entities/escalation.entity';
import { waitFor } from '../escalation/support';
import { startInstance, startPlatformServer, type ChildInstance } from './child-instance';

jest.setTimeout(90_000);

/**
 * Crash points, with real processes: an instance runs in a child process on a database shared
 * with the test, posts to a fake platform served by the test, and is killed with SIGKILL.
 */
describe.each(testDatabases())('delivery survives a SIGKILL (%s)', (database) => {
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startPlatformServer>>;
  const children: ChildInstance[] = [];

  beforeEach(async () => {
    t = await startTestApp({ database });
    await importSampleOrg(t);
    platform = await startPlatformServer();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    await platform.close();
    await t.stop();
  });

  async function instance(id: string, env: Record<string, string> = {}): Promise<ChildInstance> {
    const child = await startInstance({
      ...t.env,
      INSTANCE_ID: id,
      FAKE_PLATFORM_URL: platform.url,
      CRASH_MARKER: path.join(t.dataDir, `crash-${id}`),
      ESCALATION_ACK_TIMEOUT: '1h',
      ...env,
    });
    children.push(child);
    return child;
  }

  const outbound = () => t.app.dataSource.getRepository(OutboundMessageEntity).find({ where: { platform: 'wecom' }, order: { id: 'ASC' } });
  const allSent = async () => {
    const rows = await outbound();
    return rows.length > 0 && rows.every((r) => r.status === 'sent');
  };

  it('killed after the commit and before the send: the alerts go out once, from another instance after the lease', async () => {
    const crashing = await instance('node-a', { CRASH_AT: 'before-send', OUTBOX_LEASE: '2s' });
    await crashing.say('zhangsan', '即时 有同志扬言要到上级机关集体上访');
    expect(await crashing.exited).toBe('SIGKILL');
    expect(fs.readFileSync(path.join(t.dataDir, 'crash-node-a'), 'utf8')).toBe('before-send');
    expect(platform.deliveries).toEqual([]);
    expect((await outbound()).map((r) => r.status)).toEqual(['pending', 'pending']);

    await instance('node-b', { OUTBOX_LEASE: '2s' });
    await waitFor('the alerts to be marked sent', allSent);
    expect(platform.to('wang')).toEqual([expect.stringMatching(/^【即时报告】S-/)]);
    expect(platform.to('liu')).toEqual([expect.stringMatching(/^【即时报告】S-/)]);
    expect(platform.deliveries.map((d) => d.instance)).toEqual(['node-b', 'node-b']);
  });

  it('killed after the platform accepted and before marking it sent: the same instance restarts and resends — duplicates only for the calls in flight', async () => {
    const crashing = await instance('node-c', { CRASH_AT: 'after-send' });
    await crashing.say('zhangsan', '即时 有同志扬言要到上级机关集体上访');
    expect(await crashing.exited).toBe('SIGKILL');
    // The two alerts go out in parallel lanes: one or both reached the platform, neither was marked sent.
    const acceptedBeforeCrash = platform.deliveries.length;
    expect(acceptedBeforeCrash).toBeGreaterThanOrEqual(1);
    expect((await outbound()).map((r) => r.status)).toEqual(['pending', 'pending']);

    // Same INSTANCE_ID: it takes its own unfinished claims back at once (the lease here is the default 60s).
    await instance('node-c');
    await waitFor('the alerts to be marked sent', allSent);
    const received = [...platform.to('wang'), ...platform.to('liu')];
    expect(new Set(received).size).toBe(1);
    expect(platform.to('wang').length).toBeGreaterThanOrEqual(1);
    expect(platform.to('liu').length).toBeGreaterThanOrEqual(1);
    // Each row is sent once more; the duplicates are exactly the calls in flight when the process died.
    expect(received).toHaveLength(acceptedBeforeCrash + 2);
    expect(platform.deliveries.slice(acceptedBeforeCrash).map((d) => d.recipients[0]).sort()).toEqual(['user:liu', 'user:wang']);
  });

  it('killed during an escalation: the restarted instance runs each remaining step once, and none twice', async () => {
    const first = await instance('node-e', { ESCALATION_ACK_TIMEOUT: '3s' });
    await first.say('zhangsan', '即时 有同志扬言要到上级机关集体上访');
    await waitFor('the first alerts to be sent', allSent);
    await first.kill();
    const escalations = t.app.dataSource.getRepository(EscalationEntity);
    // Let the next step fall due while no instance runs.
    await waitFor('the next step to be overdue', async () => (await escalations.findOneByOrFail({ step: 1 })).nextDueAt! < Date.now() - 200);

    await instance('node-e', { ESCALATION_ACK_TIMEOUT: '3s' });
    await waitFor('the chain to end', async () => (await escalations.find())[0].state === 'exhausted');
    await waitFor('every message to be sent', allSent);
    const events = await t.app.dataSource.getRepository(EscalationEventEntity).find({ order: { id: 'ASC' } });
    expect(events.filter((e) => e.kind === 'escalated').map((e) => e.step)).toEqual([1, 2]);
    expect(platform.to('wang')).toHaveLength(2);
    expect(platform.to('zhao')).toHaveLength(1);
    expect(platform.to('liu')).toEqual([expect.stringMatching(/^【即时报告】/), expect.stringMatching(/仍无人确认/)]);
  });
});

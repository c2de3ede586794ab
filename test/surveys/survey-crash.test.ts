import path from 'node:path';
import { IsNull, Not } from 'typeorm';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import { pendingRecipientsOfCard } from '../../src/core/outbox';
import { waitFor } from '../escalation/support';
import { startInstance, startPlatformServer, type ChildInstance } from '../outbox/child-instance';

jest.setTimeout(60_000);

const STAFF = 2500;

/** A questionnaire's fan-out killed with SIGKILL half-way: after the restart every recipient has page 1 exactly once. */
describe.each(testDatabases())('questionnaire fan-out survives a SIGKILL (%s)', (database) => {
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startPlatformServer>>;
  const children: ChildInstance[] = [];

  beforeEach(async () => {
    t = await startTestApp({ database });
    await importSampleOrg(t, {
      departments: [...SAMPLE_ORG.departments, { id: 'd9', name: '业务处', parentId: 'root' }],
      people: [...SAMPLE_ORG.people, ...Array.from({ length: STAFF }, (_, i) => ({ id: `s${i}`, name: `职工${i}`, departmentIds: ['d9'] }))],
    });
    platform = await startPlatformServer();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    await platform.close();
    await t.stop();
  });

  async function instance(env: Record<string, string> = {}): Promise<ChildInstance> {
    const child = await startInstance({ ...t.env, INSTANCE_ID: 'node-s', FAKE_PLATFORM_URL: platform.url, CRASH_MARKER: path.join(t.dataDir, 'crash-s'), ...env });
    children.push(child);
    return child;
  }

  async function post(child: ChildInstance, route: string, body: object): Promise<any> {
    const response = await fetch(`http://127.0.0.1:${child.port}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return response.json();
  }

  it('sends each page-1 card to each recipient exactly once, in calls of at most 1,000', async () => {
    const crashing = await instance({ CRASH_AT: 'mid-fanout', CRASH_DELIVERY: '2' });
    const preview = (await post(crashing, '/console/messages', { from: 'liu', text: '问卷 发布 quarterly-pulse 范围 业务处 截止 3天' })).replies.find((r: any) => r.card).card;
    await post(crashing, '/console/actions', { from: 'liu', cardId: preview.cardId, action: 'confirm', values: {} });
    expect(await crashing.exited).toBe('SIGKILL');
    const cards = () => platform.deliveries.filter((d) => d.content.kind === 'card');
    expect(cards()).toHaveLength(1);
    const rows = await t.app.dataSource.getRepository(OutboundMessageEntity).findBy({ platform: 'wecom', cardId: Not(IsNull()) });
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(1000);
    // The rest waits, as rows or as a group not yet expanded into rows (a fanout row).
    const waiting = await t.app.transact((em) => pendingRecipientsOfCard(em, t.app.cipher, rows[0].cardId!));
    expect(waiting.people).toBe(STAFF - 1000);

    await instance();
    await waitFor('the fan-out to finish', async () => (await t.app.dataSource.getRepository(OutboundMessageEntity).countBy({ platform: 'wecom', status: 'pending' })) === 0);
    const received = cards().flatMap((d) => d.recipients);
    expect(received).toHaveLength(STAFF);
    expect(new Set(received).size).toBe(STAFF);
    expect(cards().every((d) => d.recipients.length <= 1000)).toBe(true);
    expect(cards()).toHaveLength(Math.ceil(STAFF / 1000));
    expect(cards().every((d) => d.content.kind === 'card' && d.content.card.shared)).toBe(true);
  });
});

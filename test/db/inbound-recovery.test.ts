import { startTestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { createLogger } from '../../src/lib/logger';
import { InboundEventEntity } from '../../src/db/entities/messaging.entity';
import type { BotEvent } from '../../src/core/events';

const event = (id: string, text: string): BotEvent => ({
  id,
  platform: 'console',
  type: 'message',
  text,
  senderId: 'zhangsan',
  conversation: { kind: 'direct', id: 'zhangsan' },
  receivedAt: Date.now(),
});

describe('inbound events survive a stop between storing and processing', () => {
  it('processes a stored event after a restart, once', async () => {
    const t = await startTestApp();
    try {
      await importSampleOrg(t);
      // Stopped: the event is stored (and would be acknowledged) but not processed, as after a crash.
      await t.app.inbound.stop();
      expect(await t.app.inbound.accept(event('e1', '上报 #谈心 同事反映职称评定不透明'))).toBe(true);
      expect((await t.app.dataSource.getRepository(InboundEventEntity).findOneByOrFail({ id: 'e1' })).status).toBe('received');

      const restarted = await createApp(loadConfig(t.env), { log: createLogger('silent') });
      try {
        expect(await restarted.inbound.recover()).toBe(1);
        expect(await restarted.inbound.recover()).toBe(0);
      } finally {
        await restarted.stop();
      }
      const inbox = await consoleClient(t).inbox('zhangsan');
      expect(inbox.filter((m) => 'card' in m)).toHaveLength(1);
      expect(await t.app.dataSource.query('SELECT COUNT(*) AS n FROM insights')).toEqual([{ n: 1 }]);
    } finally {
      await t.stop();
    }
  });

  it('tells the sender when processing fails instead of staying silent', async () => {
    const t = await startTestApp();
    try {
      await t.app.dataSource.query('DROP TABLE insights');
      await importSampleOrg(t);
      const replies = await consoleClient(t).say('zhangsan', '上报 #谈心 内容');
      expect(replies).toEqual([expect.objectContaining({ text: expect.stringContaining('处理您的消息时出错') })]);
      expect((await t.app.dataSource.getRepository(InboundEventEntity).find())[0].status).toBe('failed');
      expect((await t.request.get('/readyz')).body.checks.inbound).toEqual({ waiting: 0, failed: 1 });
    } finally {
      await t.stop();
    }
  });
});

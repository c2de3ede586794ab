import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { OutboundMessageEntity } from '../../src/db/entities/messaging.entity';
import type { BotEvent } from '../../src/core/events';

describe('帮助, 我的 and unknown input', () => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;

  beforeEach(async () => {
    t = await startTestApp();
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('lists only the commands each role may use, with an example each', async () => {
    const staff = await chat.sayText('lisi', '帮助');
    expect(staff).toContain('干部职工');
    expect(staff).toContain('我的');
    expect(staff).not.toContain('上报');
    expect(staff).not.toContain('联络员 部门');
    const office = await chat.sayText('liu', '/help');
    expect(office).toContain('上报');
    expect(office).toContain('例：联络员 办公室 张三');
    expect(office).toContain('同步通讯录');
    const liaison = await chat.sayText('zhangsan', '帮助');
    expect(liaison).toContain('上报');
    expect(liaison).not.toContain('同步通讯录');
  });

  it('answers an unknown command with a short help, never silence', async () => {
    const reply = await chat.sayText('lisi', '你好');
    expect(reply).toContain('没有「你好」这个命令');
    expect(reply).toContain('帮助');
  });

  it('answers an empty message (a picture or voice note on a platform) with a short help', async () => {
    const reply = await chat.sayText('lisi', '　 ');
    expect(reply).toContain('我只能读文字消息');
    expect(reply).not.toContain('没有「」');
  });

  it('shows one’s own recent submissions in 我的', async () => {
    expect(await chat.sayText('zhangsan', '我的')).toContain('没有提交过');
    await chat.say('zhangsan', '上报 #谈心 同事反映职称评定不透明');
    const mine = await chat.sayText('zhangsan', '/mine');
    expect(mine).toMatch(/S-\d{4}-0001/);
    expect(mine).toContain('谈心谈话/利益诉求');
    expect(mine).toContain('待定性');
    expect(await chat.sayText('lisi', '我的')).not.toContain('S-');
  });

  it('answers only 帮助 in a group chat and asks for a direct message otherwise', async () => {
    const groupEvent = (id: string, text: string): BotEvent => ({
      id,
      platform: 'console',
      type: 'message',
      text,
      senderId: 'zhangsan',
      conversation: { kind: 'group', id: 'group-1' },
      receivedAt: Date.now(),
    });
    await t.app.inbound.acceptAndProcess(groupEvent('g1', '上报 #谈心 某人情绪低落'));
    await t.app.inbound.acceptAndProcess(groupEvent('g2', '帮助'));
    const rows = await t.app.dataSource.getRepository(OutboundMessageEntity).find({ where: { recipient: 'group:group-1' }, order: { id: 'ASC' } });
    const replies = rows.map((r) => JSON.parse(t.app.cipher.decrypt(r.contentEnc)).text as string);
    expect(replies[0]).toContain('请私聊我');
    expect(replies[1]).toContain('群聊中只提供帮助');
    expect(await t.app.dataSource.query('SELECT COUNT(*) AS n FROM insights')).toEqual([{ n: 0 }]);
  });
});

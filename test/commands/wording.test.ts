import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { cardsIn, textsIn } from '../escalation/support';

/** Words that confused a new user (issue 10, item 14). */
describe.each(testDatabases())('words that do not confuse (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;

  beforeEach(async () => {
    t = await startTestApp({ database });
    chat = consoleClient(t);
    await importSampleOrg(t);
  });
  afterEach(() => t.stop());

  it('offers a liaison in 我的 only what a liaison may do (no 定性), and the office 定性 too', async () => {
    await chat.say('zhangsan', '上报 大家对新政策议论较多');
    const liaison = await chat.sayText('zhangsan', '我的');
    expect(liaison).toContain('待跟进的信息');
    expect(liaison).toContain('处置 编号 措施');
    expect(liaison).not.toContain('定性 编号');
    expect(await chat.sayText('liu', '我的')).toContain('定性：定性 编号');
  });

  it('never tells an office member to contact himself', async () => {
    const refused = await chat.sayText('liu', '解封 Y-2026-0001 需要核实');
    expect(refused).toContain('仅限');
    expect(refused).not.toContain('刘主任');
    expect(refused).toContain('王书记');
    // Someone else is still pointed at the office by name.
    expect(await chat.sayText('lisi', '汇总')).toContain('机关党委（刘主任）');
  });

  it('tells someone who never got the alert that the card is not theirs — not that it was a copy', async () => {
    await chat.say('zhangsan', '即时 某科室多名同志酝酿集体反映绩效分配问题');
    await t.app.escalations.runDue();
    const [alert] = cardsIn(await chat.inbox('wang'));
    // 王书记's card forwarded to 李四, who presses it.
    const stranger = texts(await chat.act('lisi', alert.cardId, 'ack'));
    expect(stranger).toContain('无需操作');
    expect(stranger).not.toContain('抄送');
    expect(texts(await chat.act('liu', alert.cardId, 'ack'))).toContain('您收到的是抄送');
  });

  it('tells the reporter of a 确认 without a doubled word', async () => {
    const number = /S-\d{4}-\d{4}/.exec(await chat.sayText('zhangsan', '即时 某科室多名同志酝酿集体反映绩效分配问题'))![0];
    await chat.say('wang', `确认 ${number}`);
    const told = textsIn(await chat.inbox('zhangsan')).find((text) => text.includes('已由'))!;
    expect(told).toMatch(/确认。$/);
    expect(told).not.toContain('（已确认）');
  });

  it('explains 查询 without a code, instead of "not found"', async () => {
    const reply = await chat.sayText('lisi', '查询');
    expect(reply).toContain('回执码');
    expect(reply).toContain('例如：查询 ');
    expect(reply).not.toContain('没有找到');
  });

  it('says that a second 答复 replaces the first', async () => {
    await chat.say('lisi', '意见 建议食堂延长晚餐供应时间');
    const number = /Y-\d{4}-\d{4}/.exec(texts(await chat.inbox('liu')))![0];
    expect(await chat.sayText('liu', `答复 ${number} 已协调食堂`)).not.toContain('替换');
    expect(await chat.sayText('liu', `答复 ${number} 晚餐供应延长至19:30`)).toContain('新的答复已替换原答复');
  });

  it('refuses two methods or two categories in one 上报, naming both', async () => {
    expect(await chat.sayText('zhangsan', '上报 #谈心 #座谈 大家对新政策议论较多')).toContain('「#谈心」和「#座谈」都是收集方式');
    expect(await chat.sayText('zhangsan', '上报 #政治 #诉求 大家对新政策议论较多')).toContain('「#政治」和「#诉求」都是信息类别');
    expect(await chat.sayText('zhangsan', '我的')).not.toContain('我上报的信息');
    // The same method twice is no contradiction.
    expect(await chat.sayText('zhangsan', '上报 #谈心 #谈心谈话 大家对新政策议论较多')).toMatch(/S-\d{4}-0001/);
  });

  it('lists a staff member’s own confidential 意见 in 我的, never an anonymous one, nor another person’s', async () => {
    await chat.say('lisi', '意见 建议食堂延长晚餐供应时间');
    await chat.say('lisi', '匿名意见 希望公开职称评审打分细则');
    await chat.say('qianwu', '意见 建议增设自行车棚');
    const mine = await chat.sayText('lisi', '我的');
    expect(mine).toContain('我提交的实名保密意见（最近 1 条');
    expect(mine).toContain('建议食堂延长晚餐供应时间');
    expect(mine).not.toContain('打分细则');
    expect(mine).not.toContain('自行车棚');
    expect(await chat.sayText('zhao', '我的')).not.toContain('实名保密意见');
  });
});


import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import { InsightEntity, type Insight } from '../../src/db/entities/insight.entity';
import { CycleReportVersionEntity, CycleTaskEntity } from '../../src/db/entities/cycle.entity';
import { createJobContext } from '../../src/bot/job-context';
import { openQuarterByHand } from '../../src/modules/cycles/cycle-commands';
import { flush, inboxTexts, ledgerOf, runStart, settableClock, shanghai } from './support';

/** SAMPLE_ORG plus 人事处 (d3) whose liaison is 周六; 财务处 (d2) has no liaison. */
const ORG = {
  departments: [...SAMPLE_ORG.departments, { id: 'd3', name: '人事处', parentId: 'root' }],
  people: [...SAMPLE_ORG.people, { id: 'zhou', name: '周六', departmentIds: ['d3'], roles: ['liaison'] }],
};

function insight(n: number, fields: Partial<Insight> & { createdAt: number }): Omit<Insight, 'id'> {
  return {
    number: `S-2026-${9000 + n}`,
    reporterId: 'zhangsan',
    departmentId: 'd1',
    method: 'talk',
    category: 'interests',
    kind: 'routine',
    textEnc: 'v1:unused',
    status: 'new',
    issueKind: null,
    updatedAt: fields.createdAt,
    ...fields,
  };
}

describe.each(testDatabases())('reporting cycles through the console (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  const clock = settableClock(shanghai(2026, 12, 15, 9, 0));

  beforeEach(async () => {
    clock.set(shanghai(2026, 12, 15, 9, 0));
    t = await startTestApp({ database, appOptions: { now: clock.now } });
    chat = consoleClient(t);
    await importSampleOrg(t, ORG);
    await t.app.dataSource.getRepository(InsightEntity).insert([
      insight(1, { createdAt: shanghai(2026, 10, 10) }),
      insight(2, { category: 'work', method: 'forum', status: 'classified', issueKind: 'common', createdAt: shanghai(2026, 11, 2) }),
      insight(3, { kind: 'immediate', createdAt: shanghai(2026, 11, 20) }),
      insight(4, { createdAt: shanghai(2026, 9, 30) }), // Q3: not in the draft
    ].map((row) => ({ ...row, textEnc: t.app.cipher.encrypt('近期有同志反映') })));
  });

  afterEach(async () => {
    await t.stop();
  });

  async function openQuarter(): Promise<void> {
    await runStart(t, clock.now());
    expect(await t.app.timers.runDue(['cycles.open'])).toBe(1);
    await flush(t);
  }

  it('opens the quarter at its time: task cards with the department data, the office told who has no liaison', async () => {
    await openQuarter();
    const zhangsan = await chat.inbox('zhangsan');
    const card = zhangsan.find((m) => 'card' in m && m.card.template === 'cycle-task');
    expect(card && 'card' in card && card.card.title).toBe('定期报告 R-2026Q4：请于 2026-12-25 17:00 前报送');
    const body = card && 'card' in card ? card.card.body : '';
    expect(body).toContain('本期上报信息 3 条（按类别：工作状态 1，利益诉求 2）');
    expect(body).toContain('按收集方式：谈心谈话 2，座谈交流 1');
    expect(body).toContain('已定性（第十四条）：普遍性 1');
    expect(body).toContain('即时报告 1 条');
    expect(inboxTexts(await chat.inbox('zhou')).join('\n')).toContain('R-2026Q4');
    const office = inboxTexts(await chat.inbox('liu')).join('\n');
    expect(office).toContain('以下部门未指定联络员，收不到报告任务：财务处');
    expect(office).toContain('联络员 部门 人员');
    expect(await t.app.dataSource.getRepository(CycleTaskEntity).count()).toBe(3);
    // Fan-out is bulk.
    const [{ p }] = await t.app.dataSource.query("SELECT MAX(priority) AS p FROM outbound_messages WHERE card_id IS NOT NULL");
    expect(Number(p)).toBe(2);
    // Opening by hand for the same quarter is refused.
    await expect(t.app.transact((em) => openQuarterByHand(createJobContext(em, t.app.services, clock.now()), '2026Q4'))).rejects.toThrow('已经开启');
  });

  it('a liaison fills, views, submits and replaces the report; bad input changes nothing', async () => {
    await openQuarter();
    expect(await chat.sayText('lisi', '报告 提交')).toContain('仅限');
    expect(await chat.sayText('zhangsan', '报告 结论 很好')).toContain('「报告」后请写');
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('还有未填写的部分：总体情况、主要表现、原因分析、对策建议');
    expect(await chat.sayText('zhangsan', '报告 总体情况')).toContain('请在「报告 总体情况」后写明内容');
    expect(await chat.sayText('zhangsan', '报告 总体情况 本季度思想总体稳定')).toContain('尚未填写：主要表现、原因分析、对策建议');
    await chat.say('zhangsan', '报告 主要表现 职称评定关注度高');
    await chat.say('zhangsan', '报告 原因分析 标准公开不够');
    expect(await chat.sayText('zhangsan', '报告 对策建议 无')).toContain('四部分已齐');
    const view = await chat.say('zhangsan', '报告 查看');
    expect(JSON.stringify(view)).toContain('职称评定关注度高');
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('已报送 R-2026Q4 部门报告（第 1 版）');
    await chat.say('zhangsan', '报告 总体情况 本季度思想总体稳定，个别同志有顾虑');
    expect(await chat.sayText('zhangsan', '报告 提交')).toContain('第 2 版');
    expect(await chat.sayText('zhangsan', '零报告')).toContain('不能再改为零报告');
    expect(await t.app.dataSource.getRepository(CycleReportVersionEntity).count()).toBe(2);
    expect((await ledgerOf(t, 'cycle.report.submitted')).map((e) => JSON.parse(e.data).version)).toEqual([1, 2]);
    // Encrypted at rest.
    const [row] = await t.app.dataSource.query('SELECT sections_enc FROM cycle_tasks WHERE department_id = ?', ['d1']);
    expect(row.sections_enc).not.toContain('职称');
    const versions = await t.app.dataSource.query('SELECT sections_enc FROM cycle_report_versions');
    for (const v of versions) expect(v.sections_enc).not.toContain('职称');
    // 我的 shows the task.
    expect(await chat.sayText('zhangsan', '我的')).toContain('R-2026Q4 定期报告，截止 2026-12-25 17:00：已提交第 2 版');
  });

  it('need to know: the office and leaders read a department report (a ledger entry), other people do not', async () => {
    await openQuarter();
    for (const [k, v] of [['总体情况', '稳定'], ['主要表现', '关注职称'], ['原因分析', '标准'], ['对策建议', '公开']]) await chat.say('zhangsan', `报告 ${k} ${v}`);
    await chat.say('zhangsan', '报告 提交');
    expect(await chat.sayText('qianwu', '报告 查看 R-2026Q4 办公室')).toContain('仅限');
    expect(await chat.sayText('zhou', '报告 查看 R-2026Q4 办公室')).not.toContain('关注职称');
    const before = (await ledgerOf(t, 'cycle.report.read')).length;
    expect(JSON.stringify(await chat.say('liu', '报告 查看 R-2026Q4 办公室'))).toContain('关注职称');
    expect(JSON.stringify(await chat.say('wang', '报告 查看 R-2026Q4 办公室'))).toContain('关注职称');
    const reads = await ledgerOf(t, 'cycle.report.read');
    expect(reads.length).toBe(before + 2);
    expect(reads.slice(-2).map((e) => e.actorId)).toEqual(['liu', 'wang']);
    expect(reads.every((e) => !e.data.includes('关注职称'))).toBe(true);
  });

  it('special cycles: permissions, past deadlines, several open cycles, a late report and a second 零报告', async () => {
    await openQuarter();
    expect(await chat.sayText('zhangsan', '专题 发起 新政策 截止 3天')).toContain('仅限');
    expect(await chat.sayText('liu', '专题 发起 新政策 截止 2026-12-01')).toContain('已过');
    expect(await chat.sayText('liu', '专题 发起 新政策 截止 明天')).toContain('看不懂');
    expect(await chat.sayText('liu', '专题 发起 新政策 截止 2026-12-20 范围 办公室 人事处')).toContain('已发起专题报告 R-2026-0001「新政策」，截止 2026-12-20 17:00，2 个部门收到任务');
    await flush(t);
    expect(inboxTexts(await chat.inbox('zhangsan')).join('\n')).toContain('专题报告 R-2026-0001');
    expect(await chat.sayText('zhangsan', '报告 总体情况 稳定')).toContain('多个可填报的周期：R-2026-0001、R-2026Q4');
    expect(await chat.sayText('zhou', '零报告 R-2026-1 本期无情况')).toContain('已提交 R-2026-0001 零报告');
    expect(await chat.sayText('zhou', '零报告 R-2026-0001')).toContain('已提交过零报告');
    // After the deadline: accepted, marked late.
    clock.set(shanghai(2026, 12, 22, 10));
    for (const k of ['总体情况', '主要表现', '原因分析', '对策建议']) await chat.say('zhangsan', `报告 ${k} R-2026-0001 无`);
    expect(await chat.sayText('zhangsan', '报告 提交 R-2026-0001')).toContain('已超过截止时间 2 天，记为逾期报送');
    expect(await chat.sayText('zhangsan', '报告 总体情况 R-2026-0001 补充')).toContain('没有可填报的任务');
    const progress = JSON.stringify(await chat.say('liu', '周期 进度 R-2026-0001'));
    expect(progress).toContain('已提交：1（其中逾期 1）；零报告：1');
    expect(await chat.sayText('zhangsan', '周期 列表')).toContain('仅限');
  });

  it('a liaison without an open task, and 周期 截止 moves the deadline', async () => {
    expect(await chat.sayText('zhangsan', '报告 总体情况 稳定')).toContain('没有待报送的报告任务');
    await openQuarter();
    expect(await chat.sayText('liu', '周期 截止 R-2026Q4 2026-12-01')).toContain('已过');
    expect(await chat.sayText('liu', '周期 截止 R-2026Q4 2026-12-28')).toContain('截止时间已调整为 2026-12-28 17:00');
    await flush(t);
    expect(inboxTexts(await chat.inbox('zhou')).join('\n')).toContain('截止时间调整为 2026-12-28 17:00');
    expect(await chat.sayText('liu', '周期 进度 R-2026-9')).toContain('找不到周期 R-2026-0009');
  });

  it('training and recognition are recorded (no free text in the ledger) and the person told', async () => {
    expect(await chat.sayText('zhangsan', '表扬 周六 认真')).toContain('仅限');
    expect(await chat.sayText('liu', '培训 记录 2026-11-20 信息收集与分析 张三 周六')).toContain('参加 2 人：张三、周六');
    expect(await chat.sayText('liu', '培训 记录 2026-13-01 主题')).toContain('看不懂');
    expect(await chat.sayText('wang', '表扬 张三 本季度报告及时、分析深入')).toContain('已通知本人');
    await flush(t);
    expect(inboxTexts(await chat.inbox('zhangsan')).join('\n')).toContain('本季度报告及时、分析深入');
    const entries = [...(await ledgerOf(t, 'liaison.training')), ...(await ledgerOf(t, 'liaison.commendation'))];
    expect(entries).toHaveLength(2);
    expect(entries.some((e) => e.data.includes('信息收集') || e.data.includes('分析深入'))).toBe(false);
    const supervision = JSON.stringify(await chat.say('liu', '督查 2026'));
    expect(supervision).toContain('| 办公室 | 张三 | 0 | 0 | 0 | 0 | 4 | 1 | — | — | 1 | 1 |');
  });
});

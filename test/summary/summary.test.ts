import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { InsightEntity, type Insight } from '../../src/db/entities/insight.entity';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { SuggestionEntity, type Suggestion } from '../../src/db/entities/suggestion.entity';

/**
 * 办公室 (d1) has 2 people — below MIN_GROUP_SIZE (5) — and 财务处 (d2) has 6; 人事处 (d3) has a liaison
 * but reports nothing in 2026Q3; 后勤处 (d4) has no liaison.
 */
const ORG = {
  departments: [
    { id: 'root', name: '本单位' },
    { id: 'd1', name: '办公室', parentId: 'root' },
    { id: 'd2', name: '财务处', parentId: 'root' },
    { id: 'd3', name: '人事处', parentId: 'root' },
    { id: 'd4', name: '后勤处', parentId: 'root' },
  ],
  people: [
    { id: 'wang', name: '王书记', departmentIds: ['root'], roles: ['secretary'] },
    { id: 'zhao', name: '赵处长', departmentIds: ['root'], roles: ['deputy'] },
    { id: 'liu', name: '刘主任', departmentIds: ['root'], roles: ['office'] },
    { id: 'zhangsan', name: '张三', departmentIds: ['d1'], roles: ['liaison'] },
    { id: 'lisi', name: '李四', departmentIds: ['d1'] },
    { id: 'qianwu', name: '钱五', departmentIds: ['d2'], roles: ['liaison'] },
    ...[1, 2, 3, 4, 5].map((n) => ({ id: `d2p${n}`, name: `财务${n}`, departmentIds: ['d2'] })),
    { id: 'zhou', name: '周六', departmentIds: ['d3'], roles: ['liaison'] },
    { id: 'wu', name: '吴七', departmentIds: ['d4'] },
  ],
};

/** A moment in Shanghai time (UTC+8). */
const shanghai = (month: number, day: number, hour = 10) => Date.UTC(2026, month - 1, day, hour - 8);

let sequence = 0;
function insight(departmentId: string, reporterId: string, fields: Partial<Insight> & { createdAt: number }): Omit<Insight, 'id'> {
  sequence++;
  return {
    number: `S-2026-${9000 + sequence}`, // clear of the numbers the bot gives out
    reporterId,
    departmentId,
    method: 'observation',
    category: 'work',
    kind: 'routine',
    textEnc: 'v1:unused',
    status: 'new',
    issueKind: null,
    updatedAt: fields.createdAt,
    ...fields,
  };
}

describe.each(testDatabases())('汇总 (%s)', (database) => {
  let t: TestApp;
  let chat: ReturnType<typeof consoleClient>;
  let immediateNumber: string;

  beforeEach(async () => {
    t = await startTestApp({ database });
    chat = consoleClient(t);
    await importSampleOrg(t, ORG);
    sequence = 0;
    const rows = [
      // 2026Q2: one each in 办公室 and 财务处.
      insight('d1', 'zhangsan', { category: 'interests', method: 'talk', status: 'closed', createdAt: shanghai(5, 10) }),
      insight('d2', 'qianwu', { category: 'political', method: 'observation', status: 'closed', createdAt: shanghai(6, 30, 23) }),
      // 2026Q3: three in 办公室, three in 财务处, none in 人事处. 07-01 00:30 Shanghai is still Q3.
      insight('d1', 'zhangsan', { category: 'interests', method: 'talk', createdAt: shanghai(7, 1, 0) }),
      insight('d1', 'zhangsan', { category: 'interests', method: 'talk', kind: 'immediate', createdAt: shanghai(8, 15) }),
      insight('d1', 'zhangsan', { category: 'work', method: 'forum', status: 'handled', createdAt: shanghai(9, 2) }),
      insight('d2', 'qianwu', { category: 'work', method: 'forum', status: 'classified', createdAt: shanghai(7, 20) }),
      insight('d2', 'qianwu', { category: 'work', method: 'forum', createdAt: shanghai(8, 1) }),
      insight('d2', 'qianwu', { category: 'work', method: 'forum', status: 'closed', createdAt: shanghai(9, 30, 23) }),
      // 2026Q4: outside the period.
      insight('d3', 'zhou', { category: 'wellbeing', createdAt: shanghai(10, 1, 0) }),
    ];
    await t.app.dataSource.getRepository(InsightEntity).insert(rows);
    const suggestion = (n: number, createdAt: number, status: Suggestion['status']): Omit<Suggestion, 'id'> => ({
      number: `Y-2026-000${n}`,
      kind: 'anonymous',
      receiptHash: `hash-${n}`,
      senderEnc: null,
      textEnc: 'v1:unused',
      status,
      answerEnc: null,
      answeredBy: null,
      answeredAt: null,
      unsealedBy: null,
      unsealedAt: null,
      createdAt,
    });
    await t.app.dataSource
      .getRepository(SuggestionEntity)
      .insert([suggestion(1, shanghai(6, 1), 'received'), suggestion(2, shanghai(7, 5), 'answered'), suggestion(3, shanghai(9, 9), 'received')]);
    immediateNumber = rows[3].number;
  });
  afterEach(() => t.stop());

  it('gives the office counts by category, method and department with the change since the previous quarter', async () => {
    const summary = await chat.sayText('liu', '汇总 2026Q3');
    expect(summary).toContain('思想动态汇总 · 2026年第3季度');
    expect(summary).toContain('范围：全单位');
    expect(summary).toContain('本期共 **6** 条信息，上期（2026年第2季度）2 条，+4');
    expect(summary).toContain('| 利益诉求 | 2 | 1 | +1 |');
    expect(summary).toContain('| 工作状态 | 4 | 0 | +4 |');
    expect(summary).toContain('| 政治思想 | 0 | 1 | -1 |');
    expect(summary).toContain('| 座谈交流 | 4 | 0 | +4 |');
    expect(summary).toContain('| 谈心谈话 | 2 | 1 | +1 |');
    expect(summary).toContain('| 办公室 | 3 | 1 | +2 |');
    expect(summary).toContain('| 财务处 | 3 | 1 | +2 |');
    expect(summary).not.toContain('其他部门 |');
    expect(summary).toContain('「工作状态」增加最多（+4）');
    expect(summary).toContain('意见信箱\n- 本期收到 2 条，上期 1 条，+1；目前待答复 2 条');
  });

  it('lists open immediate reports, the backlog, late departments and departments without a liaison', async () => {
    const summary = await chat.sayText('wang', '/summary 2026年第三季度');
    expect(summary).toContain(`未处置的即时报告：1 条（${immediateNumber}）`);
    // The backlog is the current state: the open insight of 2026Q4 counts too.
    expect(summary).toContain('待定性：4 条，最早一条记录于 2026-07-01');
    expect(summary).toContain('已定性、待处置：1 条');
    expect(summary).toContain('本期尚无上报的部门（已有联络员）：人事处');
    expect(summary).toContain('未指定联络员的部门：1 个（后勤处）');
    const entry = await t.app.dataSource.getRepository(LedgerEntryEntity).findOneByOrFail({ kind: 'summary.viewed' });
    expect(entry).toMatchObject({ actorId: 'wang', subjectId: '2026年第3季度' });
  });

  it('counts immediate reports whose alert no leader has acknowledged yet, until one does', async () => {
    const number = /S-\d{4}-\d{4}/.exec(await chat.sayText('zhangsan', '即时 某科室多名同志酝酿集体反映绩效分配问题'))![0];
    expect(await chat.sayText('liu', '汇总')).toContain('领导尚未确认的即时报告预警：1 条');
    expect(await chat.sayText('qianwu', '汇总')).toContain('领导尚未确认的即时报告预警：0 条');
    await chat.say('wang', `确认 ${number}`);
    expect(await chat.sayText('liu', '汇总')).toContain('领导尚未确认的即时报告预警：0 条');
  });

  it('shows a liaison only the own department, by name even when it is smaller than MIN_GROUP_SIZE', async () => {
    const small = await chat.sayText('zhangsan', '汇总 2026Q3');
    expect(small).toContain('范围：本部门');
    expect(small).toContain('本期共 **3** 条信息，上期（2026年第2季度）1 条');
    expect(small).toContain('本部门本期已有上报');
    // 办公室 has 2 people, but the liaison reported these insights: never merged away in the own view.
    expect(small).toContain('| 办公室 | 3 | 1 | +2 |');
    expect(small).not.toContain('其他部门');
    expect(small).not.toContain('财务处');
    expect(small).not.toContain('后勤处');
    expect(small).not.toContain('意见信箱');
    expect(small).toContain(`未处置的即时报告：1 条（${immediateNumber}）`);

    const large = await chat.sayText('qianwu', '汇总 2026Q3');
    expect(large).toContain('| 财务处 | 3 | 1 | +2 |');
    expect(large).not.toContain('办公室');
    expect(large).not.toContain(immediateNumber);
    expect(large).toContain('未处置的即时报告：0 条');

    const late = await chat.sayText('zhou', '汇总 2026Q3');
    expect(late).toContain('本期共 **0** 条');
    expect(late).toContain('本期尚无上报的部门（已有联络员）：人事处');
  });

  it('shows the open items of today under 待办事项 (当前状态) in the summary of a past quarter too', async () => {
    for (const text of ['某科室多名同志酝酿集体反映绩效分配问题', '有同志情绪激动扬言上访', '网络上出现涉及本单位的负面帖子']) {
      await chat.say('zhangsan', `即时 ${text}`);
    }
    const past = await chat.sayText('liu', '汇总 上季度');
    expect(past).toMatch(/### 待办事项（当前状态，截至 \d{4}-\d{2}-\d{2}，不限于本时段）/);
    // The three reports of today and the open one of 2026Q3: the heading and the figures agree.
    expect(past).toContain('未处置的即时报告：4 条');
    expect(past).toContain('领导尚未确认的即时报告预警：3 条');
    expect(await chat.sayText('liu', '汇总 2026Q2')).toContain('未处置的即时报告：4 条');
  });

  it('summarises a month, and refuses staff, unknown periods and periods not yet begun', async () => {
    const month = await chat.sayText('liu', '汇总 2026-09');
    expect(month).toContain('2026年9月');
    expect(month).toContain('本期共 **2** 条信息，上期（2026年8月）2 条，持平');
    expect(await chat.sayText('lisi', '汇总')).toContain('仅限');
    expect(await chat.sayText('liu', '汇总 明年')).toContain('不认识这个时段');
    expect(await chat.sayText('liu', '汇总 2099Q1')).toContain('还没有开始');
    expect(await t.app.dataSource.getRepository(LedgerEntryEntity).countBy({ kind: 'summary.viewed' })).toBe(1);
  });
});

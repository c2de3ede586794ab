import { createJobContext } from '../../src/bot/job-context';
import { openQuarterByHand } from '../../src/modules/cycles/cycle-commands';
import { testDatabases, type TestApp } from '../helpers/test-app';
import type { FakeRobotGateway, SentFrame } from './fake-robot-gateway';
import { markdownOf as textOf, sendsTo as sendsToChat, startRobotApp } from './helpers';

jest.setTimeout(60_000);

interface TemplateCard {
  card_type: string;
  task_id: string;
  main_title: { title: string; desc?: string };
  button_list?: { key: string; text: string }[];
  submit_button?: { key: string; text: string };
  select_list?: { question_key: string; option_list: { id: string; text: string }[] }[];
  checkbox?: { question_key: string; option_list: { id: string; text: string }[] };
}

/**
 * Every flow of the bot in WECOM_MODE=robot, end to end through the fake robot gateway: what a person
 * sends arrives as a message frame, a card click as an event frame with its selections, and what the
 * bot answers goes out as proactive messages (aibot_send_msg), except the update of a clicked card,
 * which answers the click's own frame (aibot_respond_update_msg with its req_id, within 5 s).
 */
describe.each(testDatabases())('WeCom robot mode: every flow (%s)', (database) => {
  let gateway: FakeRobotGateway;
  let t: TestApp;

  beforeEach(async () => {
    ({ gateway, t } = await startRobotApp(database));
  });

  afterEach(async () => {
    await t.stop();
    await gateway.stop();
  });

  const sendsTo = (chatId: string): SentFrame[] => sendsToChat(gateway, chatId);
  const cardOf = (frame: SentFrame): TemplateCard | undefined => frame.body.template_card as TemplateCard | undefined;
  const updatesOf = (reqId: string) => gateway.framesOf('aibot_respond_update_msg').filter((f) => f.reqId === reqId);

  /** What `userId` gets after `act`: waits until `until` holds for the frames sent to them since. */
  async function after(userId: string, act: () => unknown, until: (frames: SentFrame[]) => boolean, what: string): Promise<SentFrame[]> {
    const before = sendsTo(userId).length;
    act();
    await gateway.waitFor(what, () => until(sendsTo(userId).slice(before)));
    return sendsTo(userId).slice(before);
  }

  const withText = (needle: string) => (frames: SentFrame[]) => frames.some((f) => textOf(f).includes(needle));
  const withCard = (frames: SentFrame[]) => frames.some((f) => cardOf(f));

  function say(userId: string, content: string, until: (frames: SentFrame[]) => boolean, what = `the answer to ${content}`): Promise<SentFrame[]> {
    return after(userId, () => gateway.pushText({ userid: userId, content }), until, what);
  }

  /** A click on a card as WeCom pushes it; returns the frame's req_id (the one a card update must answer). */
  function click(userId: string, card: TemplateCard, key: string, selections: Record<string, string[]> = {}): string {
    return gateway.pushEvent({
      userid: userId,
      event: {
        eventtype: 'template_card_event',
        template_card_event: {
          card_type: card.card_type,
          event_key: key,
          task_id: card.task_id,
          selected_items: { selected_item: Object.entries(selections).map(([question_key, ids]) => ({ question_key, option_ids: { option_id: ids } })) },
        },
      },
    });
  }

  it('上报: the confirmation card; correcting it on the card replaces the clicked copy within the frame', async () => {
    const answer = await say('zhangsan', '上报 #谈心 财务科反映近期加班较多，部分同志有情绪', withCard);
    const card = cardOf(answer.find((f) => cardOf(f))!)!;
    expect(card.main_title.title).toMatch(/^已记录思想动态信息 S-2026-\d{4}/);
    expect(card).toMatchObject({ card_type: 'multiple_interaction', submit_button: { key: 'correct' } });
    expect(card.select_list!.map((s) => s.question_key)).toEqual(['method', 'category']);

    let reqId = '';
    const told = await after('zhangsan', () => (reqId = click('zhangsan', card, 'correct', { method: ['forum'], category: ['work'] })), withText('已更正'), 'the correction message');
    await gateway.waitFor('the card update', () => updatesOf(reqId).length > 0);
    const [update] = updatesOf(reqId);
    expect(update.body).toMatchObject({ userids: ['zhangsan'], template_card: { card_type: 'multiple_interaction', task_id: card.task_id } });
    const selects = (update.body.template_card as { select_list: { question_key: string; selected_id: string; disable: boolean }[] }).select_list;
    expect(selects.map((s) => [s.question_key, s.selected_id, s.disable])).toEqual([
      ['method', 'forum', true],
      ['category', 'work', true],
    ]);
    expect(told.filter((f) => textOf(f).includes('已更正'))).toHaveLength(1);
    const [row] = await t.app.dataSource.query('SELECT method, category FROM insights');
    expect(row).toEqual({ method: 'forum', category: 'work' });
  });

  it('意见: the sender gets a receipt code, the office is told without the name, and 查询 answers', async () => {
    const officeBefore = sendsTo('liu').length;
    const receipt = await say('lisi', '意见 建议食堂增加晚餐供应', withText('回执码'));
    const code = /回执码：(\S+)/.exec(receipt.map(textOf).join('\n'))![1];
    await gateway.waitFor('the office to be told', () => sendsTo('liu').length > officeBefore);
    const office = sendsTo('liu').slice(officeBefore).map((f) => JSON.stringify(f.body));
    expect(office.join('\n')).toMatch(/Y-2026-\d{4}/);
    expect(office.join('\n')).not.toContain('李四');
    const status = await say('lisi', `查询 ${code}`, (frames) => frames.length > 0);
    expect(textOf(status[0])).toContain('已收到，机关党委正在办理');
  });

  it('汇总: the office gets the summary as markdown WeCom renders (no tables)', async () => {
    await say('zhangsan', '上报 #谈心 财务科反映近期加班较多', withCard);
    const summary = await say('liu', '汇总 本季度', (frames) => frames.some((f) => textOf(f).includes('汇总')));
    const text = summary.map(textOf).join('\n');
    expect(text).toContain('汇总');
    expect(text).not.toMatch(/^\|/m);
    expect(text).toContain('办公室');
  });

  it('问卷: preview card, 确认发布, page 1 as a card; each page submitted on the card is replaced within its frame, then the next page, then 已提交', async () => {
    const preview = cardOf((await say('liu', '问卷 发布 special-topic 截止 3天', withCard)).find((f) => cardOf(f))!)!;
    expect(preview.button_list!.map((b) => b.key)).toEqual(['confirm', 'cancel']);

    let confirmReq = '';
    const published = await after('liu', () => (confirmReq = click('liu', preview, 'confirm')), withText('已发布'), 'the publication message');
    const number = /Q-\d{4}-\d{4}/.exec(published.map(textOf).join('\n'))![0];
    await gateway.waitFor('the preview card update', () => updatesOf(confirmReq).length > 0);

    // Every recipient gets page 1; 李四 answers it on the card.
    await gateway.waitFor('page 1 for 李四', () => sendsTo('lisi').some((f) => cardOf(f)));
    let page = cardOf(sendsTo('lisi').find((f) => cardOf(f))!)!;
    expect(page.main_title.title).toContain('1/');
    for (let pageNumber = 1; ; pageNumber++) {
      const selections = Object.fromEntries(
        [...(page.select_list ?? []), ...(page.checkbox ? [page.checkbox] : [])].map((s) => [s.question_key, [s.option_list[0].id]]),
      );
      let reqId = '';
      const acknowledged = await after(
        'lisi',
        () => (reqId = click('lisi', page, page.submit_button!.key, selections)),
        withText(`第 ${pageNumber}/`),
        `the acknowledgement of page ${pageNumber}`,
      );
      // The clicked copy is replaced by answering the click's frame (the 5 s rule), showing 已提交.
      await gateway.waitFor(`the update of page ${pageNumber}`, () => updatesOf(reqId).length > 0);
      expect(updatesOf(reqId)).toHaveLength(1);
      expect(updatesOf(reqId)[0].body).toMatchObject({ userids: ['lisi'], template_card: { task_id: page.task_id } });
      expect(JSON.stringify(updatesOf(reqId)[0].body)).toContain('已提交');
      const [, done, pages] = /第 (\d+)\/(\d+) 页已提交/.exec(acknowledged.map(textOf).join('\n'))!.map(Number);
      expect(done).toBe(pageNumber);
      if (done === pages) {
        // The choice pages are done: the text question follows as a message, answered by a message.
        await gateway.waitFor('the text question', () => sendsTo('lisi').some((f) => textOf(f).includes('文字题')));
        break;
      }
      // The next page arrives as a new card (a proactive message).
      const before = sendsTo('lisi').length - acknowledged.length;
      await gateway.waitFor(`page ${pageNumber + 1}`, () => sendsTo('lisi').slice(before).some((f) => cardOf(f)?.main_title.title.includes(`${pageNumber + 1}/`)));
      page = cardOf(sendsTo('lisi').slice(before).find((f) => cardOf(f)?.main_title.title.includes(`${pageNumber + 1}/`))!)!;
    }
    const thanks = await say('lisi', '希望多组织政策解读', withText('已收到您的回答'));
    expect(thanks.map(textOf).join('\n')).toContain(number);
    // Every question of both pages and the text answer: three + one choice questions (one optional, answered) and the text.
    const answers = await t.app.dataSource.query('SELECT COUNT(*) AS n FROM survey_answers');
    expect(Number(answers[0].n)).toBe(5);
    expect(await say('lisi', '我的', (frames) => frames.length > 0).then((f) => f.map(textOf).join('\n'))).not.toContain(number);
    const progress = await say('liu', `问卷 进度 ${number}`, (frames) => frames.length > 0);
    expect(progress.map((f) => JSON.stringify(f.body)).join('\n')).toContain(number);
  });

  it('专题: the liaison gets the task, fills the four parts by message and submits with 报告 提交', async () => {
    const opened = await say('liu', '专题 发起 新政策 截止 3天 范围 办公室', withText('已发起专题报告'));
    const number = /R-\d{4}-\d{4}/.exec(opened.map(textOf).join('\n'))![0];
    await gateway.waitFor('the task for the liaison', () => sendsTo('zhangsan').some((f) => JSON.stringify(f.body).includes(number)));
    const task = sendsTo('zhangsan').find((f) => JSON.stringify(f.body).includes(number))!;
    expect(JSON.stringify(task.body)).toContain('报告 提交');

    for (const [part, content] of [
      ['总体情况', '总体稳定'],
      ['主要表现', '关注新政策落实'],
      ['原因分析', '宣传解读不够'],
      ['对策建议', '加强解读'],
    ]) {
      await say('zhangsan', `报告 ${part} ${number} ${content}`, (frames) => frames.length > 0);
    }
    const submitted = await say('zhangsan', `报告 提交 ${number}`, withText('已报送'));
    expect(submitted.map(textOf).join('\n')).toContain(`已报送 ${number} 部门报告（第 1 版）`);
    const progress = await say('liu', `周期 进度 ${number}`, (frames) => frames.length > 0);
    expect(progress.map((f) => JSON.stringify(f.body)).join('\n')).toContain('已提交：1');
  });

  it('周期: the quarter opened (as `xinsheng cycle open` does) sends the liaison the task; 零报告 answers it', async () => {
    // The current quarter in the unit's time zone, due in a week (whatever day the test runs).
    const shanghaiNow = new Date(Date.now() + 8 * 3600_000);
    const quarter = `${shanghaiNow.getUTCFullYear()}Q${Math.floor(shanghaiNow.getUTCMonth() / 3) + 1}`;
    const due = new Date(Date.now() + 8 * 3600_000 + 7 * 86400_000).toISOString().slice(0, 10);
    const opened = await t.app.transact((em) => openQuarterByHand(createJobContext(em, t.app.services, Date.now()), quarter, due));
    expect(opened).toContain(`R-${quarter}`);
    t.app.outbox.kick();
    await gateway.waitFor('the quarterly task', () => sendsTo('zhangsan').some((f) => textOf(f).includes(`定期报告 R-${quarter}`)));
    expect(sendsTo('zhangsan').map(textOf).join('\n')).toContain('报告 提交');

    const nil = await say('zhangsan', `零报告 R-${quarter} 本期无情况`, withText('零报告'));
    expect(nil.map(textOf).join('\n')).toContain(`已提交 R-${quarter} 零报告`);
  });
});

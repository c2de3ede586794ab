import path from 'node:path';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importOrgFile } from '../../src/cli/org-commands';
import type { ConsoleMessage } from '../../src/platforms/console/console-routes';

/** The README's "More to try" lines, run as a newcomer would type them on the example organisation. */
describe('the README walkthrough on examples/org.json', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ serve: true });
    await importOrgFile(t.app, path.join(__dirname, '../../examples/org.json'));
  });
  afterAll(() => t.stop());

  const cardOf = (messages: ConsoleMessage[], template: string) => messages.flatMap((m) => ('card' in m && m.card.template === template ? [m.card] : []))[0];

  it('publishes a questionnaire that reaches 张三, opens a special cycle he reports on, and sends the report draft', async () => {
    const chat = consoleClient(t);
    const preview = cardOf(await chat.say('liu', '问卷 发布 quarterly-pulse 截止 3天'), 'survey-preview');
    expect(preview).toBeDefined();
    const confirm = preview.actions.find((a) => a.label === '确认发布')!;
    expect(texts(await chat.act('liu', preview.cardId, confirm.action))).toContain('已发布');
    expect(cardOf(await chat.inbox('zhangsan'), 'survey-page')).toBeDefined();

    expect(texts(await chat.say('liu', '专题 发起 职称评定改革 截止 7天'))).toContain('R-');
    expect(cardOf(await chat.inbox('zhangsan'), 'cycle-task')).toBeDefined();
    expect(texts(await chat.say('zhangsan', '报告 总体情况 本部门同志关注职称评定改革的进展'))).not.toContain('没有');
    for (const section of ['主要表现', '原因分析', '对策建议']) await chat.say('zhangsan', `报告 ${section} 无`);
    expect(texts(await chat.say('zhangsan', '报告 提交'))).toContain('已报送');

    expect(texts(await chat.say('liu', '研判'))).not.toContain('没有「');
    expect(texts(await chat.say('liu', '督查 2026'))).not.toContain('没有「');
    const draft = (await chat.say('liu', '报告 生成 本季度')).find((m) => 'file' in m);
    expect(draft && 'file' in draft && draft.file.name).toMatch(/\.docx$/);
  });
});

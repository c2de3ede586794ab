import { PassThrough } from 'node:stream';
import { startTestApp } from '../helpers/test-app';
import { importSampleOrg } from '../helpers/org-fixture';
import { runChat } from '../../src/cli/chat';

/** Feeds lines one at a time, each after the previous reply was printed. */
async function converse(baseUrl: string, user: string, lines: string[]): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk) => (printed += chunk.toString()));
  const done = runChat(baseUrl, user, { input, output });
  for (const line of lines) {
    const before = printed.length;
    input.write(`${line}\n`);
    for (let i = 0; i < 200 && printed.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  }
  input.end();
  await done;
  return printed;
}

describe('xinsheng chat --as USER', () => {
  it('chats with a running server, renders cards as text and runs a numbered action with its inputs', async () => {
    const t = await startTestApp({ serve: true });
    try {
      await importSampleOrg(t);
      const transcript = await converse(`http://127.0.0.1:${t.port}`, 'zhangsan', ['帮助', '上报 #观察 大家对新政策议论较多', '1', '3', '1']);
      expect(transcript).toContain('您的身份');
      expect(transcript).toMatch(/┌ 已记录思想动态信息 S-\d{4}-0001/);
      expect(transcript).toContain('[1] 更正方式和类别');
      expect(transcript).toContain('已更正 S-');
      expect(transcript).toContain('座谈交流');
      expect(transcript).toContain('政治思想');
    } finally {
      await t.stop();
    }
  });
});


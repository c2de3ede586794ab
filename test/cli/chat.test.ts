import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { startTestApp } from '../helpers/test-app';
import { importSampleOrg } from '../helpers/org-fixture';
import { consoleUrl, runChat } from '../../src/cli/chat';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs the real CLI (src/main.ts through tsx) in `cwd` with only PATH set, feeding `input` on stdin. */
function xinsheng(cwd: string, args: string[], input: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href, '-e', `require(${JSON.stringify(path.join(ROOT, 'src', 'main.ts'))}).runFromCommandLine(${JSON.stringify(args)})`],
      { cwd, env: { PATH: process.env.PATH ?? '' } },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
    // The child may exit before it reads its input (it cannot connect): that pipe error is expected.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** A loopback port nobody listens on (taken and released at once). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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

  it('says which address it tried and returns 1 when no server answers there', async () => {
    const port = await freePort();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk) => (printed += chunk.toString()));
    const input = new PassThrough();
    input.end();
    expect(await runChat(`http://127.0.0.1:${port}`, 'zhangsan', { input, output })).toBe(1);
    expect(printed).toContain(`无法连接 http://127.0.0.1:${port}：连接被拒绝`);
    expect(printed).toContain('--url');
  });

  it('finds the server where PORT and HOST say, as the server does', () => {
    expect(consoleUrl({})).toBe('http://127.0.0.1:3000');
    expect(consoleUrl({ PORT: '3001' })).toBe('http://127.0.0.1:3001');
    expect(consoleUrl({ PORT: '3001', HOST: '10.1.2.3' })).toBe('http://10.1.2.3:3001');
    expect(() => consoleUrl({ PORT: 'abc' })).toThrow('PORT：应为 0–65535 之间的整数（HTTP 端口），实际为 abc');
  });

  it('xinsheng chat reads PORT from .env, and exits non-zero naming the address when nothing listens', async () => {
    const t = await startTestApp({ serve: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-chat-'));
    try {
      await importSampleOrg(t);
      fs.writeFileSync(path.join(dir, '.env'), `PORT=${t.port}\n`);
      const talked = await xinsheng(dir, ['chat', '--as', 'zhangsan'], '帮助\n:q\n');
      expect(talked.output).toContain(`连接 http://127.0.0.1:${t.port}`);
      expect(talked.output).toContain('您的身份');
      expect(talked.code).toBe(0);

      const port = await freePort();
      fs.writeFileSync(path.join(dir, '.env'), `PORT=${port}\n`);
      const refused = await xinsheng(dir, ['chat', '--as', 'zhangsan'], '');
      expect(refused.code).toBe(1);
      expect(refused.output).toContain(`无法连接 http://127.0.0.1:${port}`);

      const byUrl = await xinsheng(dir, ['chat', '--as', 'zhangsan', '--url', `http://127.0.0.1:${t.port}/`], ':q\n');
      expect(byUrl.code).toBe(0);
      expect(byUrl.output).toContain(`连接 http://127.0.0.1:${t.port}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await t.stop();
    }
  }, 60_000);
});

import readline from 'node:readline/promises';
import type { Card } from '../core/messages';
import type { ConsoleMessage } from '../platforms/console/console-routes';
import { renderMessageText } from '../platforms/console/render-text';
import { loadConfig } from '../config/load-config';

interface ChatIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

async function post(url: string, body: unknown): Promise<ConsoleMessage[]> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as { replies?: ConsoleMessage[]; error?: string };
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  return json.replies ?? [];
}

/**
 * Where `xinsheng serve` listens, read from the same environment (and .env) as the server: PORT,
 * and HOST unless it is a wildcard (0.0.0.0, ::), which is reached on the loopback address.
 */
export function consoleUrl(env: Record<string, string | undefined>): string {
  const { host, port } = loadConfig(env).http;
  const reachable = ['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${port}`;
}

/** Whether a xinsheng server with the console platform answers at baseUrl; null when it does, else why not. */
async function connectionProblem(baseUrl: string): Promise<string | null> {
  try {
    const response = await fetch(`${baseUrl}/console/inbox/-`, { signal: AbortSignal.timeout(5000) });
    // Read to the end: an unread body keeps the connection busy, and its reset later would surface as an error.
    await response.arrayBuffer();
    if (response.status === 404) return '服务在运行，但没有开启本地控制台平台（CONSOLE=on，且不能在 NODE_ENV=production 下）';
    return response.ok ? null : `服务回答 HTTP ${response.status}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code === 'ECONNREFUSED' ? '连接被拒绝，该地址上没有服务在运行' : `无法连接（${cause?.code ?? (error as Error).message}）`;
  }
}

/**
 * `xinsheng chat --as USER`: a terminal chat against a running server's console platform. Text is
 * sent as a message; a number runs that action of the last card, asking for its inputs first.
 * Returns the exit code: 1 when the server cannot be reached (at the start or later), else 0.
 */
export async function runChat(baseUrl: string, user: string, io: ChatIo): Promise<number> {
  const print = (text: string) => io.output.write(`${text}\n`);
  const problem = await connectionProblem(baseUrl);
  if (problem) {
    print(`无法连接 ${baseUrl}：${problem}。\n请先启动服务（npm start 或 xinsheng serve）；服务在别的端口时，用 --url 指定地址，如 xinsheng chat --as ${user} --url http://127.0.0.1:3001（不写 --url 时按 PORT 和 .env 连接）。`);
    return 1;
  }
  let exitCode = 0;
  const rl = readline.createInterface({ input: io.input, output: io.output, terminal: false });
  let lastCard: Card | null = null;
  const show = (replies: ConsoleMessage[]) => {
    for (const reply of replies) {
      print(renderMessageText(reply));
      if ('card' in reply && reply.card.actions.length) lastCard = reply.card;
    }
  };
  print(`以 ${user} 的身份连接 ${baseUrl}。输入消息发送；输入数字执行最近一张卡片的操作；输入 :inbox 查看收件箱，:q 退出。`);
  try {
    for await (const line of rl) {
      const text = line.trim();
      if (!text) continue;
      if (text === ':q') break;
      try {
        if (text === ':inbox') {
          const response = await fetch(`${baseUrl}/console/inbox/${encodeURIComponent(user)}`);
          const { messages } = (await response.json()) as { messages: ConsoleMessage[] };
          for (const message of messages) print(renderMessageText(message));
        } else if (/^\d+$/.test(text) && lastCard) {
          show(await runAction(baseUrl, user, lastCard, Number(text), rl, print));
        } else {
          show(await post(`${baseUrl}/console/messages`, { from: user, text }));
        }
      } catch (error) {
        exitCode = 1;
        print(`出错了：${(error as Error).message}（连接 ${baseUrl}；服务是否仍在运行？）`);
      }
    }
  } finally {
    rl.close();
  }
  return exitCode;
}

async function runAction(
  baseUrl: string,
  user: string,
  card: Card,
  number: number,
  rl: readline.Interface,
  print: (text: string) => void,
): Promise<ConsoleMessage[]> {
  const action = card.actions[number - 1];
  if (!action) {
    print(`这张卡片没有第 ${number} 个操作。`);
    return [];
  }
  const values: Record<string, string | string[]> = {};
  for (const input of card.inputs) {
    const answer = (await rl.question(`${input.label}（输入序号${input.multi ? '，多个用逗号分隔' : ''}，回车保持不变）：`)).trim();
    const picked = answer
      .split(/[,，\s]+/)
      .filter(Boolean)
      .map((n) => input.options[Number(n) - 1]?.id)
      .filter((id): id is string => Boolean(id));
    if (picked.length) values[input.key] = input.multi ? picked : picked[0];
    else if (input.selected) values[input.key] = input.selected;
  }
  return post(`${baseUrl}/console/actions`, { from: user, cardId: card.cardId, action: action.action, values });
}

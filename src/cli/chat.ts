import readline from 'node:readline/promises';
import type { Card } from '../core/messages';
import type { ConsoleMessage } from '../platforms/console/console-routes';
import { renderMessageText } from '../platforms/console/render-text';

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
 * `xinsheng chat --as USER`: a terminal chat against a running server's console platform. Text is
 * sent as a message; a number runs that action of the last card, asking for its inputs first.
 */
export async function runChat(baseUrl: string, user: string, io: ChatIo): Promise<void> {
  const rl = readline.createInterface({ input: io.input, output: io.output, terminal: false });
  const print = (text: string) => io.output.write(`${text}\n`);
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
        print(`出错了：${(error as Error).message}（服务是否在运行？npm start）`);
      }
    }
  } finally {
    rl.close();
  }
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

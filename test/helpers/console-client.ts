import type { TestApp } from './test-app';
import type { ConsoleMessage } from '../../src/platforms/console/console-routes';
import type { Card } from '../../src/core/messages';

/** Drives the bot through the console platform's HTTP API, as `xinsheng chat` does. */
export function consoleClient(testApp: TestApp) {
  return {
    async say(from: string, text: string): Promise<ConsoleMessage[]> {
      const response = await testApp.request.post('/console/messages').send({ from, text }).expect(200);
      return response.body.replies;
    },
    async sayText(from: string, text: string): Promise<string> {
      const replies = await this.say(from, text);
      return replies.map((r) => ('text' in r ? r.text : 'card' in r ? r.card.title : '')).join('\n');
    },
    async act(from: string, cardId: string, action: string, values: Record<string, string | string[]> = {}): Promise<ConsoleMessage[]> {
      const response = await testApp.request.post('/console/actions').send({ from, cardId, action, values }).expect(200);
      return response.body.replies;
    },
    /** Sends a file as the console user (POST /console/files), optionally with a caption. */
    async sendFile(from: string, name: string, data: Buffer, caption?: string): Promise<ConsoleMessage[]> {
      const response = await testApp.request.post('/console/files').send({ from, name, dataBase64: data.toString('base64'), caption }).expect(200);
      return response.body.replies;
    },
    async inbox(user: string): Promise<ConsoleMessage[]> {
      const response = await testApp.request.get(`/console/inbox/${encodeURIComponent(user)}`).expect(200);
      return response.body.messages;
    },
  };
}

export function onlyCard(replies: ConsoleMessage[]): Card {
  const cards = replies.filter((r): r is Extract<ConsoleMessage, { card: Card }> => 'card' in r);
  if (cards.length !== 1) throw new Error(`expected one card, got ${JSON.stringify(replies)}`);
  return cards[0].card;
}

export function texts(replies: ConsoleMessage[]): string {
  return replies.map((r) => ('text' in r ? r.text : '')).join('\n');
}

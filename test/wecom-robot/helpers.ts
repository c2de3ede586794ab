import { createLogger } from '../../src/lib/logger';
import type { Card } from '../../src/core/messages';
import { createWecomRobotAdapter, type WecomRobotAdapter, type WecomRobotAdapterDeps } from '../../src/platforms/wecom-robot/robot-adapter';
import type { RobotConnectionStatus } from '../../src/platforms/wecom-robot/robot-connection';
import { BOT_ID, BOT_SECRET, FakeRobotGateway, type SentFrame } from './fake-robot-gateway';
import { importSampleOrg } from '../helpers/org-fixture';
import { startTestApp, type TestApp, type TestDatabase } from '../helpers/test-app';

export { FakeSink } from '../dingtalk/helpers';

export interface TestRobot {
  adapter: WecomRobotAdapter;
  statuses: RobotConnectionStatus[];
  /** Resolves at the next 'connected' status (or at once if one is pending unseen). */
  connected(): Promise<void>;
}

/** A robot adapter on the fake gateway with fast, deterministic timings (jitter off: random = 1). */
export function robotAdapter(gateway: FakeRobotGateway, overrides: Partial<WecomRobotAdapterDeps> = {}): TestRobot {
  const statuses: RobotConnectionStatus[] = [];
  let waiters: (() => void)[] = [];
  let unseen = 0;
  const adapter = createWecomRobotAdapter({
    config: { botId: BOT_ID, secret: BOT_SECRET, wsUrl: gateway.wsUrl },
    log: createLogger('silent'),
    connectWaitMs: 200,
    ...overrides,
    connection: {
      initialDelayMs: 20,
      maxDelayMs: 400,
      random: () => 1,
      takeoverHoldMs: 60_000,
      ...overrides.connection,
      onStatus: (status) => {
        statuses.push(status);
        overrides.connection?.onStatus?.(status);
        if (status.type !== 'connected') return;
        if (waiters.length === 0) unseen += 1;
        for (const wake of waiters) wake();
        waiters = [];
      },
    },
  });
  return {
    adapter,
    statuses,
    connected() {
      if (unseen > 0) {
        unseen -= 1;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

export function sampleCard(overrides: Partial<Card> = {}): Card {
  return {
    cardId: 'card-1',
    template: 'alert',
    title: '【即时报告】S-2026-0001',
    body: '有同志反映情况',
    fields: [{ label: '报告人', value: '张三' }],
    inputs: [],
    actions: [
      { action: 'ack', label: '已阅知悉' },
      { action: 'deploy', label: '部署处置' },
    ],
    state: null,
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The whole app served in WECOM_MODE=robot on a fresh fake gateway, the sample organisation imported, connected. */
export async function startRobotApp(database: TestDatabase): Promise<{ gateway: FakeRobotGateway; t: TestApp }> {
  const gateway = await new FakeRobotGateway().start();
  const t = await startTestApp({
    database,
    serve: true,
    env: { WECOM_MODE: 'robot', WECOM_BOT_ID: BOT_ID, WECOM_BOT_SECRET: BOT_SECRET, WECOM_BOT_WS_URL: gateway.wsUrl, CONSOLE: 'off' },
  });
  await importSampleOrg(t);
  await gateway.waitFor('the app to authenticate', () => gateway.activeConnection > 0);
  return { gateway, t };
}

/** What the bot sent to one chat on its own initiative (aibot_send_msg). */
export function sendsTo(gateway: FakeRobotGateway, chatId: string): SentFrame[] {
  return gateway.framesOf('aibot_send_msg').filter((f) => f.body.chatid === chatId);
}

/** A sent frame's markdown text ('' for a card). */
export function markdownOf(frame: SentFrame): string {
  return (frame.body.markdown as { content: string } | undefined)?.content ?? '';
}

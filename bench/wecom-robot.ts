/**
 * bench/wecom-robot: how fast the running server takes WeCom robot frames over the long connection.
 *
 * The fake robot gateway (test/wecom-robot/fake-robot-gateway.ts) runs here; the real app runs in a
 * child process (SQLite in a temp folder, NODE_ENV=production, WECOM_MODE=robot with
 * WECOM_BOT_WS_URL pointing at the fake gateway), so the real @wecom/aibot-node-sdk connects and
 * authenticates exactly as it would with WeCom. The gateway pushes distinct text frames ("帮助"
 * from 50 senders). The robot protocol has no acknowledgement of a pushed frame, so the server
 * reports each event the moment its durable record is committed (the inbound store's accept
 * resolved) over IPC, and the gateway side keeps at most BENCH_IN_FLIGHT frames unrecorded.
 * Latency = frame pushed → record committed, as seen by the gateway process. Processing and the
 * replies (aibot_send_msg, paced per conversation at 30/min) run in the server meanwhile.
 *
 *   npm run bench:wecom-robot          (BENCH_MESSAGES=10000 BENCH_IN_FLIGHT=100 to change the load)
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBenchApp } from './bench-app';
import { recordBenchmark } from './record';
import { BOT_ID, BOT_SECRET, FakeRobotGateway, textFrameBody } from '../test/wecom-robot/fake-robot-gateway';
import type { InboundSink, PlatformAdapter } from '../src/core/platform-adapter';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 100);
const WARMUP = 500;
const TARGET_P99_MS = 50;
const TARGET_RATIO = 0.4;

type ChildMessage = { ready: true } | { stored: string[] } | { count: number };

// ---------------------------------------------------------------------------------------------
// The server (child process)

/** The robot adapter with a sink wrapper that tells the gateway side when each record is committed. */
async function robotAdapterReporting(inner?: (sink: InboundSink) => InboundSink): Promise<PlatformAdapter> {
  const { createWecomRobotAdapter } = await import('../src/platforms/wecom-robot/robot-adapter');
  const { createLogger } = await import('../src/lib/logger');
  const robot = createWecomRobotAdapter({ config: { botId: BOT_ID, secret: BOT_SECRET, wsUrl: process.env.BENCH_WS_URL! }, log: createLogger('error') });
  // Reported at once, in the continuation of the commit, as a gateway acknowledgement would be sent.
  const report = (id: string) => process.send!({ stored: [id] });
  return {
    ...robot,
    start: (sink: InboundSink) =>
      robot.start({
        async accept(event) {
          const fresh = await (inner ? inner(sink) : sink).accept(event);
          report(event.id);
          return fresh;
        },
      }),
  };
}

async function serveApp(): Promise<void> {
  const adapter = await robotAdapterReporting();
  const { app, remove } = await createBenchApp({ WECOM_MODE: 'robot', WECOM_BOT_ID: BOT_ID, WECOM_BOT_SECRET: BOT_SECRET, WECOM_BOT_WS_URL: process.env.BENCH_WS_URL! }, { adapters: [adapter] });
  await app.start();
  process.send!({ ready: true });
  process.on('message', async (message: { cmd: string }) => {
    if (message.cmd === 'count') {
      const [row] = await app.dataSource.query('SELECT COUNT(*) AS n FROM inbound_events');
      process.send!({ count: Number(row.n) });
    } else {
      await app.stop();
      remove();
      process.exit(0);
    }
  });
}

/** The transport alone: the same adapter and SDK with a sink that only counts (no database). */
async function serveTransportOnly(): Promise<void> {
  let count = 0;
  const adapter = await robotAdapterReporting(() => ({ accept: async () => (count++, true) }));
  await adapter.start({ accept: async () => true });
  process.send!({ ready: true });
  process.on('message', async (message: { cmd: string }) => {
    if (message.cmd === 'count') process.send!({ count });
    else {
      await adapter.stop();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator (gateway side)

function startServer(wsUrl: string, role: 'app' | 'transport'): Promise<ChildProcess> {
  const child = fork(__filename, [role], {
    execArgv: ['-r', path.join(__dirname, 'register-ts.js'), ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [])],
    env: { ...process.env, BENCH_WS_URL: wsUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
    child.once('message', () => resolve(child));
  });
}

function ask(child: ChildProcess, cmd: string): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: ChildMessage) => {
      if (!('count' in message)) return;
      child.off('message', onMessage);
      resolve(message.count);
    };
    child.on('message', onMessage);
    child.send({ cmd });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.send({ cmd: 'stop' });
  });
}

/** Pushes `count` distinct frames, at most `inFlight` not yet recorded; returns push → record latencies (ms). */
async function push(gateway: FakeRobotGateway, server: ChildProcess, count: number, inFlight: number, prefix: string): Promise<number[]> {
  const waiting = new Map<string, () => void>();
  const onMessage = (message: ChildMessage) => {
    if (!('stored' in message)) return;
    for (const id of message.stored) {
      waiting.get(id)?.();
      waiting.delete(id);
    }
  };
  server.on('message', onMessage);
  const latencies: number[] = [];
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const n = next++;
      const msgid = `${prefix}-${n}`;
      const recorded = new Promise<void>((resolve) => waiting.set(`wecom:robot:msg:${msgid}`, resolve));
      const sentAt = performance.now();
      gateway.push('aibot_msg_callback', textFrameBody({ msgid, userid: `bench${n % 50}`, content: '帮助' }));
      await recorded;
      latencies.push(performance.now() - sentAt);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  server.off('message', onMessage);
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface RunResult {
  rate: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  recorded: number;
  sentByServer: number;
}

async function run(role: 'app' | 'transport'): Promise<RunResult> {
  const gateway = await new FakeRobotGateway({ record: false }).start();
  const server = await startServer(gateway.wsUrl, role);
  await gateway.waitFor('the robot to authenticate', () => gateway.activeConnection > 0, 30_000);

  await push(gateway, server, WARMUP, IN_FLIGHT, 'warm');
  const started = performance.now();
  const latencies = await push(gateway, server, MESSAGES, IN_FLIGHT, 'run');
  const seconds = (performance.now() - started) / 1000;
  const recorded = await ask(server, 'count');
  const sentByServer = gateway.sentCount;
  await stopServer(server);
  await gateway.stop();
  return { rate: MESSAGES / seconds, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies), recorded, sentByServer };
}

async function orchestrate(): Promise<void> {
  const loadBefore = os.loadavg()[0];
  const app = await run('app');
  const transport = await run('transport');
  const ratio = app.rate / transport.rate;
  const expected = WARMUP + MESSAGES;
  const row = (label: string, r: RunResult) =>
    `| ${label} | ${MESSAGES} | **${r.rate.toFixed(0)} frames/s** (${r.seconds.toFixed(2)} s) | ${r.p50.toFixed(1)} ms | **${r.p99.toFixed(1)} ms** | ${r.max.toFixed(1)} ms |`;
  const markdown = [
    '## WeCom robot ingest (`npm run bench:wecom-robot`)',
    '',
    `The real @wecom/aibot-node-sdk in the server (WECOM_MODE=robot) connects to a fake robot gateway on loopback,`,
    `which pushes ${MESSAGES} distinct text frames ("帮助" from 50 senders) with at most ${IN_FLIGHT} not yet recorded,`,
    `after ${WARMUP} warm-up frames. The robot protocol acknowledges nothing, so the server reports each event when its`,
    'durable record (inbound_events, SQLite WAL) is committed; latency is frame pushed → record committed, at the gateway.',
    'Processing and the replies (aibot_send_msg, at most 30 a minute per conversation) run in the same process meanwhile.',
    'The second row is the transport alone (same adapter and SDK, a sink that only counts).',
    '',
    '| server | frames | frame → durable record | p50 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    row('xinsheng (real app)', app),
    row('transport only', transport),
    '',
    `- p99 of the real app: **${app.p99.toFixed(1)} ms** — target < ${TARGET_P99_MS} ms: ${app.p99 < TARGET_P99_MS ? 'met' : '**not met**'}`,
    `- real app / transport alone: **${ratio.toFixed(2)}×** — target ≥ ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : '**not met**'}`,
    `- rows in inbound_events: ${app.recorded} for ${expected} frames pushed — ${app.recorded === expected ? 'every frame recorded, once' : '**MISMATCH**'}`,
    `- frames the real app sent meanwhile (replies within the conversation limits): ${app.sentByServer}`,
    `- machine load average (1 min) when the run started: ${loadBefore.toFixed(1)} on ${os.cpus().length} cores — other work shares the machine, so compare rows of one run`,
  ].join('\n');
  recordBenchmark('wecom-robot', markdown);
  if (app.recorded !== expected) process.exitCode = 1;
}

const role = process.argv[2];
(role === 'app' ? serveApp() : role === 'transport' ? serveTransportOnly() : orchestrate()).catch((error) => {
  console.error(error);
  process.exit(1);
});

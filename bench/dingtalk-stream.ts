/**
 * bench/dingtalk-stream: how fast the running server takes DingTalk robot messages over Stream.
 *
 * The fake gateway (test/dingtalk/fake-gateway.ts) runs here; the real app runs in a child process
 * (SQLite in a temp folder, NODE_ENV=production, DINGTALK_API_BASE pointing at the fake gateway),
 * so the real dingtalk-stream SDK connects to it exactly as it would to DingTalk. The gateway pushes
 * distinct robot messages ("帮助" from 50 senders) with a bounded number in flight, as a gateway
 * does, and measures each acknowledgement's latency from its side. Frame → durable record is
 * measured by counting inbound_events rows in the server. The server's peak RSS is its VmHWM.
 * Processing and the replies (batchSend to the fake gateway, paced at 19/s) run meanwhile.
 *
 *   npm run bench:dingtalk          (BENCH_MESSAGES=10000 BENCH_IN_FLIGHT=100 to change the load)
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBenchApp } from './bench-app';
import { recordBenchmark } from './record';
import { FakeGateway, robotMessagePayload } from '../test/dingtalk/fake-gateway';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 100);
const WARMUP = 500;
const BURST = Math.max(100, Math.round(1000 * Number(process.env.BENCH_SCALE ?? 1)));
const TARGET_BURST_P99_MS = 200;
const BURST_RUNS = 3;
const TARGET_P99_MS = 50;

type ChildMessage = { ready: true } | { count: number } | { rssKb: number; peakKb: number };

// ---------------------------------------------------------------------------------------------
// The server (child process)

async function serveApp(): Promise<void> {
  const { app, remove } = await createBenchApp({
    DINGTALK_CLIENT_ID: 'dingbench',
    DINGTALK_CLIENT_SECRET: 'bench-secret',
    DINGTALK_API_BASE: process.env.BENCH_GATEWAY!,
    DINGTALK_OAPI_BASE: process.env.BENCH_GATEWAY!,
  });
  // The SDK announces every connection on the console; not part of the measurement.
  console.info = () => undefined;
  await app.start();
  process.send!({ ready: true });
  process.on('message', async (message: { cmd: string }) => {
    if (message.cmd === 'count') {
      const [row] = await app.dataSource.query('SELECT COUNT(*) AS n FROM inbound_events');
      process.send!({ count: Number(row.n) });
    } else if (message.cmd === 'rss') {
      process.send!({ rssKb: Math.round(process.memoryUsage().rss / 1024), peakKb: peakRssKb() });
    } else {
      await app.stop();
      remove();
      process.exit(0);
    }
  });
}

/**
 * The transport alone, for comparison: the same adapter and SDK, with a sink that only counts
 * (no database, no processing) — what the Stream path costs before the inbound store.
 */
async function serveTransportOnly(): Promise<void> {
  const { createDingtalkAdapter } = await import('../src/platforms/dingtalk/dingtalk-adapter');
  const { createLogger } = await import('../src/lib/logger');
  console.info = () => undefined;
  let count = 0;
  const adapter = createDingtalkAdapter({
    config: { clientId: 'dingbench', clientSecret: 'bench-secret', robotCode: 'dingbench', mode: 'stream', apiBase: process.env.BENCH_GATEWAY!, oapiBase: process.env.BENCH_GATEWAY! },
    log: createLogger('error'),
  });
  await adapter.start({ accept: async () => (count++, true) });
  process.send!({ ready: true });
  process.on('message', async (message: { cmd: string }) => {
    if (message.cmd === 'count') process.send!({ count });
    else if (message.cmd === 'rss') process.send!({ rssKb: Math.round(process.memoryUsage().rss / 1024), peakKb: peakRssKb() });
    else {
      await adapter.stop();
      process.exit(0);
    }
  });
}

/** The process's peak resident set (VmHWM), in kB. */
function peakRssKb(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) : Math.round(process.memoryUsage().rss / 1024);
}

// ---------------------------------------------------------------------------------------------
// Orchestrator (gateway side)

function startServer(gatewayBase: string, role: 'app' | 'transport'): Promise<ChildProcess> {
  const child = fork(__filename, [role], {
    execArgv: ['-r', path.join(__dirname, 'register-ts.js'), ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [])],
    env: { ...process.env, BENCH_GATEWAY: gatewayBase },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
    child.once('message', () => resolve(child));
  });
}

function ask<T extends ChildMessage>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (message: T) => resolve(message));
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

/** Pushes `count` distinct messages, at most `inFlight` unacknowledged; returns ack latencies (ms). */
async function push(gateway: FakeGateway, count: number, inFlight: number, prefix: string): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const n = next++;
      const payload = robotMessagePayload({ msgId: `${prefix}-${n}`, text: '帮助', senderStaffId: `bench${n % 50}` });
      const sentAt = performance.now();
      await gateway.pushRobotMessage(payload, `${prefix}-frame-${n}`);
      latencies.push(performance.now() - sentAt);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  return latencies;
}

/** Polls the server's inbound_events count until it reaches `target`; returns when it did. */
async function waitForRows(child: ChildProcess, target: number): Promise<number> {
  for (;;) {
    const { count } = await ask<{ count: number }>(child, 'count');
    if (count >= target) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface RunResult {
  rate: number;
  seconds: number;
  ackSeconds: number;
  p50: number;
  p99: number;
  max: number;
  idleKb: number;
  peakKb: number;
  recorded: number;
  openApiCalls: number;
}

/** One server process against a fresh gateway: warm-up, then the measured run. */
async function run(role: 'app' | 'transport', messages = MESSAGES, inFlight = IN_FLIGHT): Promise<RunResult> {
  const gateway = await new FakeGateway({ recordOpenApi: false }).start();
  const server = await startServer(gateway.baseUrl, role);
  await gateway.waitForConnections(1);
  const idle = await ask<{ rssKb: number; peakKb: number }>(server, 'rss');

  await push(gateway, WARMUP, IN_FLIGHT, 'warm');
  await waitForRows(server, WARMUP);

  const started = performance.now();
  const latencies = await push(gateway, messages, inFlight, 'run');
  const allAcked = performance.now();
  const allRecorded = await waitForRows(server, WARMUP + messages);
  const { count } = await ask<{ count: number }>(server, 'count');
  const memory = await ask<{ rssKb: number; peakKb: number }>(server, 'rss');
  const openApiCalls = gateway.openApiCount;
  await stopServer(server);
  await gateway.stop();

  const seconds = (allRecorded - started) / 1000;
  return {
    rate: messages / seconds,
    seconds,
    ackSeconds: (allAcked - started) / 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    idleKb: idle.rssKb,
    peakKb: memory.peakKb,
    recorded: count,
    openApiCalls,
  };
}

function formatLoad(load: number[]): string {
  return load.map((l) => l.toFixed(1)).join(' / ');
}

async function orchestrate(): Promise<void> {
  const loadAtStart = os.loadavg();
  const app = await run('app');
  const transport = await run('transport');
  // A questionnaire's answers arriving together: every frame pushed at once, no flow control. One
  // burst's p99 is its slowest few frames, which a busy moment on the shared machine moves a lot:
  // three bursts, each on a fresh server, all reported.
  const bursts: RunResult[] = [];
  for (let i = 0; i < BURST_RUNS; i++) bursts.push(await run('app', BURST, BURST));
  const burstsMet = bursts.filter((r) => r.p99 < TARGET_BURST_P99_MS).length;

  const mb = (kb: number) => (kb / 1024).toFixed(0);
  const row = (label: string, r: RunResult, messages = MESSAGES) =>
    `| ${label} | ${messages} | **${r.rate.toFixed(0)} msg/s** (${r.seconds.toFixed(2)} s) | ${r.p50.toFixed(1)} ms | **${r.p99.toFixed(1)} ms** | ${r.max.toFixed(1)} ms | ${mb(r.idleKb)} MB | **${mb(r.peakKb)} MB** |`;
  const expected = WARMUP + MESSAGES;
  const markdown = [
    '## DingTalk Stream ingest (`npm run bench:dingtalk`)',
    '',
    `The real dingtalk-stream SDK in the server connects to a fake gateway on loopback, which pushes ${MESSAGES} distinct`,
    `robot messages ("帮助" from 50 senders) with at most ${IN_FLIGHT} unacknowledged, after ${WARMUP} warm-up messages.`,
    'The server stores each one (inbound_events, SQLite WAL) before acknowledging it; processing and the replies',
    '(batchSend to the fake gateway, paced under 20 calls/s) run in the same server process meanwhile.',
    'The second row is the transport alone (same adapter and SDK, a sink that only counts) for comparison.',
    '',
    '| server | messages | frame → durable record | ack p50 | ack p99 | ack max | RSS idle | peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row('xinsheng (real app)', app),
    row('transport only', transport),
    ...bursts.map((r, i) => row(`xinsheng, burst ${i + 1}: ${BURST} frames at once`, r, BURST)),
    '',
    `- ack latency p99 of the real app, measured at the gateway (frame sent → acknowledgement received): **${app.p99.toFixed(1)} ms** — target < ${TARGET_P99_MS} ms: ${app.p99 < TARGET_P99_MS ? 'met' : '**not met**'}`,
    `- burst of ${BURST} frames pushed at once (no flow control): ack p99 ${bursts.map((r) => `**${r.p99.toFixed(1)} ms**`).join(', ')} — target < ${TARGET_BURST_P99_MS} ms: ` +
      `${burstsMet === BURST_RUNS ? 'met' : burstsMet === 0 ? '**not met**' : `**met in ${burstsMet} of ${BURST_RUNS} runs only**`}; rows ${bursts.map((r) => r.recorded).join(', ')} for ${WARMUP + BURST} each`,
    '- during a burst (20 or more events stored within 100 ms) processing waits, at most 200 ms before each next event, so storing and acknowledging run ahead of it',
    `- load average (1 / 5 / 15 min) at the start: ${formatLoad(loadAtStart)}, at the end: ${formatLoad(os.loadavg())} (2 cores, shared with other work)`,
    `- rows in inbound_events: ${app.recorded} for ${expected} messages pushed — ${app.recorded === expected ? 'every acknowledged message is recorded, once' : '**MISMATCH**'}`,
    `- the real app acknowledged everything in ${app.ackSeconds.toFixed(2)} s; OpenAPI calls (token, batchSend replies) answered by the fake gateway meanwhile: ${app.openApiCalls}`,
  ].join('\n');
  recordBenchmark('dingtalk-stream', markdown);
  if (app.recorded !== expected || bursts.some((r) => r.recorded !== WARMUP + BURST)) process.exitCode = 1;
}

const role = process.argv[2];
(role === 'app' ? serveApp() : role === 'transport' ? serveTransportOnly() : orchestrate()).catch((error) => {
  console.error(error);
  process.exit(1);
});

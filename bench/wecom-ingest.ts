/**
 * bench/wecom-ingest: how fast the running server takes WeCom callbacks, against a bare Koa
 * handler that only answers 200, measured in one run on loopback with autocannon (100 connections).
 *
 * Every request is a distinct, correctly signed and encrypted text callback (its own MsgId), so the
 * server verifies, decrypts, parses and durably records each one before answering. Afterwards the
 * inbound_events rows are counted: they must equal the number of 200 answers.
 *
 * Each party runs in its own process: the bare Koa handler, the real app (SQLite in a temp folder,
 * processing on, replies going to a fake WeCom API in a third process), and autocannon here.
 *
 *   npm run bench:wecom            (BENCH_REQUESTS=20000 BENCH_BARE_REQUESTS=100000 to change the load;
 *                                   BENCH_PROF=<dir> writes a CPU profile of the server)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { recordBenchmark } from './record';

const CONNECTIONS = 100;
const WARMUP_REQUESTS = 2_000;
const APP_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const BARE_REQUESTS = Number(process.env.BENCH_BARE_REQUESTS ?? 100_000);
const TARGET_RATIO = 0.4;
const TARGET_P99_MS = 25;

const KEYS = {
  token: 'benchToken2026',
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  corpId: 'wwbench0123456789',
};
const AGENT_ID = '1000002';

type Role = 'bare' | 'app' | 'fake-wecom';
type ChildMessage = { ready: number } | { count: number };

// ---------------------------------------------------------------------------------------------
// Children

async function runChild(role: Role): Promise<void> {
  if (role === 'bare') return serveBare();
  if (role === 'fake-wecom') return serveFakeWecom();
  return serveApp();
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function serveBare(): Promise<void> {
  const koa = new Koa();
  koa.use((ctx) => {
    ctx.status = 200;
    ctx.body = '';
  });
  const port = await listen(http.createServer(koa.callback()));
  process.send!({ ready: port });
  process.on('message', () => process.exit(0));
}

/** Answers every WeCom API call as a healthy WeCom would, so replies leave the outbox. */
async function serveFakeWecom(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      const body = req.url?.startsWith('/cgi-bin/gettoken')
        ? { errcode: 0, errmsg: 'ok', access_token: 'bench-token', expires_in: 7200 }
        : { errcode: 0, errmsg: 'ok', msgid: 'bench' };
      res.end(JSON.stringify(body));
    });
  });
  process.send!({ ready: await listen(server) });
  process.on('message', () => process.exit(0));
}

async function serveApp(): Promise<void> {
  const { loadConfig } = await import('../src/config/load-config');
  const { createApp } = await import('../src/app');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-bench-'));
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${path.join(dataDir, 'xinsheng.db')}`,
    DATA_DIR: dataDir,
    DATA_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'error',
    WECOM_CORP_ID: KEYS.corpId,
    WECOM_AGENT_ID: AGENT_ID,
    WECOM_SECRET: 'bench-secret',
    WECOM_TOKEN: KEYS.token,
    WECOM_ENCODING_AES_KEY: KEYS.encodingAesKey,
    WECOM_API_BASE: process.env.BENCH_WECOM_API!,
  });
  const app = await createApp(config);
  const { port } = await app.start();
  if (process.env.BENCH_TRANSPORT_ONLY) {
    // The comparison row: the same server and WeCom route, but a sink that stores nothing.
    await app.adapters.find((a) => a.name === 'wecom')!.start({ accept: async () => true });
  }
  process.send!({ ready: port });
  process.on('message', async (message: { cmd: string }) => {
    if (message.cmd === 'count') {
      const [row] = await app.dataSource.query('SELECT COUNT(*) AS n FROM inbound_events');
      process.send!({ count: Number(row.n) });
      return;
    }
    await app.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

function startChild(role: Role, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(__filename, [role], {
    execArgv: ['-r', path.join(__dirname, 'register-ts.js'), ...(process.env.BENCH_PROF && role === 'app' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${role} exited early (${code})`)));
    child.once('message', (message: ChildMessage) => {
      if ('ready' in message) resolve({ child, port: message.ready });
    });
  });
}

function ask<T extends ChildMessage>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (message: T) => resolve(message));
    child.send({ cmd });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.send({ cmd: 'stop' });
  });
}

/** Distinct signed callbacks: a new MsgId (beyond 2^53, as WeCom's are) and one of 50 senders each. */
async function callbackFactory(): Promise<() => { path: string; body: string }> {
  const { sealForCorp, signEncrypted } = await import('../src/platforms/wecom/wecom-crypto');
  let n = 0;
  const timestamp = String(Math.floor(Date.now() / 1000));
  return () => {
    n++;
    const msgId = (7_000_000_000_000_000_000n + BigInt(n)).toString();
    const plaintext =
      `<xml><ToUserName><![CDATA[${KEYS.corpId}]]></ToUserName><FromUserName><![CDATA[bench${n % 50}]]></FromUserName>` +
      `<CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content>` +
      `<MsgId>${msgId}</MsgId><AgentID>${AGENT_ID}</AgentID></xml>`;
    const encrypt = sealForCorp(KEYS, plaintext);
    const nonce = String(n);
    const signature = signEncrypted(KEYS.token, timestamp, nonce, encrypt);
    return {
      path: `/wecom/callback?msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`,
      body: `<xml><ToUserName><![CDATA[${KEYS.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${AGENT_ID}]]></AgentID></xml>`,
    };
  };
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  other: number;
  errors: number;
  timeouts: number;
}

async function load(port: number, amount: number, next: () => { path: string; body: string }): Promise<LoadResult> {
  // autocannon ships no types; only its promise API is used here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as (options: object) => Promise<Record<string, any>>;
  // Timed here rather than from autocannon's own duration, which is too coarse for a run of seconds.
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    amount,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        setupRequest: (request: object) => ({ ...request, ...next() }),
      },
    ],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    rps: result['2xx'] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    other: result.non2xx,
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
  };
}

function row(name: string, r: LoadResult): string {
  return `| ${name} | ${r.ok} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.other} | ${r.errors} | ${r.timeouts} |`;
}

/**
 * Equal counts are the goal. More rows than 200s means callbacks were stored but answered after the
 * client gave up (WeCom would redeliver, and the redelivery is de-duplicated); fewer rows would mean
 * an acknowledged callback was lost.
 */
function recordingVerdict(recorded: number, result: LoadResult): string {
  if (recorded === result.ok) return 'equal: every acknowledged callback is recorded';
  if (recorded > result.ok) return `**not equal**: every 200 is recorded, but ${recorded - result.ok} stored callbacks were answered too late`;
  return '**LOST**: fewer rows than 200 answers';
}

async function orchestrate(): Promise<void> {
  const next = await callbackFactory();

  const bare = await startChild('bare');
  await load(bare.port, WARMUP_REQUESTS, next);
  const bareResult = await load(bare.port, BARE_REQUESTS, next);
  await stopChild(bare.child);

  const fakeWecom = await startChild('fake-wecom');
  const server = await startChild('app', { BENCH_WECOM_API: `http://127.0.0.1:${fakeWecom.port}` });
  await load(server.port, WARMUP_REQUESTS, next);
  const before = (await ask<{ count: number }>(server.child, 'count')).count;
  const appResult = await load(server.port, APP_REQUESTS, next);
  const after = (await ask<{ count: number }>(server.child, 'count')).count;
  await stopChild(server.child);

  const transport = await startChild('app', { BENCH_WECOM_API: `http://127.0.0.1:${fakeWecom.port}`, BENCH_TRANSPORT_ONLY: '1' });
  await load(transport.port, WARMUP_REQUESTS, next);
  const transportResult = await load(transport.port, APP_REQUESTS, next);
  await stopChild(transport.child);
  await stopChild(fakeWecom.child);

  const recorded = after - before;
  const ratio = appResult.rps / bareResult.rps;
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
  const markdown = [
    '## WeCom callback ingest (`npm run bench:wecom`)',
    '',
    `autocannon on loopback, ${CONNECTIONS} connections, each request a distinct signed and encrypted text callback.`,
    'The server verifies, decrypts, parses and stores each callback (inbound_events, SQLite WAL) before answering 200;',
    'processing and the reply (to a fake WeCom API in another process) run in the same server process meanwhile.',
    'The third row is the same server with a sink that stores nothing: the WeCom route alone (signature, AES, XML, event).',
    '',
    '| | 200 answers | req/s | p50 ms | p99 ms | non-200 | errors | timeouts (> 10 s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row('bare Koa (answers 200 only)', bareResult),
    row('xinsheng /wecom/callback', appResult),
    row('WeCom route only (no store)', transportResult),
    '',
    `- ratio (server ÷ bare): **${ratio.toFixed(2)}** — target ≥ ${TARGET_RATIO}: ${verdict(ratio >= TARGET_RATIO)}`,
    `- route-only ratio (no store ÷ bare): ${(transportResult.rps / bareResult.rps).toFixed(2)}; p99 ${transportResult.p99} ms`,
    `- server p99: **${appResult.p99} ms** — target < ${TARGET_P99_MS} ms: ${verdict(appResult.p99 < TARGET_P99_MS)}`,
    `- inbound_events rows written during the run: ${recorded}; 200 answers: ${appResult.ok} — ${recordingVerdict(recorded, appResult)}`,
  ].join('\n');
  recordBenchmark('wecom-ingest', markdown);
  if (recorded < appResult.ok) process.exitCode = 1;
}

const role = process.argv[2] as Role | undefined;
(role ? runChild(role) : orchestrate()).catch((error) => {
  console.error(error);
  process.exit(1);
});

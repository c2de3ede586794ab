/**
 * bench/soak: mixed chat traffic for a long time at about a tenth of measured capacity, to show that
 * memory, event-loop delay and the outbox backlog stay flat. First 10 s of closed-loop load measure
 * the capacity (turns per second through the console platform: HTTP, stored event, one transaction,
 * reply in the outbox); then the mix runs at a tenth of it — 上报 60 %, 查看 20 %, 意见 10 %, 汇总 5 %,
 * 我的 5 % — and every minute RSS, heap, event-loop delay, request latency and the outbox backlog are
 * recorded. Load and server share one process (as `xinsheng serve` on one core of this machine).
 *
 *   npm run bench:soak                 (30 minutes)
 *   npm run bench:soak -- --minutes 3  (a short run; TEST_MYSQL_URL=… runs it on MariaDB/MySQL)
 */
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startTestApp, type TestApp } from '../test/helpers/test-app';
import { importSampleOrg } from '../test/helpers/org-fixture';
import { recordBenchmark } from './record';

const MINUTES = (() => {
  const at = process.argv.indexOf('--minutes');
  const value = at >= 0 ? Number(process.argv[at + 1]) : 30 * Number(process.env.BENCH_SCALE ?? 1);
  if (!Number.isFinite(value) || value <= 0) throw new Error('--minutes needs a positive number');
  return value;
})();
const CAPACITY_SECONDS = 10;
const CAPACITY_CLIENTS = 20;
const SHARE_OF_CAPACITY = 0.1;

interface Sample {
  minute: number;
  turns: number;
  errors: number;
  rssMb: number;
  heapMb: number;
  loopP99Ms: number;
  loopMaxMs: number;
  latencyP99Ms: number;
  outboxPending: number;
  outboxOldestMs: number | null;
}

async function say(port: number, from: string, text: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/console/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, text }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  await response.arrayBuffer();
}

let counter = 0;
/** One turn of the mix. */
function nextTurn(): [string, string] {
  const n = counter++;
  const pick = n % 20;
  if (pick < 12) return ['zhangsan', `上报 #走访 第${n}次走访了解到同志们对食堂和加班安排的看法`];
  if (pick < 16) return ['liu', `查看 S-${new Date().getFullYear()}-${String(1 + (n % 50)).padStart(4, '0')}`];
  if (pick < 18) return ['lisi', `意见 关于第${n}项工作安排的建议`];
  if (pick < 19) return ['liu', '汇总 本月'];
  return ['zhangsan', '我的'];
}

function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measureCapacity(port: number): Promise<number> {
  const until = performance.now() + CAPACITY_SECONDS * 1000;
  let turns = 0;
  await Promise.all(
    Array.from({ length: CAPACITY_CLIENTS }, async () => {
      while (performance.now() < until) {
        await say(port, 'zhangsan', `上报 #观察 容量测量 ${turns}`);
        turns++;
      }
    }),
  );
  return turns / CAPACITY_SECONDS;
}

async function soak(t: TestApp, ratePerSecond: number): Promise<Sample[]> {
  const port = t.port!;
  const samples: Sample[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let turns = 0;
  let errors = 0;
  let latencies: number[] = [];
  let owed = 0;
  const inFlight = new Set<Promise<void>>();
  const tick = setInterval(() => {
    owed += ratePerSecond / 10;
    for (; owed >= 1; owed--) {
      const [from, text] = nextTurn();
      const started = performance.now();
      const call = say(port, from, text)
        .then(() => {
          turns++;
          latencies.push(performance.now() - started);
        })
        .catch(() => void errors++)
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
  }, 100);
  for (let minute = 1; minute <= Math.ceil(MINUTES); minute++) {
    const length = Math.min(1, MINUTES - (minute - 1)) * 60_000;
    await new Promise((resolve) => setTimeout(resolve, length));
    const backlog = await t.app.outbox.backlog();
    const memory = process.memoryUsage();
    samples.push({
      minute,
      turns,
      errors,
      rssMb: memory.rss / 2 ** 20,
      heapMb: memory.heapUsed / 2 ** 20,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
      latencyP99Ms: percentile(latencies, 99),
      outboxPending: backlog.pending,
      outboxOldestMs: backlog.oldestAgeMs,
    });
    console.log(JSON.stringify(samples[samples.length - 1]));
    turns = 0;
    errors = 0;
    latencies = [];
    loop.reset();
  }
  clearInterval(tick);
  await Promise.all(inFlight);
  loop.disable();
  return samples;
}

async function main(): Promise<void> {
  const database = process.env.TEST_MYSQL_URL ? 'mysql' : 'sqlite';
  const t = await startTestApp({ database, serve: true, env: { ESCALATION_ACK_TIMEOUT: '24h' } });
  try {
    await importSampleOrg(t);
    const capacity = await measureCapacity(t.port!);
    const rate = capacity * SHARE_OF_CAPACITY;
    console.log(`capacity ${capacity.toFixed(1)} turns/s; soaking at ${rate.toFixed(1)} turns/s for ${MINUTES} min`);
    const samples = await soak(t, rate);
    const first = samples[Math.min(1, samples.length - 1)];
    const last = samples[samples.length - 1];
    const growth = ((last.rssMb - first.rssMb) / first.rssMb) * 100;
    const lines = [
      '## Soak: mixed traffic at a tenth of capacity (`npm run bench:soak`)',
      '',
      `${database === 'mysql' ? 'MariaDB' : 'SQLite'}, console platform over HTTP, load generator in the same process. Capacity measured first (${CAPACITY_SECONDS} s, ${CAPACITY_CLIENTS} clients sending 上报): **${capacity.toFixed(1)} turns/s**;`,
      `then ${rate.toFixed(1)} turns/s of 上报 60 %, 查看 20 %, 意见 10 %, 汇总 5 %, 我的 5 % for **${MINUTES} minutes**${MINUTES < 30 ? ' (a short run: the full soak is 30 minutes, `npm run bench:soak`)' : ''}.`,
      '',
      '| minute | turns | errors | RSS MB | heap MB | loop delay p99 ms | loop delay max ms | request p99 ms | outbox pending | oldest undelivered ms |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...samples.map(
        (s) =>
          `| ${s.minute} | ${s.turns} | ${s.errors} | ${s.rssMb.toFixed(0)} | ${s.heapMb.toFixed(0)} | ${s.loopP99Ms.toFixed(1)} | ${s.loopMaxMs.toFixed(0)} | ${s.latencyP99Ms.toFixed(0)} | ${s.outboxPending} | ${s.outboxOldestMs ?? '—'} |`,
      ),
      '',
      `- RSS from minute ${first.minute} to minute ${last.minute}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %; outbox pending at the end: ${last.outboxPending}; errors: ${samples.reduce((a, s) => a + s.errors, 0)}`,
      `- load average while measuring: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (2 cores, shared with other work)`,
    ];
    recordBenchmark('soak', lines.join('\n'));
  } finally {
    await t.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

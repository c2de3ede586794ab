/**
 * bench/escalation-latency: time from a liaison's `即时` (the console POST leaving the client) to
 * the moment the dispatcher calls the platform API to send the secretary's alert card, with a faked
 * platform API (no network) and the real app otherwise: HTTP, stored inbound event, insight and
 * escalation in one transaction, the step worker, the outbox. Target: p99 < 1 s.
 *
 *   npm run bench:escalation        (BENCH_REPORTS=300; TEST_MYSQL_URL=mysql://root@127.0.0.1:3306 adds MariaDB/MySQL)
 */
import { performance } from 'node:perf_hooks';
import { startTestApp, type TestApp, type TestDatabase } from '../test/helpers/test-app';
import { importSampleOrg } from '../test/helpers/org-fixture';
import { fakePlatform } from '../test/helpers/fake-platform';
import { recordBenchmark } from './record';

const REPORTS = Number(process.env.BENCH_REPORTS ?? 300);
const BURSTS = 5;
const BURST_SIZE = 20;
const WARMUP = 20;
const TARGET_P99_MS = 1000;

interface Result {
  database: TestDatabase;
  sequential: number[];
  burst: number[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measure(database: TestDatabase): Promise<Result> {
  const fake = fakePlatform({ name: 'wecom' });
  // Each secretary alert resolves the waiter of its report (the card's title carries the number).
  const waiters = new Map<string, (at: number) => void>();
  const alertedAt = new Map<string, number>();
  const deliver = fake.adapter.deliver.bind(fake.adapter);
  fake.adapter.deliver = async (request) => {
    if (request.content.kind === 'card' && request.recipients.some((r) => r.kind === 'user' && r.userId === 'wang')) {
      const number = /S-\d{4}-\d+/.exec(request.content.card.title)?.[0];
      if (number) {
        const at = performance.now();
        alertedAt.set(number, at);
        waiters.get(number)?.(at);
      }
    }
    return deliver(request);
  };
  const t: TestApp = await startTestApp({ database, env: { ESCALATION_ACK_TIMEOUT: '1h' }, appOptions: { adapters: [fake.adapter] } });
  try {
    await importSampleOrg(t);
    const { port } = await t.app.start();
    const base = `http://127.0.0.1:${port}`;
    let next = 0;
    async function oneReport(): Promise<number> {
      const started = performance.now();
      const sent = fetch(`${base}/console/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: 'zhangsan', text: `即时 #工作 压测即时报告 ${++next}` }),
      }).then((r) => r.json() as Promise<{ replies: { text: string }[] }>);
      const reply = await sent;
      const number = /S-\d{4}-\d+/.exec(reply.replies[0]?.text ?? '')?.[0];
      if (!number) throw new Error(`no number in reply ${JSON.stringify(reply)}`);
      // The alert may already have been sent while the reply travelled back: it is waited for by number.
      const at = alertedAt.get(number) ?? (await new Promise<number>((resolve) => waiters.set(number, resolve)));
      waiters.delete(number);
      return at - started;
    }
    for (let i = 0; i < WARMUP; i++) await oneReport();
    const sequential: number[] = [];
    for (let i = 0; i < REPORTS; i++) sequential.push(await oneReport());
    const burst: number[] = [];
    for (let b = 0; b < BURSTS; b++) burst.push(...(await Promise.all(Array.from({ length: BURST_SIZE }, () => oneReport()))));
    return { database, sequential, burst };
  } finally {
    await t.stop();
  }
}

function row(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1);
  return `| ${label} | ${samples.length} | ${f(percentile(sorted, 50))} | ${f(percentile(sorted, 95))} | ${f(percentile(sorted, 99))} | ${f(sorted[sorted.length - 1])} |`;
}

async function main(): Promise<void> {
  const databases: TestDatabase[] = process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
  const results: Result[] = [];
  for (const database of databases) results.push(await measure(database));
  const lines = [
    '## Immediate-report alert latency (`npm run bench:escalation`)',
    '',
    'From the `即时` console POST leaving the client to the dispatcher calling the (faked, in-process) platform API with the',
    "secretary's alert card: HTTP, stored inbound event, insight + escalation in one transaction, the step worker's transaction",
    `(alert cards, ledger), the outbox claim. ${REPORTS} reports one after another, then ${BURSTS} bursts of ${BURST_SIZE} reports sent at once.`,
    '',
    '| database / load | reports | p50 ms | p95 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    lines.push(row(`${result.database}, one at a time`, result.sequential));
    lines.push(row(`${result.database}, bursts of ${BURST_SIZE}`, result.burst));
  }
  lines.push('');
  for (const result of results) {
    const all = [...result.sequential, ...result.burst].sort((a, b) => a - b);
    const p99 = percentile(all, 99);
    lines.push(`- ${result.database}: p99 over all ${all.length} reports **${p99.toFixed(1)} ms** — target < ${TARGET_P99_MS} ms: **${p99 < TARGET_P99_MS ? 'met' : 'not met'}**`);
  }
  recordBenchmark('escalation-latency', lines.join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/**
 * bench/outbox-throughput: how close the outbox dispatcher gets to a platform's rate limit. The
 * fake platform enforces its limit itself (at most `limit` calls in any rolling second; a call
 * over it is answered 429, as WeCom's 45009 or DingTalk's QPS error) and takes `latency` per call;
 * the dispatcher is told the same limit (PlatformAdapter.sendRateLimitPerSecond). Messages are
 * queued first, then the dispatcher is started; throughput = messages ÷ time to the last
 * acceptance. Target: within 5% of the limit, with no 429 answers and no duplicate.
 *
 *   npm run bench:outbox          (TEST_MYSQL_URL=mysql://root@127.0.0.1:3306 adds MariaDB/MySQL)
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { startTestApp, type TestDatabase } from '../test/helpers/test-app';
import { fakePlatform } from '../test/helpers/fake-platform';
import { enqueueOutbound } from '../src/core/outbox';
import { OutboundMessageEntity } from '../src/db/entities/messaging.entity';
import { recordBenchmark } from './record';

const TARGET_RATIO = 0.95;

interface Scenario {
  limit: number;
  latencyMs: number;
  messages: number;
  /** Instances sharing the database and the platform (2: pacing shared through the database, MySQL only). */
  instances: number;
}

/** `BENCH_SCALE=0.1` (npm run bench -- --quick) runs a tenth of the messages. */
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const scaled = (n: number) => Math.max(50, Math.round(n * SCALE));

const SCENARIOS: Scenario[] = [
  { limit: 50, latencyMs: 40, messages: scaled(750), instances: 1 },
  { limit: 200, latencyMs: 10, messages: scaled(2000), instances: 1 },
  { limit: 50, latencyMs: 40, messages: scaled(750), instances: 2 },
  { limit: 200, latencyMs: 10, messages: scaled(2000), instances: 2 },
];

interface Outcome extends Scenario {
  database: TestDatabase;
  seconds: number;
  perSecond: number;
  rejected: number;
  duplicates: number;
  sentRows: number;
  busiestSecond: number;
  steadyPerSecond: number;
}

/** Calls per second after the first second (when the rolling window is full and pacing is steady). */
function steadyRate(times: number[]): number {
  const from = times[0] + 1000;
  const later = times.filter((t) => t > from);
  return later.length / ((times[times.length - 1] - from) / 1000);
}

/** The most calls the platform accepted within any rolling second. */
function busiestSecond(times: number[]): number {
  let best = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while (times[end] - times[start] >= 1000) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

async function run(database: TestDatabase, scenario: Scenario): Promise<Outcome> {
  const fake = fakePlatform({ sendRateLimitPerSecond: scenario.limit, enforcedLimitPerSecond: scenario.limit, latencyMs: scenario.latencyMs });
  const t = await startTestApp({ database, env: { INSTANCE_ID: 'bench-1' }, appOptions: { adapters: [fake.adapter] } });
  // A second instance: its own app, connections and dispatcher on the same database, calling the same platform.
  const others = await Promise.all(Array.from({ length: scenario.instances - 1 }, (_, i) => startTestApp({ shareDatabaseOf: t, env: { INSTANCE_ID: `bench-${i + 2}` }, appOptions: { adapters: [fake.adapter] } })));
  const apps = [t, ...others].map((x) => x.app);
  try {
    for (let batch = 0; batch < scenario.messages; batch += 250) {
      await t.app.transact(async (em) => {
        for (let i = batch; i < Math.min(scenario.messages, batch + 250); i++) {
          await enqueueOutbound(em, t.app.cipher, { platform: 'wecom', recipients: [{ kind: 'user', userId: `u${i % 500}` }], content: { kind: 'text', text: `通知 ${i}` } }, Date.now());
        }
      });
    }
    const started = performance.now();
    let finished = started;
    const deliver = fake.adapter.deliver.bind(fake.adapter);
    fake.adapter.deliver = async (request) => {
      const outcome = await deliver(request);
      finished = performance.now();
      return outcome;
    };
    for (const app of apps) app.outbox.start();
    const repo = t.app.dataSource.getRepository(OutboundMessageEntity);
    while ((await repo.countBy({ status: 'sent' })) < scenario.messages) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const app of apps) await app.outbox.stop();
    const seconds = (finished - started) / 1000;
    const texts = fake.calls.map((c) => (c.content.kind === 'text' ? c.content.text : ''));
    return {
      ...scenario,
      database,
      seconds,
      perSecond: scenario.messages / seconds,
      rejected: fake.rejected.length,
      duplicates: texts.length - new Set(texts).size,
      sentRows: await repo.countBy({ status: 'sent' }),
      busiestSecond: busiestSecond(fake.calls.map((c) => c.at)),
      steadyPerSecond: steadyRate(fake.calls.map((c) => c.at)),
    };
  } finally {
    for (const other of others) await other.app.stop();
    await t.stop();
  }
}

async function main(): Promise<void> {
  const databases: TestDatabase[] = process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
  const outcomes: Outcome[] = [];
  for (const database of databases) {
    // Several instances need MySQL/MariaDB (SQLite serves one instance).
    for (const scenario of SCENARIOS.filter((s) => s.instances === 1 || database === 'mysql')) outcomes.push(await run(database, scenario));
  }
  const lines = [
    '## Outbox throughput at a platform rate limit (`npm run bench:outbox`)',
    '',
    'A fake platform enforcing its own limit (at most `limit` calls in any rolling second, 429 beyond it) with a fixed latency per call;',
    'the dispatcher paces each platform at `sendRateLimitPerSecond` (rolling-second window with a 2% margin, calls at least 70% of an interval apart) over 8 workers, claiming 100 rows a round',
    'and marking each row sent as soon as its call returns. Messages are queued first, then the dispatcher starts.',
    'With 2 instances (two apps with their own connections and dispatchers, in one process, on one MariaDB database, calling the same platform) the',
    'pacing is shared through the database (`src/core/shared-pacer.ts`: one schedule of call times per platform, reserved in blocks): the limit holds for both together.',
    '',
    '| database | instances | limit /s | latency ms | messages | seconds | sent /s overall | steady /s | steady, of limit | busiest second | 429 answers | duplicates |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const o of outcomes) {
    lines.push(
      `| ${o.database} | ${o.instances} | ${o.limit} | ${o.latencyMs} | ${o.messages} | ${o.seconds.toFixed(2)} | ${o.perSecond.toFixed(1)} | ${o.steadyPerSecond.toFixed(1)} | ${((o.steadyPerSecond / o.limit) * 100).toFixed(1)}% | ${o.busiestSecond} | ${o.rejected} | ${o.duplicates} |`,
    );
  }
  lines.push('');
  lines.push('"overall" counts from the dispatcher\'s start to the last acceptance; "steady" is the rate after the first second;');
  lines.push('"busiest second" is the most calls the platform accepted in any rolling second.');
  lines.push('');
  const share = (list: Outcome[]) => (list.length ? Math.min(...list.map((o) => o.steadyPerSecond / o.limit)) : NaN);
  const single = share(outcomes.filter((o) => o.instances === 1));
  const shared = outcomes.filter((o) => o.instances > 1);
  const clean = outcomes.every((o) => o.rejected === 0 && o.duplicates === 0 && o.sentRows === o.messages);
  lines.push(`- one instance, lowest steady rate as a share of the limit: **${(single * 100).toFixed(1)}%** — target ≥ ${TARGET_RATIO * 100}%: **${single >= TARGET_RATIO ? 'met' : 'not met'}**`);
  if (shared.length) {
    const together = share(shared);
    lines.push(`- two instances together, lowest steady rate as a share of the limit: **${(together * 100).toFixed(1)}%** — target ≥ ${TARGET_RATIO * 100}% with 0 refusals: **${together >= TARGET_RATIO && shared.every((o) => o.rejected === 0) ? 'met' : 'not met'}**`);
  } else {
    lines.push('- two instances: not run (they need MariaDB/MySQL: set TEST_MYSQL_URL)');
  }
  lines.push(`- every message sent once, none refused by the platform: **${clean ? 'yes' : 'NO'}**`);
  lines.push(`- load average while measuring: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (2 cores, shared with other work)`);
  recordBenchmark('outbox-throughput', lines.join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/**
 * bench/summary: how long `汇总` takes over 1,000,000 insights in 200 departments, on SQLite and on
 * MariaDB/MySQL. Target: under 2 s per summary on each.
 *
 * The data is bulk-loaded with multi-row INSERTs in transactions (not through the bot): 200
 * departments of 2–40 people (some below MIN_GROUP_SIZE), a liaison in 190 of them, and a million
 * insights spread evenly from 2025-01-01 to now, older ones mostly closed. Then 汇总 runs through the
 * real bot path (stored inbound event → transaction → SQL → markdown reply in the outbox), for the
 * office (whole unit) and for a liaison (own department), each five times: the first run (cold
 * caches, and on MariaDB InnoDB still merging the bulk load in the background) is shown apart from
 * the median of the other four; the verdict takes the slowest of all five.
 *
 *   npm run bench:summary     (BENCH_INSIGHTS=1000000; MariaDB/MySQL when BENCH_MYSQL_URL or
 *                              TEST_MYSQL_URL is set, e.g. mysql://root@127.0.0.1:3306)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config/load-config';
import { createApp, type XinshengApp } from '../src/app';
import { createLogger } from '../src/lib/logger';
import { OutboundMessageEntity } from '../src/db/entities/messaging.entity';
import type { OutboundContent } from '../src/core/messages';
import { recordBenchmark } from './record';
import { bulkInsert, mysqlTarget, seededRandom, sqliteTarget, type Target } from './bench-db';

const INSIGHTS = Number(process.env.BENCH_INSIGHTS ?? 1_000_000);
const DEPARTMENTS = 200;
const RUNS = 5;
const TARGET_MS = 2000;
const FROM = Date.UTC(2024, 11, 31, 16); // 2025-01-01 00:00 in Shanghai
const METHODS = ['talk', 'survey', 'forum', 'visit', 'observation', 'channel'];
const CATEGORIES = ['political', 'work', 'interests', 'wellbeing', 'other'];

async function loadOrganisation(app: XinshengApp, now: number): Promise<{ liaisons: string[] }> {
  const random = seededRandom(7);
  const departments: unknown[][] = [['root', '本单位', null, 1, now]];
  const people: unknown[][] = [];
  const memberships: unknown[][] = [];
  const grants: unknown[][] = [
    ['office1', 'office', '', null, now],
    ['secretary1', 'secretary', '', null, now],
  ];
  const liaisons: string[] = [];
  for (const id of ['office1', 'secretary1']) {
    people.push([id, id, 1, null, null, now]);
    memberships.push([id, 'root']);
  }
  for (let d = 1; d <= DEPARTMENTS; d++) {
    const deptId = `dept${String(d).padStart(3, '0')}`;
    departments.push([deptId, `部门${String(d).padStart(3, '0')}`, 'root', 1, now]);
    const size = 2 + Math.floor(random() * 39);
    for (let p = 1; p <= size; p++) {
      const personId = `${deptId}-p${p}`;
      people.push([personId, `人员${d}-${p}`, 1, null, null, now]);
      memberships.push([personId, deptId]);
    }
    if (d <= DEPARTMENTS - 10) {
      grants.push([`${deptId}-p1`, 'liaison', deptId, null, now]);
      liaisons.push(`${deptId}-p1`);
    }
  }
  await bulkInsert(app.dataSource, 'departments', ['id', 'name', 'parent_id', 'active', 'updated_at'], departments);
  await bulkInsert(app.dataSource, 'people', ['id', 'name', 'active', 'platform', 'welcomed_at', 'updated_at'], people);
  await bulkInsert(app.dataSource, 'person_departments', ['person_id', 'department_id'], memberships);
  await bulkInsert(app.dataSource, 'role_grants', ['person_id', 'role', 'scope', 'granted_by', 'granted_at'], grants);
  return { liaisons };
}

function* insightRows(app: XinshengApp, now: number): Generator<unknown[]> {
  const random = seededRandom(42);
  const textEnc = app.cipher.encrypt('基准测试数据：同志们对职称评定、绩效分配议论较多');
  const step = (now - FROM) / INSIGHTS;
  const ninetyDaysAgo = now - 90 * 86_400_000;
  const perYear = new Map<number, number>();
  for (let i = 0; i < INSIGHTS; i++) {
    const createdAt = Math.floor(FROM + i * step);
    const year = new Date(createdAt + 8 * 3_600_000).getUTCFullYear();
    const sequence = (perYear.get(year) ?? 0) + 1;
    perYear.set(year, sequence);
    const d = 1 + Math.floor(random() * DEPARTMENTS);
    const deptId = `dept${String(d).padStart(3, '0')}`;
    const r = random();
    const status = createdAt < ninetyDaysAgo ? (r < 0.9 ? 'closed' : r < 0.98 ? 'handled' : 'new') : ['new', 'classified', 'handled', 'closed'][Math.floor(r * 4)];
    yield [
      `S-${year}-${String(sequence).padStart(7, '0')}`,
      `${deptId}-p1`,
      deptId,
      METHODS[Math.floor(random() * METHODS.length)],
      CATEGORIES[Math.floor(random() * CATEGORIES.length)],
      random() < 0.01 ? 'immediate' : 'routine',
      textEnc,
      status,
      status === 'new' ? null : 'common',
      createdAt,
      createdAt,
    ];
  }
}

async function summarise(app: XinshengApp, senderId: string, text: string): Promise<{ ms: number; reply: string }> {
  const id = `bench:${randomUUID()}`;
  const started = process.hrtime.bigint();
  await app.inbound.acceptAndProcess({ id, type: 'message', platform: 'console', senderId, conversation: { kind: 'direct', id: senderId }, receivedAt: Date.now(), text });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const row = await app.dataSource.getRepository(OutboundMessageEntity).findOneByOrFail({ eventId: id });
  const content = JSON.parse(app.cipher.decrypt(row.contentEnc)) as OutboundContent;
  return { ms, reply: content.kind === 'markdown' ? content.markdown : JSON.stringify(content) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function benchmark(target: Target): Promise<string[]> {
  const env = { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent', CONSOLE: 'on', ...target.env };
  const app = await createApp(loadConfig(env), { log: createLogger('silent') });
  const lines: string[] = [];
  try {
    await app.migrate();
    const now = Date.now();
    const { liaisons } = await loadOrganisation(app, now);
    const loadStarted = Date.now();
    await bulkInsert(
      app.dataSource,
      'insights',
      ['number', 'reporter_id', 'department_id', 'method', 'category', 'kind', 'text_enc', 'status', 'issue_kind', 'created_at', 'updated_at'],
      insightRows(app, now),
    );
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    console.log(`${target.name}: loaded ${INSIGHTS} insights in ${loadSeconds.toFixed(1)} s`);
    const cases: [string, string, string][] = [
      ['office1', '汇总', '机关党委（全单位）'],
      ['office1', '汇总 上季度', '机关党委（全单位）'],
      ['office1', '汇总 2025Q4', '机关党委（全单位）'],
      ['office1', '汇总 2026-11', '机关党委（全单位）'],
      [liaisons[0], '汇总', '联络员（本部门）'],
    ];
    for (const [sender, text, viewer] of cases) {
      const times: number[] = [];
      let reply = '';
      for (let run = 0; run < RUNS; run++) ({ ms: times[run], reply } = await summarise(app, sender, text));
      const total = /本期共 \*\*(\d+)\*\* 条/.exec(reply)?.[1];
      if (!total) throw new Error(`${target.name} ${text}: unexpected reply ${reply.slice(0, 200)}`);
      const verdict = Math.max(...times) < TARGET_MS ? '✓' : '✗';
      const cells = [times[0], median(times.slice(1)), Math.max(...times)].map((ms) => ms.toFixed(0)).join(' | ');
      lines.push(`| ${target.name} | \`${text}\` | ${viewer} | ${total} | ${cells} | ${verdict} |`);
      console.log(lines[lines.length - 1]);
    }
    lines.push(`| ${target.name} | _(bulk load of ${INSIGHTS.toLocaleString('en')} insights: ${loadSeconds.toFixed(0)} s)_ | | | | | | |`);
  } finally {
    await app.stop();
    await target.cleanup();
  }
  return lines;
}

async function main(): Promise<void> {
  const mysqlUrl = (process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL)?.replace(/\/+$/, '');
  const targets: (() => Promise<Target>)[] = [async () => sqliteTarget()];
  if (mysqlUrl) targets.push(() => mysqlTarget(mysqlUrl));
  const rows: string[] = [];
  for (const make of targets) rows.push(...(await benchmark(await make())));
  recordBenchmark(
    'summary',
    [
      `## 汇总 over ${INSIGHTS.toLocaleString('en')} insights in ${DEPARTMENTS} departments (\`npm run bench:summary\`)`,
      '',
      `Each summary runs through the bot (stored inbound event, one transaction, SQL GROUP BYs over covering indexes, markdown reply written to the outbox), ${RUNS} times right after the bulk load; target < ${TARGET_MS} ms for every run.`,
      '',
      `| database | command | viewer | insights in period | first run ms | median of runs 2–${RUNS} ms | slowest ms | < 2 s |`,
      '|---|---|---|---:|---:|---:|---:|:---:|',
      ...rows,
      mysqlUrl ? '' : '\n_MariaDB/MySQL not measured: set BENCH_MYSQL_URL or TEST_MYSQL_URL._',
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

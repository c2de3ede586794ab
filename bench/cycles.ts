/**
 * bench/cycles: a reporting cycle for a large unit, on SQLite and on MariaDB/MySQL.
 * Targets: opening a cycle (every department's draft computed, one task and one task card per
 * department, the fan-out written to the outbox, the ladder's timers) < 5 s; `督查` for the year < 1 s.
 *
 * The unit is bulk-loaded (not through the bot): BENCH_DEPARTMENTS departments (default 2,000) of
 * four people each, a liaison in every one, and BENCH_INSIGHTS insights (default 200,000) spread over
 * 2026Q4 up to the opening. The quarterly cycle opens as its timer opens it (one transaction); half
 * the departments then submit, and `督查 2026` runs through the real bot path five times.
 *
 *   npm run bench:cycles      (MariaDB/MySQL too when BENCH_MYSQL_URL or TEST_MYSQL_URL is set;
 *                              BENCH_DEPARTMENTS / BENCH_INSIGHTS for a smaller run)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { loadConfig } from '../src/config/load-config';
import { createApp, type XinshengApp } from '../src/app';
import { createLogger } from '../src/lib/logger';
import { createJobContext } from '../src/bot/job-context';
import { openQuarterByHand } from '../src/modules/cycles/cycle-commands';
import { OutboundMessageEntity } from '../src/db/entities/messaging.entity';
import type { OutboundContent } from '../src/core/messages';
import { recordBenchmark } from './record';
import { bulkInsert, mysqlTarget, sqliteTarget, type Target } from './bulk-data';

const DEPARTMENTS = Number(process.env.BENCH_DEPARTMENTS ?? 2000);
const INSIGHTS = Number(process.env.BENCH_INSIGHTS ?? 200_000);
const RUNS = 5;
const OPEN_TARGET_MS = 5000;
const SUPERVISION_TARGET_MS = 1000;
const QUARTER_START = Date.UTC(2026, 8, 30, 16); // 2026-10-01 00:00 in Shanghai
const OPENING = Date.UTC(2026, 11, 15, 1); // 2026-12-15 09:00 in Shanghai
const METHODS = ['talk', 'survey', 'forum', 'visit', 'observation', 'channel'];
const CATEGORIES = ['political', 'work', 'interests', 'wellbeing', 'other'];

const deptId = (d: number) => `dept${String(d).padStart(4, '0')}`;

async function loadUnit(app: XinshengApp): Promise<void> {
  const now = QUARTER_START;
  const departments: unknown[][] = [['root', '本单位', null, 1, now]];
  const people: unknown[][] = [['office1', '机关党委', 1, null, null, now]];
  const memberships: unknown[][] = [['office1', 'root']];
  const grants: unknown[][] = [['office1', 'office', '', null, now]];
  for (let d = 1; d <= DEPARTMENTS; d++) {
    departments.push([deptId(d), `部门${d}`, 'root', 1, now]);
    for (let p = 1; p <= 4; p++) {
      people.push([`${deptId(d)}-p${p}`, `人员${d}-${p}`, 1, null, null, now]);
      memberships.push([`${deptId(d)}-p${p}`, deptId(d)]);
    }
    grants.push([`${deptId(d)}-p1`, 'liaison', deptId(d), null, now]);
  }
  await bulkInsert(app.dataSource, 'departments', ['id', 'name', 'parent_id', 'active', 'updated_at'], departments);
  await bulkInsert(app.dataSource, 'people', ['id', 'name', 'active', 'platform', 'welcomed_at', 'updated_at'], people);
  await bulkInsert(app.dataSource, 'person_departments', ['person_id', 'department_id'], memberships);
  await bulkInsert(app.dataSource, 'role_grants', ['person_id', 'role', 'scope', 'granted_by', 'granted_at'], grants);
  const textEnc = app.cipher.encrypt('基准测试数据');
  function* insights(): Generator<unknown[]> {
    const step = (OPENING - QUARTER_START) / INSIGHTS;
    for (let i = 0; i < INSIGHTS; i++) {
      const createdAt = Math.floor(QUARTER_START + i * step);
      const d = 1 + ((i * 7919) % DEPARTMENTS);
      yield [`S-2026-${String(i + 1).padStart(7, '0')}`, `${deptId(d)}-p1`, deptId(d), METHODS[i % 6], CATEGORIES[i % 5], i % 100 === 0 ? 'immediate' : 'routine', textEnc, i % 3 ? 'classified' : 'new', i % 3 ? ['common', 'individual', 'demand', 'warning'][i % 4] : null, createdAt, createdAt];
    }
  }
  await bulkInsert(app.dataSource, 'insights', ['number', 'reporter_id', 'department_id', 'method', 'category', 'kind', 'text_enc', 'status', 'issue_kind', 'created_at', 'updated_at'], insights());
}

async function supervise(app: XinshengApp): Promise<{ ms: number; reply: string }> {
  const id = `bench:${randomUUID()}`;
  const started = process.hrtime.bigint();
  await app.inbound.acceptAndProcess({ id, type: 'message', platform: 'console', senderId: 'office1', conversation: { kind: 'direct', id: 'office1' }, receivedAt: Date.now(), text: '督查 2026' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const row = await app.dataSource.getRepository(OutboundMessageEntity).findOneByOrFail({ eventId: id });
  const content = JSON.parse(app.cipher.decrypt(row.contentEnc)) as OutboundContent;
  return { ms, reply: content.kind === 'markdown' ? content.markdown : JSON.stringify(content) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function benchmark(target: Target): Promise<string[]> {
  const env = { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent', CONSOLE: 'on', ...target.env };
  let clock = OPENING;
  const app = await createApp(loadConfig(env), { log: createLogger('silent'), now: () => clock });
  const lines: string[] = [];
  try {
    await app.migrate();
    const loadStarted = Date.now();
    await loadUnit(app);
    console.log(`${target.name}: loaded ${DEPARTMENTS} departments and ${INSIGHTS} insights in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`);
    const started = process.hrtime.bigint();
    const opened = await app.transact((em) => openQuarterByHand(createJobContext(em, app.services, clock), '2026Q4'));
    const openMs = Number(process.hrtime.bigint() - started) / 1e6;
    const [{ n: cards }] = await app.dataSource.query("SELECT COUNT(*) AS n FROM outbound_messages WHERE card_id IS NOT NULL");
    if (Number(cards) !== DEPARTMENTS) throw new Error(`${target.name}: ${cards} task cards for ${DEPARTMENTS} departments (${opened})`);
    lines.push(`| ${target.name} | opening R-2026Q4 (${DEPARTMENTS.toLocaleString('en')} drafts, tasks and task cards) | ${openMs.toFixed(0)} | | | ${openMs < OPEN_TARGET_MS ? '✓' : '✗'} (< 5 s) |`);
    console.log(lines[lines.length - 1]);
    // Half the departments submit (one version each), a tenth of them late.
    clock = Date.UTC(2026, 11, 28, 2);
    await app.dataSource.query(`UPDATE cycle_tasks SET status = 'submitted', version = 1, submitted_at = ?, late_days = CASE WHEN id % 10 = 0 THEN 3 ELSE 0 END WHERE id % 2 = 0`, [clock]);
    const times: number[] = [];
    let reply = '';
    for (let run = 0; run < RUNS; run++) ({ ms: times[run], reply } = await supervise(app));
    if (!reply.includes(`（${DEPARTMENTS} 个部门）`)) throw new Error(`${target.name}: unexpected 督查 reply ${reply.slice(0, 200)}`);
    lines.push(`| ${target.name} | \`督查 2026\` (${DEPARTMENTS.toLocaleString('en')} departments) | ${times[0].toFixed(0)} | ${median(times.slice(1)).toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${Math.max(...times) < SUPERVISION_TARGET_MS ? '✓' : '✗'} (< 1 s) |`);
    console.log(lines[lines.length - 1]);
  } finally {
    await app.stop();
    await target.cleanup();
  }
  return lines;
}

async function main(): Promise<void> {
  const mysqlUrl = (process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL)?.replace(/\/+$/, '');
  const targets: (() => Promise<Target>)[] = process.env.BENCH_SKIP_SQLITE ? [] : [async () => sqliteTarget()];
  if (mysqlUrl) targets.push(() => mysqlTarget(mysqlUrl));
  const rows: string[] = [];
  for (const make of targets) rows.push(...(await benchmark(await make())));
  recordBenchmark(
    'cycles',
    [
      `## Reporting cycles: ${DEPARTMENTS.toLocaleString('en')} departments, ${INSIGHTS.toLocaleString('en')} insights in the quarter (\`npm run bench:cycles\`)`,
      '',
      `Opening runs as the quarterly timer runs it: one transaction computing every department's draft (GROUP BYs over the quarter), inserting the tasks and task cards and writing the bulk fan-out to the outbox. \`督查\` runs through the bot (stored inbound event, one transaction, markdown reply in the outbox), ${RUNS} times, after half the departments submitted.`,
      '',
      `| database | what | first run ms | median of runs 2–${RUNS} ms | slowest ms | target |`,
      '|---|---|---:|---:|---:|:---:|',
      ...rows,
      mysqlUrl ? '' : '\n_MariaDB/MySQL not measured: set BENCH_MYSQL_URL or TEST_MYSQL_URL._',
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

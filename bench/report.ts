/**
 * bench/report: `报告 生成` over a quarter with 200,000 insights in 200 departments and 200
 * department reports, on SQLite and on MariaDB/MySQL. Targets: the .docx in < 5 s, peak RSS < 400 MB.
 *
 * Data is bulk-loaded with multi-row INSERTs (not through the bot): 200 departments of 2–40 people,
 * 200,000 insights in the reported quarter (2026Q4 up to the load time) plus 40,000 spread over the
 * four quarters before it (trend, previous period, same quarter a year before), 1 % immediate with an
 * acknowledged escalation, a third classified. The 200 department reports come from a fake
 * `facts.departmentReports` provider (the reporting-cycle module's provider is wired at merge time),
 * four sections of ~150 characters each. Then 报告 生成 runs through the real bot path (stored inbound
 * event → one transaction → queries → docx → the file in the outbox), three times; peak RSS is the
 * process's maxRSS after the runs (each database runs in a child process of its own; the bulk load
 * and the TypeScript loader are included, so it is an upper bound). `BENCH_DATABASE=sqlite|mysql`
 * runs one database in this process and only prints.
 *
 *   npm run bench:report     (BENCH_INSIGHTS=200000; MariaDB/MySQL when BENCH_MYSQL_URL or
 *                             TEST_MYSQL_URL is set, e.g. mysql://root@127.0.0.1:3306)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/load-config';
import { createApp, type XinshengApp } from '../src/app';
import { createLogger } from '../src/lib/logger';
import { OutboundMessageEntity } from '../src/db/entities/messaging.entity';
import type { OutboundContent } from '../src/core/messages';
import type { DepartmentReportFact, FactSources } from '../src/domain/facts';
import { recordBenchmark } from './record';

const INSIGHTS = Number(process.env.BENCH_INSIGHTS ?? 200_000);
const DEPARTMENTS = 200;
const RUNS = 3;
const TARGET_MS = 5000;
const TARGET_RSS_MB = 400;
const ROWS_PER_INSERT = 1000;
const Q4_START = Date.UTC(2026, 8, 30, 16); // 2026-10-01 00:00 in Shanghai
const EARLIER_START = Date.UTC(2025, 8, 30, 16); // 2025-10-01
const METHODS = ['talk', 'survey', 'forum', 'visit', 'observation', 'channel'];
const CATEGORIES = ['political', 'work', 'interests', 'wellbeing', 'other'];
const TEXTS = [
  '同志们普遍反映工作积极主动，对年度目标任务有信心',
  '有同志反映职称评定标准不够透明，希望公开评分细则',
  '部分同志加班较多，反映压力大、休息不足',
  '对新出台的绩效分配办法总体认可，建议加强解读',
  '个别同志对网络热点事件议论较多，需要正面引导',
];

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

interface Target {
  name: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

function sqliteTarget(): Target {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-bench-'));
  return { name: 'SQLite', env: { DATABASE_URL: `sqlite:${path.join(dir, 'bench.db')}`, DATA_DIR: dir }, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function mysqlTarget(base: string): Promise<Target> {
  const name = `xinsheng_bench_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection(base);
  const [[version]] = (await admin.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]];
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-bench-'));
  return {
    name: /mariadb/i.test(version.v) ? `MariaDB ${version.v.split('-')[0]}` : `MySQL ${version.v}`,
    env: { DATABASE_URL: `${base}/${name}`, DATA_DIR: dir },
    async cleanup() {
      const conn = await mysql.createConnection(base);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function bulkInsert(dataSource: DataSource, table: string, columns: string[], rows: Iterable<unknown[]>): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  const statement = (count: number) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: count }, () => `(${columns.map(() => '?').join(', ')})`).join(', ')}`;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await runner.query(statement(batch.length), batch.flat());
    batch = [];
  };
  try {
    await runner.startTransaction();
    for (const row of rows) {
      batch.push(row);
      if (batch.length === ROWS_PER_INSERT) await flush();
    }
    await flush();
    await runner.commitTransaction();
  } finally {
    await runner.release();
  }
}

async function loadOrganisation(app: XinshengApp, now: number): Promise<void> {
  const random = seededRandom(7);
  const departments: unknown[][] = [['root', '本单位', null, 1, now]];
  const people: unknown[][] = [['office1', '刘主任', 1, null, null, now]];
  const memberships: unknown[][] = [['office1', 'root']];
  const grants: unknown[][] = [['office1', 'office', '', null, now]];
  for (let d = 1; d <= DEPARTMENTS; d++) {
    const deptId = `dept${String(d).padStart(3, '0')}`;
    departments.push([deptId, `部门${String(d).padStart(3, '0')}`, 'root', 1, now]);
    const size = 2 + Math.floor(random() * 39);
    for (let p = 1; p <= size; p++) {
      people.push([`${deptId}-p${p}`, `人员${d}号${p}`, 1, null, null, now]);
      memberships.push([`${deptId}-p${p}`, deptId]);
    }
    grants.push([`${deptId}-p1`, 'liaison', deptId, null, now]);
  }
  await bulkInsert(app.dataSource, 'departments', ['id', 'name', 'parent_id', 'active', 'updated_at'], departments);
  await bulkInsert(app.dataSource, 'people', ['id', 'name', 'active', 'platform', 'welcomed_at', 'updated_at'], people);
  await bulkInsert(app.dataSource, 'person_departments', ['person_id', 'department_id'], memberships);
  await bulkInsert(app.dataSource, 'role_grants', ['person_id', 'role', 'scope', 'granted_by', 'granted_at'], grants);
}

function* insightRows(app: XinshengApp, now: number): Generator<unknown[]> {
  const random = seededRandom(42);
  const texts = TEXTS.map((t) => app.cipher.encrypt(t));
  const earlier = Math.round(INSIGHTS / 5);
  for (let i = 0; i < INSIGHTS + earlier; i++) {
    const createdAt = i < earlier ? Math.floor(EARLIER_START + (i * (Q4_START - EARLIER_START)) / earlier) : Math.floor(Q4_START + ((i - earlier) * (now - Q4_START)) / INSIGHTS);
    const deptId = `dept${String(1 + Math.floor(random() * DEPARTMENTS)).padStart(3, '0')}`;
    const r = random();
    const issueKind = r < 0.33 ? ['common', 'individual', 'demand', 'warning'][Math.floor(r * 12)] : null;
    yield [
      `S-B-${String(i).padStart(7, '0')}`,
      `${deptId}-p1`,
      deptId,
      METHODS[Math.floor(random() * METHODS.length)],
      CATEGORIES[Math.floor(random() * CATEGORIES.length)],
      random() < 0.01 ? 'immediate' : 'routine',
      texts[i % texts.length],
      issueKind ? ['classified', 'handled', 'closed'][i % 3] : 'new',
      issueKind,
      createdAt,
      createdAt,
    ];
  }
}

function fakeDepartmentReports(): FactSources['departmentReports'] {
  const text = (d: number, what: string) => `部门${d}本季度${what}：${'干部职工思想总体稳定，工作积极主动，对单位发展有信心。'.repeat(6)}`;
  const reports: DepartmentReportFact[] = Array.from({ length: DEPARTMENTS }, (_, i) => ({
    cycleNumber: 'R-2026-0004',
    departmentId: `dept${String(i + 1).padStart(3, '0')}`,
    departmentName: `部门${String(i + 1).padStart(3, '0')}`,
    liaisonName: `人员${i + 1}号1`,
    status: i % 10 === 0 ? 'late' : 'on_time',
    submittedAt: Date.UTC(2026, 10, 25),
    lateDays: i % 10 === 0 ? 2 : 0,
    sections: { overall: text(i + 1, '总体情况'), performance: text(i + 1, '主要表现'), causes: text(i + 1, '原因分析'), suggestions: text(i + 1, '对策建议') },
  }));
  return async () => reports;
}

async function generate(app: XinshengApp): Promise<{ ms: number; cpuMs: number; bytes: number }> {
  const id = `bench:${randomUUID()}`;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await app.inbound.acceptAndProcess({ id, type: 'message', platform: 'console', senderId: 'office1', conversation: { kind: 'direct', id: 'office1' }, receivedAt: Date.now(), text: '报告 生成 2026Q4' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const rows = await app.dataSource.getRepository(OutboundMessageEntity).findBy({ eventId: id });
  const file = rows.map((r) => JSON.parse(app.cipher.decrypt(r.contentEnc)) as OutboundContent).find((c) => c.kind === 'file');
  if (!file || file.kind !== 'file') throw new Error('报告 生成 sent no file');
  return { ms, cpuMs, bytes: Buffer.from(file.dataBase64, 'base64').length };
}

async function benchmark(target: Target): Promise<string> {
  const env = { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent', CONSOLE: 'on', UNIT_NAME: '某某局', ...target.env };
  const app = await createApp(loadConfig(env), { log: createLogger('silent'), facts: { departmentReports: fakeDepartmentReports() } });
  try {
    await app.migrate();
    const now = Date.now();
    if (now < Q4_START) throw new Error('bench:report reports on 2026Q4 and needs a clock after 2026-10-01');
    await loadOrganisation(app, now);
    const loadStarted = Date.now();
    await bulkInsert(
      app.dataSource,
      'insights',
      ['number', 'reporter_id', 'department_id', 'method', 'category', 'kind', 'text_enc', 'status', 'issue_kind', 'created_at', 'updated_at'],
      insightRows(app, now),
    );
    await app.dataSource.query(
      `INSERT INTO escalations (insight_id, insight_number, reporter_id, state, step, next_due_at, acknowledged_by, acknowledged_at, ack_method, instruction_enc, created_at, updated_at)
       SELECT id, number, reporter_id, 'acknowledged', 1, NULL, 'office1', created_at + 600000, 'ack', NULL, created_at, created_at FROM insights WHERE kind = 'immediate'`,
    );
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    console.log(`${target.name}: loaded ${INSIGHTS} + ${INSIGHTS / 5} insights in ${loadSeconds.toFixed(1)} s`);
    const rssBeforeMb = process.memoryUsage().rss / 1024 / 1024;
    const runs: { ms: number; cpuMs: number; bytes: number }[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await generate(app));
    const rssMb = process.resourceUsage().maxRSS / 1024;
    const times = runs.map((r) => r.ms);
    const ok = Math.max(...times) < TARGET_MS && rssMb < TARGET_RSS_MB ? '✓' : '✗';
    const cpu = runs.map((r) => r.cpuMs).sort((a, b) => a - b)[1];
    const load = os.loadavg()[0].toFixed(1);
    const line = `| ${target.name} | ${INSIGHTS.toLocaleString('en')} | ${DEPARTMENTS} | ${times[0].toFixed(0)} | ${[...times].sort((a, b) => a - b)[1].toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${cpu.toFixed(0)} | ${(runs[0].bytes / 1024).toFixed(0)} | ${rssMb.toFixed(0)} | ${load} | ${ok} |`;
    console.log(line, `(RSS before the runs ${rssBeforeMb.toFixed(0)} MB)`);
    return line;
  } finally {
    await app.stop();
    await target.cleanup();
  }
}

/** Each database in a process of its own, so that its peak RSS is its own. */
function runChild(database: 'sqlite' | 'mysql'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, __filename], { env: { ...process.env, BENCH_DATABASE: database }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('| '));
      if (code === 0 && line) resolve(line.replace(/ \(RSS before.*$/, ''));
      else reject(new Error(`bench:report for ${database} failed (exit ${code})`));
    });
  });
}

async function main(): Promise<void> {
  const mysqlUrl = (process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL)?.replace(/\/+$/, '');
  const only = process.env.BENCH_DATABASE;
  if (only) {
    // A single database in this process: printed (the parent records it).
    await benchmark(only === 'mysql' ? await mysqlTarget(mysqlUrl!) : sqliteTarget());
    return;
  }
  const rows = [await runChild('sqlite')];
  if (mysqlUrl) rows.push(await runChild('mysql'));
  recordBenchmark(
    'report',
    [
      `## 报告 生成 over a quarter of ${INSIGHTS.toLocaleString('en')} insights in ${DEPARTMENTS} departments with ${DEPARTMENTS} department reports (\`npm run bench:report\`)`,
      '',
      `The whole turn through the bot (stored inbound event, one transaction: the traced queries, excerpts decrypted, the .docx with 3 native charts and both annexes, the file written to the outbox), ${RUNS} runs after the bulk load; ${(INSIGHTS / 5).toLocaleString('en')} more insights in the four quarters before. Targets: every run < ${TARGET_MS / 1000} s, peak RSS < ${TARGET_RSS_MB} MB. The load average (1 min, when the runs ended) says how busy the shared machine was: wall time stretches with it; CPU time is this process's own (the database server's share on MariaDB not included). Peak RSS is the maxRSS of the process that ran that database (one process each), after the runs; it includes the bulk load and the TypeScript loader, so it is an upper bound.`,
      '',
      '| database | insights in quarter | departments | first run ms | median ms | slowest ms | median CPU ms (this process) | .docx KB | peak RSS MB | load average | targets |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
      ...rows,
      mysqlUrl ? '' : '\n_MariaDB/MySQL not measured: set BENCH_MYSQL_URL or TEST_MYSQL_URL._',
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

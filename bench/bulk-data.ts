/**
 * Helpers of the database benchmarks (bench/summary, bench/analysis): throwaway SQLite and
 * MariaDB/MySQL databases, multi-row bulk loads, a generated organisation, and a command run
 * through the real bot path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import type { XinshengApp } from '../src/app';
import { OutboundMessageEntity } from '../src/db/entities/messaging.entity';
import type { OutboundContent } from '../src/core/messages';

const ROWS_PER_INSERT = 1000;
const INSERTS_PER_TRANSACTION = 20;

/** A small deterministic generator, so that every run loads the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

export interface Target {
  name: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export function sqliteTarget(): Target {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-bench-'));
  return {
    name: 'SQLite',
    env: { DATABASE_URL: `sqlite:${path.join(dir, 'bench.db')}`, DATA_DIR: dir },
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function mysqlTarget(base: string): Promise<Target> {
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

/** Inserts rows with multi-row INSERTs, INSERTS_PER_TRANSACTION statements per transaction. */
export async function bulkInsert(dataSource: DataSource, table: string, columns: string[], rows: Iterable<unknown[]>): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  const statement = (count: number) =>
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: count }, () => `(${columns.map(() => '?').join(', ')})`).join(', ')}`;
  const full = statement(ROWS_PER_INSERT);
  let batch: unknown[][] = [];
  let statements = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    if (statements === 0) await runner.startTransaction();
    await runner.query(batch.length === ROWS_PER_INSERT ? full : statement(batch.length), batch.flat());
    batch = [];
    if (++statements === INSERTS_PER_TRANSACTION) {
      await runner.commitTransaction();
      statements = 0;
    }
  };
  try {
    for (const row of rows) {
      batch.push(row);
      if (batch.length === ROWS_PER_INSERT) await flush();
    }
    await flush();
    if (statements > 0) await runner.commitTransaction();
  } finally {
    await runner.release();
  }
}

export async function loadOrganisation(app: XinshengApp, now: number, departmentCount: number): Promise<{ liaisons: string[] }> {
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
  for (let d = 1; d <= departmentCount; d++) {
    const deptId = `dept${String(d).padStart(3, '0')}`;
    departments.push([deptId, `部门${String(d).padStart(3, '0')}`, 'root', 1, now]);
    const size = 2 + Math.floor(random() * 39);
    for (let p = 1; p <= size; p++) {
      const personId = `${deptId}-p${p}`;
      people.push([personId, `人员${d}-${p}`, 1, null, null, now]);
      memberships.push([personId, deptId]);
    }
    if (d <= departmentCount - 10) {
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

/** Runs one command through the real bot path (stored inbound event, one transaction) and returns its reply. */
export async function runCommand(app: XinshengApp, senderId: string, text: string): Promise<{ ms: number; reply: string }> {
  const id = `bench:${randomUUID()}`;
  const started = process.hrtime.bigint();
  await app.inbound.acceptAndProcess({ id, type: 'message', platform: 'console', senderId, conversation: { kind: 'direct', id: senderId }, receivedAt: Date.now(), text });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const row = await app.dataSource.getRepository(OutboundMessageEntity).findOneByOrFail({ eventId: id });
  const content = JSON.parse(app.cipher.decrypt(row.contentEnc)) as OutboundContent;
  return { ms, reply: content.kind === 'markdown' ? content.markdown : JSON.stringify(content) };
}


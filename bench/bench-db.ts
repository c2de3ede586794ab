import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { DataSource } from 'typeorm';

/** Database targets and bulk loading shared by the benchmarks that need a lot of data. */

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


import path from 'node:path';
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ENCRYPTED_TABLES } from '../../src/core/encrypted-columns';
import type { DataCipher } from '../../src/lib/data-cipher';
import { runFromCommandLine } from '../../src/main';
import { storeFile } from '../../src/core/file-store';
import { consoleClient, onlyCard } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import type { TestApp } from '../helpers/test-app';

const ROOT = path.join(__dirname, '..', '..');

export const newKey = (): string => randomBytes(32).toString('base64');

/** Every encrypted value of every registered column, decrypted: `table.column [pk]` -> plain text. */
export async function plainValues(dataSource: DataSource, cipher: DataCipher): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (const { table, primaryKey, columns } of ENCRYPTED_TABLES) {
    for (const row of (await dataSource.query(`SELECT ${[...primaryKey, ...columns].join(', ')} FROM ${table}`)) as Record<string, unknown>[]) {
      for (const column of columns) {
        const value = row[column];
        if (typeof value === 'string') values.set(`${table}.${column} ${JSON.stringify(primaryKey.map((c) => String(row[c])))}`, cipher.decrypt(value));
      }
    }
  }
  return values;
}

/** Values stored the way they were before key ids (`v1:` + base64(iv ‖ tag ‖ ciphertext)), to test the upgrade. */
export async function rewriteAsLegacy(dataSource: DataSource, cipher: DataCipher, key: Buffer): Promise<number> {
  let count = 0;
  for (const { table, primaryKey, columns } of ENCRYPTED_TABLES) {
    for (const row of (await dataSource.query(`SELECT ${[...primaryKey, ...columns].join(', ')} FROM ${table}`)) as Record<string, unknown>[]) {
      for (const column of columns) {
        const value = row[column];
        if (typeof value !== 'string') continue;
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', key, iv);
        const body = Buffer.concat([c.update(cipher.decrypt(value), 'utf8'), c.final()]);
        const legacy = 'v1:' + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
        await dataSource.query(`UPDATE ${table} SET ${column} = ? WHERE ${primaryKey.map((k) => `${k} = ?`).join(' AND ')}`, [legacy, ...primaryKey.map((k) => row[k])]);
        count++;
      }
    }
  }
  return count;
}

/** Some of everything that is encrypted: insights, an immediate report (alerts, cards), a suggestion and its answer, a file. */
export async function fillWithData(t: TestApp, reports = 8, now = Date.now()): Promise<string[]> {
  await importSampleOrg(t);
  const chat = consoleClient(t);
  const numbers: string[] = [];
  for (let i = 0; i < reports; i++) {
    numbers.push(/S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', `上报 #走访 第${i}位同志反映加班较多`)).title)![0]);
  }
  await chat.say('liu', `处置 ${numbers[0]} 已安排谈心`);
  await chat.say('zhangsan', '即时 有同志情绪激动扬言上访');
  await chat.say('lisi', '意见 食堂菜价偏高');
  const [{ number: suggestion }] = (await t.app.dataSource.query('SELECT number FROM suggestions ORDER BY id DESC LIMIT 1')) as { number: string }[];
  await chat.say('liu', `答复 ${suggestion} 已转后勤`);
  await t.app.transact((em) => storeFile(em, t.app.cipher, { purpose: 'test', name: '报告.docx', mimeType: 'application/octet-stream', data: randomBytes(100_000) }, now));
  return numbers;
}

export interface CliRun {
  code: number | undefined;
  text: string;
}

/** Runs the CLI in this process with the given environment, capturing what it prints. */
export async function cli(env: Record<string, string>, ...argv: string[]): Promise<CliRun> {
  const saved = { ...process.env };
  const output: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args) => void output.push(args.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...args) => void output.push(args.join(' ')));
  Object.assign(process.env, env);
  process.exitCode = undefined;
  try {
    await runFromCommandLine(argv);
    return { code: process.exitCode as number | undefined, text: output.join('\n') };
  } finally {
    process.exitCode = undefined;
    log.mockRestore();
    error.mockRestore();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** Runs `key rotate` in a child process (test/operations/cli-harness.ts); resolves with its exit code or signal and output. */
export function rotateInChild(env: Record<string, string>, args: string[]): Promise<{ exit: number | string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'operations', 'cli-harness.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code, signal) => resolve({ exit: signal ?? code, out }));
  });
}

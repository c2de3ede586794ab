import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';
import { createDataCipher, deriveKeyId, MissingDataKeyError } from '../../src/lib/data-cipher';
import { parseDataKeys } from '../../src/lib/data-key';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { describeLedgerData } from '../../src/modules/ledger/ledger-labels';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { cli, fillWithData, newKey, plainValues, rewriteAsLegacy, rotateInChild } from './support';

jest.setTimeout(120_000);

/** 研判 as the office sees it (counts per theme). */
const review = async (t: TestApp) => texts(await consoleClient(t).say('liu', '研判'));
const keywordHashes = (t: TestApp): Promise<{ hash_key: string | null; merged_into: unknown }[]> =>
  t.app.dataSource.query('SELECT hash_key, merged_into FROM analysis_keywords UNION ALL SELECT hash_key, NULL FROM analysis_terms');

const idOf = (base64: string) => deriveKeyId(Buffer.from(base64, 'base64'));
const cipherOf = (...keys: string[]) => createDataCipher(keys.map((k) => ({ id: idOf(k), key: Buffer.from(k, 'base64') })));

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('data keys: the cipher and DATA_KEY', () => {
  it('names its key in every value; the first key encrypts, every key decrypts; a value under a key it lacks names that key', () => {
    const [a, b] = [newKey(), newKey()];
    const old = cipherOf(a);
    const both = cipherOf(b, a);
    const stored = old.encrypt('同志反映加班较多');
    expect(stored.startsWith(`v2:${idOf(a)}:`)).toBe(true);
    expect(both.decrypt(stored)).toBe('同志反映加班较多');
    expect(both.keyIdOf(both.encrypt('x'))).toBe(idOf(b));
    expect(() => cipherOf(b).decrypt(stored)).toThrow(MissingDataKeyError);
    expect(() => cipherOf(b).decrypt(stored)).toThrow(idOf(a));
    // The key id is bound to the value: relabelling it for another key does not open.
    const relabelled = stored.replace(idOf(a), idOf(b));
    expect(() => both.decrypt(relabelled)).toThrow();
  });

  it('reads DATA_KEY lists (commas, spaces, new lines, id:key) and DATA_KEY_FILE with comments', () => {
    const [a, b] = [newKey(), newKey()];
    expect(parseDataKeys(`2027:${b}, ${a}`)).toEqual({ keys: [{ id: '2027', key: Buffer.from(b, 'base64') }, { id: idOf(a), key: Buffer.from(a, 'base64') }] });
    const file = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'xs-key-')), 'keys');
    fs.writeFileSync(file, `# new key, 2026-12\n${b}\n# old key\n${a}\n`);
    expect(loadConfig({ DATA_KEY_FILE: file }).dataKeys!.map((k) => k.id)).toEqual([idOf(b), idOf(a)]);
  });

  it('refuses a key that is not 32 bytes, two keys with the same id, DATA_KEY and DATA_KEY_FILE together, an unreadable file', () => {
    expect(problemsOf({ DATA_KEY: Buffer.alloc(16).toString('base64') })).toContain('DATA_KEY：第 1 个密钥不是 32 字节的 base64（解码后 16 字节）');
    expect(problemsOf({ DATA_KEY: `${newKey()},not-base64!` })).toContain('DATA_KEY：第 2 个密钥不是 32 字节的 base64');
    const a = newKey();
    expect(problemsOf({ DATA_KEY: `${a},${a}` })).toContain(`DATA_KEY：两个密钥的编号相同（${idOf(a)}）`);
    expect(problemsOf({ DATA_KEY: `k1:${a},k1:${newKey()}` })).toContain('两个密钥的编号相同（k1）');
    expect(problemsOf({ DATA_KEY: a, DATA_KEY_FILE: '/nonexistent' })).toContain('DATA_KEY：与 DATA_KEY_FILE 只能设置一个');
    expect(problemsOf({ DATA_KEY_FILE: '/nonexistent/keys' })).toContain('DATA_KEY_FILE：无法读取 /nonexistent/keys（ENOENT）');
  });
});

describe.each(testDatabases())('data keys: rotation and the start-up check (%s)', (database) => {
  let t: TestApp;
  const [A, B] = [newKey(), newKey()];

  beforeEach(async () => {
    t = await startTestApp({ database, env: { DATA_KEY: A } });
  });
  afterEach(async () => {
    await t.stop();
  });

  const envWith = (dataKey: string) => ({ ...t.env, DATA_KEY: dataKey });
  const countUnder = (values: Map<string, string>) => values.size;

  it('key status, key rotate, then the old key can go: every value reads the same with the new key alone, and the run is in the ledger', async () => {
    const numbers = await fillWithData(t);
    const before = await plainValues(t.app.dataSource, cipherOf(A));
    expect(countUnder(before)).toBeGreaterThan(20);

    const hashes = await keywordHashes(t);
    expect(hashes.length).toBeGreaterThan(0);
    const status = await cli(envWith(`${B},${A}`), 'key', 'status');
    expect(status.code).toBe(0);
    expect(status.text).toContain(`加密新数据的密钥：${idOf(B)}`);
    expect(status.text).toContain(`密钥 ${idOf(A)}：${before.size} 个密文、${hashes.length} 个研判关键词散列（仍有数据，运行 xinsheng key rotate 改用当前密钥）`);
    expect(status.text).toContain(`  insights.text_enc：${idOf(A)} 9`);

    const rotated = await cli(envWith(`${B},${A}`), 'key', 'rotate');
    expect(rotated).toEqual({
      code: 0,
      text: `已把 ${before.size} 个密文改用密钥 ${idOf(B)} 加密，${hashes.length} 个研判关键词散列改用它重新计算（已记入工作台账）。\n密钥 ${idOf(A)} 已不再保护任何数据，可以从 DATA_KEY 中移除。`,
    });
    expect((await keywordHashes(t)).every((k) => k.hash_key === idOf(B))).toBe(true);
    expect(await plainValues(t.app.dataSource, cipherOf(B))).toEqual(before);
    expect((await cli(envWith(`${B},${A}`), 'key', 'status')).text).toContain(`密钥 ${idOf(A)}：0 个密文（已无数据，可从 DATA_KEY 中移除）`);
    const entry = await t.app.dataSource.getRepository(LedgerEntryEntity).findOneByOrFail({ kind: 'key.rotated' });
    expect(JSON.parse(entry.data)).toEqual({ rotated: before.size, rekeyed: hashes.length, retired: [idOf(A)], resumed: false });
    expect(describeLedgerData(entry.kind, entry.data, { people: new Map(), departments: new Map(), timeZone: 'Asia/Shanghai' })).toBe(
      `改用新密钥加密：${before.size} 个密文；重新计算的研判关键词散列：${hashes.length} 个；不再需要的密钥：${idOf(A)}`,
    );
    expect(await cli(envWith(B), 'ledger', 'verify')).toMatchObject({ code: 0, text: expect.stringMatching(/^工作台账完整/) });

    // A server with only the new key starts and shows the old texts.
    const served = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: B }, serve: true });
    try {
      expect(texts(await consoleClient(served).say('zhangsan', `查看 ${numbers[3]}`))).toContain('第3位同志反映加班较多');
    } finally {
      await served.app.stop();
    }
  });

  it('refuses to start on existing data with a key it was not encrypted with, naming the key; a wrong key under the same id says it does not match', async () => {
    await fillWithData(t, 1);
    const refused = await cli({ ...envWith(newKey()), PORT: '0' }, 'serve');
    expect(refused.code).toBe(78);
    expect(refused.text).toContain(`DATA_KEY：数据库中有密钥 ${idOf(A)} 加密的数据，但 DATA_KEY 中没有这个密钥（DATA_KEY 与数据库中的数据不匹配）`);

    const named = await startTestApp({ database, env: { DATA_KEY: `k1:${A}` } });
    try {
      await fillWithData(named, 1);
      const app = await createApp(loadConfig({ ...named.env, DATA_KEY: `k1:${B}` }), { log: createLogger('silent') });
      await expect(app.start()).rejects.toThrow('DATA_KEY：密钥 k1 与数据库中的数据不匹配');
      await app.stop();
    } finally {
      await named.stop();
    }
  });

  it('an upgraded database (values from before key ids, no key registered) starts with its key, refuses another, and rotates to the new format', async () => {
    const numbers = await fillWithData(t, 3);
    const before = await plainValues(t.app.dataSource, cipherOf(A));
    expect(await rewriteAsLegacy(t.app.dataSource, cipherOf(A), Buffer.from(A, 'base64'))).toBe(before.size);
    await t.app.dataSource.query('DELETE FROM data_keys');

    const wrong = await cli({ ...envWith(newKey()), PORT: '0' }, 'serve');
    expect(wrong.code).toBe(78);
    expect(wrong.text).toContain('DATA_KEY：数据库中已有的数据无法用 DATA_KEY 中的任何密钥解密——密钥与数据不匹配');

    const served = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: A }, serve: true });
    try {
      expect(texts(await consoleClient(served).say('liu', `查看 ${numbers[1]}`))).toContain('第1位同志反映加班较多');
    } finally {
      await served.app.stop();
    }
    expect((await cli(envWith(`${B},${A}`), 'key', 'status')).text).toContain(`旧格式 v1（无密钥编号，由 DATA_KEY 中的某个密钥加密）：${before.size} 个密文`);
    expect((await cli(envWith(`${B},${A}`), 'key', 'rotate')).code).toBe(0);
    // The server added its own rows meanwhile (the 查看 and its reply): the old ones are all there, unchanged.
    const after = await plainValues(t.app.dataSource, cipherOf(B));
    for (const [where, plain] of before) expect([where, after.get(where)]).toEqual([where, plain]);
    // The key that made the old values is retired: the new key alone starts.
    const fresh = await createApp(loadConfig(envWith(B)), { log: createLogger('silent') });
    await expect(fresh.checkDataKeys()).resolves.toBeUndefined();
    await fresh.stop();
  });

  it('a rotation while another holds the lock is refused and changes nothing', async () => {
    await fillWithData(t, 2);
    const before = await plainValues(t.app.dataSource, cipherOf(A));
    await t.app.dataSource.query('INSERT INTO maintenance_locks (name, owner, lease_until, progress, started_at) VALUES (?, ?, ?, NULL, ?)', [
      'key-rotation',
      'other-host:4242',
      Date.now() + 60_000,
      Date.now(),
    ]);
    const refused = await cli(envWith(`${B},${A}`), 'key', 'rotate');
    expect(refused.code).toBe(1);
    expect(refused.text).toContain('key-rotation：另一个进程（other-host:4242）正在运行');
    expect(refused.text).toContain('本次未做任何改动');
    expect(await plainValues(t.app.dataSource, cipherOf(A))).toEqual(before);
    expect(await t.app.dataSource.getRepository(LedgerEntryEntity).countBy({ kind: 'key.rotated' })).toBe(0);
  });

  it('a rotation killed (SIGKILL) inside a batch or right after one resumes where it stopped: every value decrypts with the new key, none lost, 研判 counts the same', async () => {
    await fillWithData(t, 6);
    const themes = await review(t);
    expect(themes).toMatch(/\| 加班(·[^|]*)? \| 6 \|/);
    const before = await plainValues(t.app.dataSource, cipherOf(A));
    const env = envWith(`${B},${A}`);
    const killPoints = ['before-commit:1', 'after-commit:2', 'before-commit:6', 'after-commit:9', 'before-commit:analysis_keywords.hash', 'after-commit:analysis_keywords.hash', 'before-commit:analysis_terms.hash'];
    for (const point of killPoints) {
      const killed = await rotateInChild({ ...env, ROTATE_KILL_AT: point }, ['--batch', '3']);
      expect({ point, exit: killed.exit }).toEqual({ point, exit: 'SIGKILL' });
      // Whatever was committed so far reads with the two keys; nothing is half-written.
      expect(await plainValues(t.app.dataSource, cipherOf(B, A))).toEqual(before);
    }
    const finished = await rotateInChild(env, ['--batch', '3']);
    expect(finished.exit).toBe(0);
    expect(finished.out).toMatch(/^继续上次中断的轮换，已把 \d+ 个密文改用密钥/);
    expect(await plainValues(t.app.dataSource, cipherOf(B))).toEqual(before);
    expect((await keywordHashes(t)).every((k) => k.hash_key === idOf(B) && k.merged_into === null)).toBe(true);
    const server = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: B } });
    try {
      expect(await review(server)).toBe(themes);
    } finally {
      await server.app.stop();
    }
    const entry = await t.app.dataSource.getRepository(LedgerEntryEntity).findOneByOrFail({ kind: 'key.rotated' });
    // The count covers the whole run, the killed attempts' committed batches included.
    expect(JSON.parse(entry.data)).toMatchObject({ rotated: before.size, resumed: true });
  });

  it('is safe while the server runs: reports written during the rotation are kept and readable with the new key', async () => {
    await fillWithData(t, 4);
    const server = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: `${B},${A}` }, serve: true });
    try {
      const chat = consoleClient(server);
      const rotation = cli(envWith(`${B},${A}`), 'key', 'rotate', '--batch', '2');
      for (let i = 0; i < 10; i++) await chat.say('zhangsan', `上报 轮换期间第${i}条：同志反映加班较多`);
      expect((await rotation).code).toBe(0);
      // Recorded during the rotation, before or after the keyword's row was re-keyed: the same row.
      expect((await keywordHashes(t)).every((k) => k.hash_key === idOf(B) && k.merged_into === null)).toBe(true);
      expect(await review(server)).toMatch(/\| 加班(·[^|]*)? \| 14 \|/);
      const after = await plainValues(server.app.dataSource, cipherOf(B));
      const insights = [...after].filter(([k]) => k.startsWith('insights.text_enc')).map(([, v]) => v);
      expect(insights).toHaveLength(15);
      expect(insights.filter((v) => v.startsWith('轮换期间'))).toHaveLength(10);
    } finally {
      await server.app.stop();
    }
  });
});

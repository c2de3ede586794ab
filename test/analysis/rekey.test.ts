import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { deriveKeyId } from '../../src/lib/data-cipher';
import { deriveKeywordKey, keywordHash, termHash } from '../../src/modules/analysis/keyword-hash';
import { cli, newKey } from '../operations/support';
import { fixtureOrg, liaisonOf } from './support';

jest.setTimeout(120_000);

const idOf = (base64: string) => deriveKeyId(Buffer.from(base64, 'base64'));
const keywordKeyOf = (base64: string) => deriveKeywordKey(Buffer.from(base64, 'base64'));

/** The theme table and warnings of 研判 (the header line names the time range, the same in both). Themes may be clusters (绩效工资·分配). */
async function review(t: TestApp): Promise<string> {
  return texts(await consoleClient(t).say('liu', '研判'));
}

async function hashRows(t: TestApp, table: string): Promise<{ hash: string; hash_key: string | null; merged_into?: unknown }[]> {
  return t.app.dataSource.query(`SELECT * FROM ${table} ORDER BY id`);
}

describe.each(testDatabases())('研判 across a data key rotation (%s)', (database) => {
  const [A, B] = [newKey(), newKey()];
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp({ database, env: { DATA_KEY: A } });
    await importSampleOrg(t, fixtureOrg());
  });
  afterEach(async () => {
    await t.stop();
  });

  it('key rotate re-keys every keyword and term hash to the new first key; 研判 shows the same counts; an instance left on the old key is merged in by the next run', async () => {
    const chat = consoleClient(t);
    await chat.say('liu', '研判 词典 添加 职工书屋');
    // An instance still running with only the old key (started before the operator changed DATA_KEY).
    // It cannot read what is encrypted with the new key, so it only lasts while it reads nothing new.
    const oldInstance = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: A } });
    for (const d of ['d1', 'd2', 'd3', 'd4']) await chat.say(liaisonOf(d), `上报 #诉求 本部门同志反映绩效工资分配不透明`);
    for (const d of ['d5', 'd6']) await chat.say(liaisonOf(d), `上报 #其他 职工书屋开放时间太短`);
    await consoleClient(oldInstance).say(liaisonOf('d7'), `上报 #其他 职工书屋开放时间太短`);
    const before = await review(t);
    expect(before).toMatch(/\| 绩效工资(·[^|]*)? \| 4 \| 4 \|/);
    expect(before).toMatch(/\| 职工书屋(·[^|]*)? \| 3 \| 3 \|/);

    try {
      const env = { ...t.env, DATA_KEY: `${B},${A}` };
      const rotated = await cli(env, 'key', 'rotate');
      expect(rotated.code).toBe(0);
      const keywords = await hashRows(t, 'analysis_keywords');
      expect(rotated.text).toContain(`，${keywords.length + 1} 个研判关键词散列改用它重新计算`); // and the one term
      expect(keywords.every((k) => k.hash_key === idOf(B))).toBe(true);
      expect(keywords.map((k) => k.hash)).toContain(keywordHash(keywordKeyOf(B), '绩效工资'));
      expect(keywords.map((k) => k.hash)).not.toContain(keywordHash(keywordKeyOf(A), '绩效工资'));
      expect((await hashRows(t, 'analysis_terms')).map((r) => [r.hash, r.hash_key])).toEqual([[termHash(keywordKeyOf(B), '职工书屋'), idOf(B)]]);

      const server = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: `${B},${A}` } });
      try {
        expect(await review(server)).toBe(before);
        // Recorded after the rotation by an instance with the new key: the same row, one more.
        await consoleClient(server).say(liaisonOf('d5'), '上报 #诉求 绩效工资发放太晚');
        // The instance on the old key does not find the re-keyed row: it writes a second row of the word.
        await consoleClient(oldInstance).say(liaisonOf('d6'), '上报 #诉求 绩效工资差距不合理');
        expect(await review(server)).toMatch(/\| 绩效工资(·[^|]*)? \| 5 \| 5 \|/);
        expect((await cli(env, 'key', 'status')).text).toMatch(new RegExp(`密钥 ${idOf(A)}：\\d+ 个密文、\\d+ 个研判关键词散列`));

        const again = await cli(env, 'key', 'rotate');
        expect(again.code).toBe(0);
        expect((await cli(env, 'key', 'status')).text).toContain(`密钥 ${idOf(A)}：0 个密文（`);
        expect(await review(server)).toMatch(/\| 绩效工资(·[^|]*)? \| 6 \| 6 \|/);
        const merged = (await hashRows(t, 'analysis_keywords')).filter((k) => k.merged_into !== null);
        expect(merged.length).toBeGreaterThan(0);
        expect(merged.every((k) => k.hash.startsWith('merged:'))).toBe(true);
      } finally {
        await server.stop();
      }
    } finally {
      await oldInstance.stop();
    }
  });

  it('two rows of one word under two old keys are merged into one by the rotation, summing every count keyed by keyword id', async () => {
    const C = newKey();
    const chat = consoleClient(t);
    for (const d of ['d1', 'd2']) await chat.say(liaisonOf(d), '上报 #诉求 绩效工资分配不透明');
    // A database from before hashes followed the keys: the same word hashed under another key too.
    const other = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: `${B},${A}` } });
    try {
      // Hidden while the other instance records, so that it writes a row of its own under B.
      const pay = keywordHash(keywordKeyOf(A), '绩效工资');
      await t.app.dataSource.query('UPDATE analysis_keywords SET hash = ? WHERE hash = ?', ['0'.repeat(64), pay]);
      for (const d of ['d3', 'd4']) await consoleClient(other).say(liaisonOf(d), '上报 #诉求 绩效工资发放太晚');
      await t.app.dataSource.query('UPDATE analysis_keywords SET hash = ? WHERE hash = ?', [pay, '0'.repeat(64)]);
      // Rows from before hashes named their key.
      await t.app.dataSource.query('UPDATE analysis_keywords SET hash_key = NULL');
    } finally {
      await other.stop();
    }
    const split = await review(t);
    expect(split).not.toMatch(/\| 绩效工资(·[^|]*)? \| 4 \|/);

    const rotated = await cli({ ...t.env, DATA_KEY: `${C},${B},${A}` }, 'key', 'rotate');
    expect(rotated.code).toBe(0);
    const server = await startTestApp({ shareDatabaseOf: t, env: { DATA_KEY: C } });
    try {
      expect(await review(server)).toMatch(/\| 绩效工资(·[^|]*)? \| 4 \| 4 \|/);
      const monthRows: { n: unknown }[] = await t.app.dataSource.query(
        'SELECT m.n FROM keyword_months m JOIN analysis_keywords k ON k.id = m.keyword_id WHERE k.hash = ?',
        [keywordHash(keywordKeyOf(C), '绩效工资')],
      );
      expect(monthRows.map((r) => Number(r.n))).toEqual([4]);
    } finally {
      await server.stop();
    }
  });
});

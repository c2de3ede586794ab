import { randomBytes } from 'node:crypto';
import { startTestApp, testDatabases } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { createDataCipher } from '../../src/lib/data-cipher';
import { deriveKeywordKey, keywordHash } from '../../src/modules/analysis/keyword-hash';
import { rekeyAnalysis } from '../../src/modules/analysis/keyword-store';
import { themesForPeriod } from '../../src/modules/analysis/analysis-queries';
import { AnalysisKeywordEntity } from '../../src/db/entities/analysis.entity';

describe.each(testDatabases())('re-keying 研判 on %s', (database) => {
  it('re-hashes and re-encrypts every keyword and term with a new data key, keeping the counts', async () => {
    const t = await startTestApp({ database });
    try {
      await importSampleOrg(t);
      const chat = consoleClient(t);
      await chat.say('liu', '研判 词典 添加 职工书屋');
      for (const text of ['绩效工资分配不透明', '绩效工资发放太晚', '绩效工资差距不合理']) await chat.say('zhangsan', `上报 #诉求 ${text}`);
      const oldKey = Buffer.from(t.env.DATA_KEY, 'base64');
      const newKey = randomBytes(32);
      const from = { cipher: t.app.cipher, keywordKey: deriveKeywordKey(oldKey) };
      const to = { cipher: createDataCipher(newKey), keywordKey: deriveKeywordKey(newKey) };
      const deps = { themeSpread: 3, minThemeCount: 3, timeZone: 'Asia/Shanghai' };
      const quarter = { start: 0, end: Date.now() + 1 };
      const before = await themesForPeriod(t.app.dataSource.manager, { ...deps, cipher: from.cipher }, quarter);
      const moved = await t.app.transact((em) => rekeyAnalysis(em, from, to));
      expect(moved.terms).toBe(1);
      expect(moved.keywords).toBeGreaterThan(0);
      const pay = await t.app.dataSource.getRepository(AnalysisKeywordEntity).findOneByOrFail({ hash: keywordHash(to.keywordKey, '绩效工资') });
      expect(to.cipher.decrypt(pay.wordEnc)).toBe('绩效工资');
      expect(() => from.cipher.decrypt(pay.wordEnc)).toThrow();
      expect(await themesForPeriod(t.app.dataSource.manager, { ...deps, cipher: to.cipher }, quarter)).toEqual(before);
    } finally {
      await t.stop();
    }
  });
});

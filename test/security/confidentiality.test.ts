import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startTestApp } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { createLogger } from '../../src/lib/logger';
import { resolveDataKey } from '../../src/lib/data-key';
import { loadConfig } from '../../src/config/load-config';

function memoryLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('trace', stream), lines };
}

describe('confidentiality', () => {
  it('never writes message text into the logs, even at trace level', async () => {
    const { log, lines } = memoryLog();
    const t = await startTestApp({ appOptions: { log } });
    try {
      await importSampleOrg(t);
      const chat = consoleClient(t);
      const secret = '某同志私下说想辞职，家里欠了债';
      await chat.say('zhangsan', `上报 #谈心 ${secret}`);
      await chat.say('zhangsan', `不存在的命令 ${secret}`);
      await t.request.post('/console/messages').send({ from: 'lisi', text: secret, id: 'dup' });
      await t.request.post('/console/messages').send({ from: 'lisi', text: secret, id: 'dup' });
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain('辞职');
    } finally {
      await t.stop();
    }
  });

  it('redacts fields that could carry text or secrets', () => {
    const { log, lines } = memoryLog();
    log.info({ text: '内容', token: 'abc', nested: { secret: 's3' } }, 'event');
    expect(lines.join('')).not.toMatch(/内容|abc|s3/);
  });

  it('generates a development data key once, with a warning, and refuses to run production without one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-key-'));
    try {
      const { log, lines } = memoryLog();
      const config = loadConfig({ DATA_DIR: dir });
      const first = resolveDataKey(config, log);
      expect(first).toHaveLength(32);
      expect(lines.join('')).toContain('DATA_KEY is not set');
      expect(fs.statSync(path.join(dir, 'data.key')).mode & 0o777).toBe(0o600);
      expect(resolveDataKey(config, log).equals(first)).toBe(true);
      expect(() => loadConfig({ NODE_ENV: 'production', DINGTALK_CLIENT_ID: 'a', DINGTALK_CLIENT_SECRET: 'b' })).toThrow(/DATA_KEY/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

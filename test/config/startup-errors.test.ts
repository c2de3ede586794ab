import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';
import { createLogger } from '../../src/lib/logger';

/** Start-up failures name the variable to fix, not the system call (issue 10, item 11). */
describe('start-up errors', () => {
  let dir: string;
  const env = (extra: Record<string, string>) => ({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    DATABASE_URL: `sqlite:${path.join(dir, 'xinsheng.db')}`,
    DATA_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'silent',
    ...extra,
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-startup-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function startError(extra: Record<string, string>): Promise<Error> {
    const app = await createApp(loadConfig(env(extra)), { log: createLogger('silent') });
    try {
      await app.start();
    } catch (error) {
      return error as Error;
    } finally {
      await app.stop();
    }
    throw new Error('expected start() to fail');
  }

  it('names HOST when the bind address does not resolve, instead of getaddrinfo ENOTFOUND', async () => {
    const error = await startError({ HOST: 'no-such-host.invalid', PORT: '0' });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^HOST：找不到地址「no-such-host\.invalid」/);
  });

  it('names PORT when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await startError({ HOST: '127.0.0.1', PORT: String(port) });
      expect(error.message).toBe(`PORT：端口 ${port} 已被占用（另一个 xinsheng 是否已在运行？），请换一个端口`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('names DATABASE_URL when the SQLite file cannot be opened', async () => {
    const notADirectory = path.join(dir, 'file');
    fs.writeFileSync(notADirectory, '');
    await expect(createApp(loadConfig(env({ DATABASE_URL: `sqlite:${path.join(notADirectory, 'x.db')}` })), { log: createLogger('silent') })).rejects.toThrow(
      /^DATABASE_URL：无法连接数据库 SQLite 文件 .*x\.db：路径不对（其中有一段不是目录）$/,
    );
  });
});

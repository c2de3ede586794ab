import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs the real CLI entry point (src/main.ts through tsx) in `cwd`, with only PATH in the environment. */
function xinsheng(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      // tsx by its path: the working directory is a temporary folder without node_modules.
      ['--import', pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href, '-e', `require(${JSON.stringify(path.join(ROOT, 'src', 'main.ts'))}).runFromCommandLine(${JSON.stringify(args)})`],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('xinsheng reads .env from the working directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xinsheng-dotenv-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes its settings from .env, and a variable set in the environment wins over the file', async () => {
    fs.writeFileSync(path.join(dir, '.env'), 'DATA_DIR=from-dotenv\nTZ=Nowhere/Atall\nLOG_LEVEL=silent\n');
    const refused = await xinsheng(dir, ['migrate']);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('TZ：应为 IANA 时区名，如 Asia/Shanghai，实际为 Nowhere/Atall');

    const migrated = await xinsheng(dir, ['migrate'], { TZ: 'Asia/Shanghai' });
    expect(migrated.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'from-dotenv', 'xinsheng.db'))).toBe(true);
  }, 60_000);
});

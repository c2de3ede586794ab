import { startTestApp, type TestApp } from '../helpers/test-app';
import { importSampleOrg } from '../helpers/org-fixture';
import { runFromCommandLine } from '../../src/main';
import { CycleEntity, CycleTaskEntity } from '../../src/db/entities/cycle.entity';
import { formatZonedDate } from '../../src/lib/zoned-time';

/** `xinsheng cycle open QUARTER [--due DATE]` with the test app's environment; output captured. */
describe('xinsheng cycle open', () => {
  let t: TestApp;
  let output: string[];
  const savedEnv = { ...process.env };

  async function cli(...argv: string[]): Promise<{ code: number | undefined; text: string }> {
    output = [];
    process.exitCode = undefined;
    await runFromCommandLine(argv);
    const code = process.exitCode as number | undefined;
    process.exitCode = undefined;
    return { code, text: output.join('\n') };
  }

  beforeEach(async () => {
    t = await startTestApp();
    await importSampleOrg(t);
    Object.assign(process.env, t.env);
    jest.spyOn(console, 'log').mockImplementation((...args) => void output.push(args.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...args) => void output.push(args.join(' ')));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await t.stop();
  });

  it('opens a quarter by hand once; a past deadline needs --due; a bad quarter is refused', async () => {
    // A quarter far ahead, so the configured deadline (the 25th of its last month) is in the future.
    expect(await cli('cycle', 'open', '2030Q1')).toEqual({ code: 0, text: '已开启 R-2030Q1，截止 2030-03-25 17:00：2 个部门；其中 1 个部门没有联络员（已告知机关党委）。' });
    expect(await cli('cycle', 'open', '2030Q1')).toEqual({ code: 1, text: 'xinsheng：R-2030Q1 已经开启，未重复开启' });
    expect((await cli('cycle', 'open', '2020Q1')).text).toContain('已过，请用 --due YYYY-MM-DD 指定一个以后的日期');
    const due = formatZonedDate('Asia/Shanghai', Date.now() + 10 * 86_400_000);
    expect(await cli('cycle', 'open', '2020Q1', '--due', due)).toMatchObject({ code: 0, text: expect.stringContaining(`已开启 R-2020Q1，截止 ${due} 17:00`) });
    expect((await cli('cycle', 'open', 'Q5')).text).toContain('cycle open 需要季度，例如 2026Q4');
    expect(await t.app.dataSource.getRepository(CycleEntity).count()).toBe(2);
    expect(await t.app.dataSource.getRepository(CycleTaskEntity).count()).toBe(4);
  });
});

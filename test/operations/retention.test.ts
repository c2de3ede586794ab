import { loadConfig } from '../../src/config/load-config';
import { ERASED_TEXT } from '../../src/lib/data-cipher';
import { RETENTION_TIMER, nextNightlyRun, retentionCutoff } from '../../src/core/retention';
import { zonedDate } from '../../src/lib/zoned-time';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { cli, fillWithData, plainValues } from './support';

jest.setTimeout(120_000);

const DAY = 24 * 3600_000;

describe('RETENTION_YEARS', () => {
  it.each(['0', '-1', '1.5', 'five'])('refuses %s with a message naming the variable', (value) => {
    expect(() => loadConfig({ RETENTION_YEARS: value })).toThrow('RETENTION_YEARS：必须是 1 或更大的整数（年）；不设置则不删除任何内容');
  });

  it('is off by default; the cutoff is the same day that many years earlier; the job runs at 03:30 in TZ', () => {
    expect(loadConfig({}).retentionYears).toBeUndefined();
    expect(loadConfig({ RETENTION_YEARS: '5' }).retentionYears).toBe(5);
    expect(new Date(retentionCutoff(Date.UTC(2028, 1, 29, 12), 2)).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    // 2026-12-01 22:00 UTC is 06:00 on the 2nd in Shanghai: the next run is 03:30 on the 3rd.
    expect(new Date(nextNightlyRun('Asia/Shanghai', Date.UTC(2026, 11, 1, 22))).toISOString()).toBe('2026-12-02T19:30:00.000Z');
  });
});

describe.each(testDatabases())('retention with an injected clock (%s)', (database) => {
  let t: TestApp;
  let clock: number;

  beforeEach(async () => {
    clock = Date.now() - 3 * 365 * DAY;
    t = await startTestApp({ database, serve: true, env: { RETENTION_YEARS: '2', ESCALATION_ACK_TIMEOUT: '90000h' }, appOptions: { now: () => clock } });
  });
  afterEach(async () => {
    await t.stop();
  });

  it('the nightly job erases texts older than RETENTION_YEARS; counts, classifications and the ledger remain; dry run first changes nothing', async () => {
    // Old data three years back; fresh data a year back (the clock jumps, so the nightly job runs on its own in between).
    const old = await fillWithData(t, 3, clock);
    const chat = consoleClient(t);
    await chat.say('liu', `定性 ${old[1]} 个别性`);
    clock = Date.now() - 365 * DAY;
    const fresh = /S-\d{4}-\d{4}/.exec(onlyCard(await chat.say('zhangsan', '上报 新近反映的情况')).title)![0];
    const before = await plainValues(t.app.dataSource, t.app.cipher);
    const rows = async () => (await t.app.dataSource.query('SELECT number, category, method, status, issue_kind FROM insights ORDER BY id')) as unknown[];
    const rowsBefore = await rows();
    const pendingNights = async () => Number(((await t.app.dataSource.query("SELECT COUNT(*) AS n FROM timers WHERE kind = 'retention.nightly' AND state = 'pending'")) as { n: number }[])[0].n);
    expect(await pendingNights()).toBe(1);

    const dryRun = await cli(t.env, 'retention', '--dry-run');
    expect(dryRun.code).toBe(0);
    expect(dryRun.text).toMatch(
      /^试运行（未删除任何内容）：将删除 \d{4}-\d\d-\d\d 之前（超过 2 年）的个人层面文字 \d+ 项：\n  insights：4\n  insight_actions：1\n  suggestions：2\n  suggestion_senders：1\n  escalation_instructions：0\n  inbound_events：\d+\n  outbound_messages：\d+\n  cards：4\n  file_chunks：1\n  file_names：1\n  department_reports：0\n  survey_free_text：0\n  department_report_versions：0$/,
    );
    expect(await plainValues(t.app.dataSource, t.app.cipher)).toEqual(before);

    // Tonight: the scheduled job runs (the worker or runDue, whichever is first) and erases the old texts.
    clock = Date.now() + DAY;
    await t.app.timers.runDue([RETENTION_TIMER]);
    const erasing = async () =>
      (await t.app.dataSource.getRepository(LedgerEntryEntity).findBy({ kind: 'retention.erased' })).map((e) => JSON.parse(e.data)).find((d) => d.counts.insights > 0);
    for (let i = 0; i < 50 && !(await erasing()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await erasing()).toMatchObject({ years: 2, counts: { insights: 4, insight_actions: 1, suggestions: 2, suggestion_senders: 1, cards: 4, file_chunks: 1, file_names: 1 } });
    expect(await pendingNights()).toBe(1);

    expect(texts(await chat.say('liu', `查看 ${old[0]}`))).toContain(`内容：${ERASED_TEXT}`);
    expect(texts(await chat.say('liu', `查看 ${fresh}`))).toContain('内容：新近反映的情况');
    expect(await rows()).toEqual(rowsBefore);
    const after = await plainValues(t.app.dataSource, t.app.cipher);
    const insightTexts = [...after].filter(([k]) => k.startsWith('insights.text_enc')).map(([, v]) => v);
    expect(insightTexts.filter((v) => v === ERASED_TEXT)).toHaveLength(4);
    expect([...after.values()].some((v) => v.includes('加班较多') || v.includes('食堂菜价') || v.includes('报告.docx'))).toBe(false);
    expect(await cli(t.env, 'ledger', 'verify')).toMatchObject({ code: 0, text: expect.stringMatching(/^工作台账完整/) });
    // A second run finds nothing more to erase.
    expect((await cli(t.env, 'retention')).text).toMatch(/^已删除 .*的个人层面文字 0 项（已记入工作台账）/);
  });

  it('without RETENTION_YEARS nothing is erased and the command says why', async () => {
    const off = await cli({ ...t.env, RETENTION_YEARS: '' }, 'retention', '--dry-run');
    expect(off).toEqual({ code: 78, text: 'RETENTION_YEARS：未设置，保存期限未开启，不删除任何内容（例如 RETENTION_YEARS=5）' });
  });
});

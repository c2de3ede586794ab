import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { reportFromCli } from '../../src/cli/report-command';
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { LedgerEntryEntity } from '../../src/db/entities/ledger.entity';
import { InsightEntity } from '../../src/db/entities/insight.entity';
import { InsightActionEntity } from '../../src/db/entities/case.entity';
import { UnitReportEntity, ReviewMeetingEntity } from '../../src/db/entities/report.entity';
import { TimerEntity } from '../../src/db/entities/kernel.entity';
import { storeFile } from '../../src/core/file-store';
import type { FileEvent } from '../../src/core/events';
import { verifyLedger } from '../../src/core/ledger';
import { PAGE, LINE_PITCH, CHAR_SPACE } from '../../src/modules/report/report-docx';
import { docxParts, FAKE_FACTS, filesSentTo, paragraphs, REPORT_ORG, seedInsights, shanghai } from './fixture';

describe.each(testDatabases())('the unit report on %s', (database) => {
  let testApp: TestApp;
  let clock = shanghai(2026, 12, 1, 10);
  const chat = () => consoleClient(testApp);

  beforeEach(async () => {
    clock = shanghai(2026, 12, 1, 10);
    testApp = await startTestApp({ database, env: { UNIT_NAME: '某某局' }, appOptions: { now: () => clock, facts: FAKE_FACTS } });
    await importSampleOrg(testApp, REPORT_ORG);
    await seedInsights(testApp);
  });
  afterEach(async () => testApp.stop());

  const ledger = (kind: string) => testApp.app.dataSource.manager.find(LedgerEntryEntity, { where: { kind }, order: { id: 'ASC' } });

  it('报告 生成 sends a .docx in the official layout whose 总体情况 matches the database', async () => {
    const reply = texts(await chat().say('liu', '报告 生成 2026Q4'));
    expect(reply).toContain('已生成2026年第4季度思想动态分析报告草稿');
    const [file] = await filesSentTo(testApp, 'liu');
    expect(file.fileName).toBe('思想动态分析报告-2026Q4-草稿.docx');
    const docx = await docxParts(file.data);
    const text = paragraphs(docx.document);

    // The four sections of Art. 11, in order, each in 黑体.
    const headings = ['一、总体情况', '二、主要表现', '三、原因分析', '四、对策建议'].map((h) => text.indexOf(h));
    expect(headings.every((i) => i >= 0)).toBe(true);
    expect([...headings].sort((a, b) => a - b)).toEqual(headings);
    expect(docx.document).toMatch(/w:eastAsia="黑体"[^]*?<w:t[^>]*>一、总体情况/);
    expect(docx.document).toMatch(/w:eastAsia="楷体_GB2312"[^]*?<w:t[^>]*>（一）按类别/);
    expect(text[0]).toBe('内部资料　注意保密');
    expect(text).toContain('某某局2026年第4季度思想动态分析报告');
    expect(docx.document).toMatch(/w:eastAsia="方正小标宋简体"[^>]*\/>(?:<[^>]+>)*?<w:sz w:val="44"\/>/);
    expect(text).toContain('2026年12月1日');

    // A4, margins 37/35/28/26 mm in twips, 22 × 28 grid.
    expect(PAGE).toEqual({ width: 11906, height: 16838, margins: { top: 2098, bottom: 1984, left: 1587, right: 1474 } });
    expect(docx.document).toMatch(/<w:pgSz w:w="11906" w:h="16838"/);
    expect(docx.document).toMatch(/<w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1587"/);
    expect(LINE_PITCH).toBe(579);
    expect(docx.document).toContain(`<w:docGrid w:type="linesAndChars" w:linePitch="579" w:charSpace="${CHAR_SPACE}"/>`);

    // Every run with text names its East Asian font; the body is 3号 仿宋_GB2312.
    const runs = [...docx.document.matchAll(/<w:r>([\s\S]*?)<\/w:r>/g)].map((m) => m[1]).filter((r) => r.includes('<w:t'));
    expect(runs.length).toBeGreaterThan(50);
    expect(runs.filter((r) => !/w:eastAsia="[^"]+"/.test(r))).toEqual([]);
    expect(runs.some((r) => r.includes('w:eastAsia="仿宋_GB2312"') && r.includes('<w:sz w:val="32"/>'))).toBe(true);
    // A machine without the GB fonts falls back to 仿宋 / 华文中宋.
    expect(await docx.read('word/fontTable.xml')).toContain('<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>');

    // Page numbers "— 1 —" in 4号 宋体: odd right, even left (different odd/even footers).
    const footers = docx.files.filter((f) => /^word\/footer\d+\.xml$/.test(f));
    expect(footers).toHaveLength(2);
    const footerXml = await Promise.all(footers.map((f) => docx.read(f)));
    for (const xml of footerXml) {
      expect(xml).toMatch(/PAGE/);
      expect(xml).toContain('— ');
      expect(xml).toContain('w:eastAsia="宋体"');
      expect(xml).toContain('<w:sz w:val="28"/>');
    }
    expect(footerXml.map((x) => /<w:jc w:val="(right|left)"\/>/.exec(x)![1]).sort()).toEqual(['left', 'right']);
    expect(docx.document).toMatch(/<w:footerReference w:type="even"/);
    expect(await docx.read('word/settings.xml')).toContain('<w:evenAndOddHeaders/>');

    // Native charts: category distribution, four-quarter trend, the questionnaire's results.
    expect(docx.files.filter((f) => /^word\/charts\/chart\d+\.xml$/.test(f))).toHaveLength(3);

    // 总体情况's numbers are the database's counts.
    const em = testApp.app.dataSource.manager;
    const [{ n }] = await em.query('SELECT COUNT(*) AS n FROM insights WHERE created_at >= ? AND created_at < ?', [shanghai(2026, 10, 1, 0), shanghai(2027, 1, 1, 0)]);
    expect(Number(n)).toBe(5);
    expect(text.find((p) => p.startsWith('2026年第4季度，全单位共收集'))).toBe(
      '2026年第4季度，全单位共收集思想动态信息5条，其中「工作状态」方面最多（3条，占60%）。与上期（2026年第3季度，2条）相比增加3条（+150%）；与上年同期（1条）相比增加4条（+400%）。',
    );
    expect(text.join('|')).toContain('工作状态|3|1|1');
    expect(text.join('|')).toContain('财务处|4|2');
    expect(text.join('|')).toContain('其他部门|1|0');
    expect(text.join('\n')).toContain('本期即时报告1条，领导已确认1条，从报告到确认用时中位数12分钟');
    expect(text.join('\n')).toContain('问卷Q-2026-0003「职工工作满意度调查」发放40人，回收30份，回收率75%。');

    // 主要表现 names nobody: no person, no department under MIN_GROUP_SIZE.
    const performance = text.slice(headings[1], headings[2]).join('\n');
    expect(performance).toContain('“财务处同志普遍反映工作积极主动，某同志带头加班完成决算”（财务处）');
    expect(performance).toContain('“某部门某同志工作积极，但认为会议太多”（其他部门）');
    for (const name of ['钱五', '李四', '张三', '办公室']) expect(performance).not.toContain(name);
    // 原因分析 / 对策建议 from the department reports, attributed, names stripped.
    const causes = text.slice(headings[2], headings[3]).join('\n');
    expect(causes).toContain('财务处：年底工作集中，人手紧张。');
    expect(text.slice(headings[3]).join('\n')).toContain('财务处：建议合理安排决算期间的工作量，加强人员调配。');
    expect(text.join('|')).toContain('合理诉求|0|1|0');

    // Annex 1: figures with their sources, and the ledger head at generation time.
    const generated = (await ledger('report.generated'))[0];
    const head = await em.findOneByOrFail(LedgerEntryEntity, { id: generated.id - 1 });
    expect(text.join('\n')).toContain(`工作台账哈希（生成时）：${head.hash}`);
    expect(JSON.parse(generated.data)).toMatchObject({ ledgerHead: head.id, insights: 5 });
    expect(text.join('|')).toContain('信息总数|totals()|2026年第4季度|5');
    // Annex 2: the department reports.
    expect(text).toContain('附件2');
    expect(text.join('\n')).toContain('办公室（未报）');
  });

  it('a period without data gives a short report; a future period, an unknown cycle and a liaison get a clear reply', async () => {
    expect(texts(await chat().say('wang', '报告 生成 2025Q1'))).toContain('已生成2025年第1季度');
    const [empty] = await filesSentTo(testApp, 'wang');
    expect(paragraphs((await docxParts(empty.data)).document).join('\n')).toContain('全单位未收集到思想动态信息');

    const before = (await ledger('report.generated')).length;
    expect(texts(await chat().say('liu', '报告 生成 2027Q1'))).toBe('2027年第1季度还没有开始，不能生成报告。');
    expect(texts(await chat().say('liu', '报告 生成 R-2026-0099'))).toContain('找不到专项周期 R-2026-0099');
    expect(texts(await chat().say('liu', '报告 生成 明年'))).toContain('不认识「明年」这个时段');
    expect(texts(await chat().say('zhangsan', '报告 生成 2026Q4'))).toContain('「报告」仅限');
    expect(texts(await chat().say('zhangsan', '报告 下载 BG-2026-0001'))).toContain('「报告」仅限');
    expect(await filesSentTo(testApp, 'liu')).toHaveLength(0);
    expect(await ledger('report.generated')).toHaveLength(before);

    expect(texts(await chat().say('zhao', '报告 生成 R-2026-0002'))).toContain('已生成专项周期 R-2026-0002（2026年第4季度）');
    const [special] = await filesSentTo(testApp, 'zhao');
    expect(paragraphs((await docxParts(special.data)).document)).toContain('某某局专项周期R-2026-0002（2026年第4季度）思想动态专题分析报告');
  });

  it('on the console: the draft is a downloadable file message, and the edited file comes back with its caption', async () => {
    const replies = await chat().say('liu', '报告 生成 2026Q4');
    const message = replies.find((r): r is Extract<typeof r, { file: unknown }> => 'file' in r)!;
    expect(message.file).toMatchObject({ name: '思想动态分析报告-2026Q4-草稿.docx' });
    const url = new URL((message.file as { url: string }).url);
    const draft = (await testApp.request.get(url.pathname).buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    }).expect(200)).body as Buffer;
    expect(paragraphs((await docxParts(draft)).document)).toContain('一、总体情况');

    expect(texts(await chat().sendFile('liu', 'notes.txt', Buffer.from('x'), '报告 存档 2026Q4'))).toContain('不是 .docx 或 .pdf 文件');
    expect(texts(await chat().sendFile('liu', '定稿.docx', draft, '报告 存档 2026Q4'))).toContain('已存档 BG-2026-0001');
    const em = testApp.app.dataSource.manager;
    const record = await em.findOneByOrFail(UnitReportEntity, { number: 'BG-2026-0001' });
    expect(record.sha256).toBe(require('node:crypto').createHash('sha256').update(draft).digest('hex'));
  });

  it('xinsheng report 2026Q4 --out FILE.docx writes the same draft and records it', async () => {
    const out = path.join(testApp.dataDir, 'q4.docx');
    await expect(reportFromCli(testApp.app, '2026Q4', ['--out', 'q4.txt'], clock)).rejects.toThrow('report needs --out FILE.docx');
    await expect(reportFromCli(testApp.app, '2027Q1', ['--out', out], clock)).rejects.toThrow('还没有开始');
    expect(await reportFromCli(testApp.app, '2026Q4', ['--out', out], clock)).toContain('(5 insights,');
    const text = paragraphs((await docxParts(fs.readFileSync(out))).document);
    expect(text).toContain('某某局2026年第4季度思想动态分析报告');
    const [entry] = await ledger('report.generated');
    expect(entry.actorId).toBeNull();
    expect(JSON.parse(entry.data).via).toBe('cli');
  });

  async function sendFile(from: string, name: string, data: Buffer, extra: Partial<FileEvent['file']> = {}, caption?: string): Promise<string> {
    const stored = extra.refused ? null : await testApp.app.transact((em) => storeFile(em, testApp.app.cipher, { purpose: 'inbound', name, mimeType: 'application/pdf', data }, clock));
    const id = `console:file:${randomUUID()}`;
    const event: FileEvent = {
      id,
      platform: 'console',
      senderId: from,
      conversation: { kind: 'direct', id: from },
      receivedAt: clock,
      type: 'file',
      file: { name, ref: id, size: data.length, storedFileId: stored?.id, ...extra },
      caption,
    };
    await testApp.app.inbound.acceptAndProcess(event);
    const em = testApp.app.dataSource.manager;
    const rows = await em.query('SELECT content_enc FROM outbound_messages WHERE event_id = ? ORDER BY id', [id]);
    return rows.map((r: { content_enc: string }) => JSON.parse(testApp.app.cipher.decrypt(r.content_enc))).map((c: { text?: string }) => c.text ?? '').join('\n');
  }

  it('报告 存档 files the final version: encrypted, SHA-256 in the ledger, leaders get a card to receive it', async () => {
    const final = Buffer.from('%PDF-1.4 final report');
    expect(texts(await chat().say('zhangsan', '报告 存档 2026Q4'))).toContain('「报告」仅限');
    expect(texts(await chat().say('wang', '报告 存档 2026Q4'))).toContain('仅限机关党委');
    expect(texts(await chat().say('liu', '报告 存档 2027Q2'))).toContain('还没有开始');
    expect(texts(await chat().say('liu', '报告 存档 2026Q4'))).toContain('请在 30 分钟内发送2026年第4季度报告的定稿文件');

    // Wrong type and too large: a clear reply, nothing filed, the request still waits.
    expect(await sendFile('liu', 'notes.txt', Buffer.from('x'), { refused: 'type' })).toContain('不是 .docx 或 .pdf 文件');
    expect(await sendFile('liu', 'big.pdf', Buffer.alloc(10), { refused: 'too_large' })).toContain('超过 20 MB');
    expect(await sendFile('liu', 'table.xlsx', Buffer.from('x'))).toContain('不是 .docx 或 .pdf 文件');
    const em = testApp.app.dataSource.manager;
    expect(await em.countBy(UnitReportEntity, { state: 'record' })).toBe(0);
    expect(await em.query('SELECT id FROM stored_files')).toHaveLength(0);

    expect(await sendFile('liu', '2026年第四季度思想动态分析报告.pdf', final)).toContain('已存档 BG-2026-0001');
    const [archived] = await ledger('report.archived');
    const sha = require('node:crypto').createHash('sha256').update(final).digest('hex');
    expect(JSON.parse(archived.data)).toMatchObject({ period: '2026Q4', sha256: sha, size: final.length });
    const stored = await em.query('SELECT name_enc FROM stored_files');
    expect(stored[0].name_enc).not.toContain('报告');

    // The secretary and the deputy get the card; its button sends the file (a ledger entry).
    const card = onlyCard(await chat().inbox('wang'));
    expect(card.title).toBe('思想动态分析报告已存档：BG-2026-0001');
    expect(onlyCard(await chat().inbox('zhao')).cardId).toBe(card.cardId);
    await chat().act('wang', card.cardId, 'download');
    expect((await filesSentTo(testApp, 'wang'))[0].data.equals(final)).toBe(true);

    expect(texts(await chat().say('zhao', '报告 列表'))).toContain('BG-2026-0001　2026年第4季度');
    await chat().say('zhao', '报告 下载 1');
    expect((await filesSentTo(testApp, 'zhao'))[0].data.equals(final)).toBe(true);
    expect((await ledger('report.downloaded')).map((e) => [e.actorId, JSON.parse(e.data).via])).toEqual([['wang', 'card'], ['zhao', 'command']]);
    expect(texts(await chat().say('zhao', '报告 下载 BG-2026-0009'))).toContain('找不到存档报告 BG-2026-0009');

    // The caption form, and a file from someone without the right.
    expect(await sendFile('liu', 'q3.docx', Buffer.from('PK docx'), {}, '报告 存档 2026Q3')).toContain('已存档 BG-2026-0002（2026年第3季度');
    expect(await sendFile('zhangsan', 'q3.docx', Buffer.from('PK'), {}, '报告 存档 2026Q3')).toContain('仅限机关党委');
    expect(await em.countBy(UnitReportEntity, { state: 'record' })).toBe(2);
    expect((await verifyLedger(testApp.app.dataSource)).ok).toBe(true);
  });

  it('without the other modules’ providers a quarter with insights only still gives a report', async () => {
    const bare = await startTestApp({ database, appOptions: { now: () => clock } });
    try {
      await importSampleOrg(bare, REPORT_ORG);
      await seedInsights(bare);
      await consoleClient(bare).say('liu', '报告 生成 2026Q4');
      const [file] = await filesSentTo(bare, 'liu');
      const docx = await docxParts(file.data);
      const text = paragraphs(docx.document).join('\n');
      expect(text).toContain('本单位2026年第4季度思想动态分析报告');
      expect(text).toContain('全单位共收集思想动态信息5条');
      expect(text).toContain('本期尚无部门报告。');
      expect(text).not.toContain('（四）问卷调查');
      expect(text).toContain('本期无部门报告。');
      expect(docx.files.filter((f) => /^word\/charts\/chart\d+\.xml$/.test(f))).toHaveLength(2);
    } finally {
      await bare.stop();
    }
  });

  it('a review reminder that falls on a rest day moves to the next allowed morning', async () => {
    const other = await startTestApp({ database, env: { REVIEW_MEETING_MONTHS: '10,11' }, appOptions: { now: () => shanghai(2026, 9, 20) } });
    try {
      await other.app.transact((em) => other.app.bot.onStart(em, shanghai(2026, 9, 20)));
      const em = other.app.dataSource.manager;
      // 2026-10-01 is National Day (holidays to 10-07): 10-08 at 08:00; 2026-11-01 is a Sunday: Monday at 08:00.
      expect((await em.findOneByOrFail(TimerEntity, { key: 'review:2026-10:remind' })).dueAt).toBe(shanghai(2026, 10, 8, 8));
      expect((await em.findOneByOrFail(TimerEntity, { key: 'review:2026-11:remind' })).dueAt).toBe(shanghai(2026, 11, 2, 8));
      // Scheduling again at the next start-up moves nothing and adds nothing.
      await other.app.transact((em) => other.app.bot.onStart(em, shanghai(2026, 9, 21)));
      expect(await em.countBy(TimerEntity, { kind: 'report.review-remind' })).toBe(2);
    } finally {
      await other.stop();
    }
  });

  it('review meetings: a reminder two weeks ahead with the materials, 安排, 纪要 with actions, a 苗头性 prompt', async () => {
    clock = shanghai(2026, 5, 20, 10);
    await testApp.app.transact((em) => testApp.app.bot.onStart(em, clock));
    const em = testApp.app.dataSource.manager;
    const timer = await em.findOneByOrFail(TimerEntity, { key: 'review:2026-06:remind' });
    expect(timer.dueAt).toBe(shanghai(2026, 6, 1, 9));
    expect(await testApp.app.timers.runDue(['report.review-remind'])).toBe(0);
    clock = shanghai(2026, 6, 1, 9, );
    expect(await testApp.app.timers.runDue(['report.review-remind'])).toBe(1);
    const reminder = (await chat().inbox('wang')).map((m) => JSON.stringify(m)).join('\n');
    expect(reminder).toContain('思想动态分析研判会议提醒');
    expect(reminder).toContain('未化解的苗头性问题');
    expect(reminder).toContain('部门报告按时 2 份、逾期 1 份、未报 0 份');
    expect((await chat().inbox('liu')).length).toBe(1);
    expect(await chat().inbox('zhao')).toHaveLength(0);
    expect(await ledger('review.reminded')).toHaveLength(1);

    clock = shanghai(2026, 12, 1, 10);
    expect(texts(await chat().say('zhangsan', '研判会 安排 2026-12-15'))).toContain('仅限');
    expect(texts(await chat().say('wang', '研判会 安排 2026-11-15'))).toContain('已经过去');
    expect(texts(await chat().say('wang', '研判会 安排 2026-12-15'))).toContain('已安排思想动态分析研判会议 YP-2026-0001 定于 2026-12-15 召开');
    const insight = await em.findOneByOrFail(InsightEntity, { issueKind: 'demand' });
    expect(texts(await chat().say('liu', `研判会 纪要 YP-2026-0001 会议听取汇报。决定：${insight.number} 由人事处解释职称评定政策；S-2026-7777 跟进`))).toContain('不存在');
    expect((await em.findOneByOrFail(ReviewMeetingEntity, { number: 'YP-2026-0001' })).minutesEnc).toBeNull();
    expect(texts(await chat().say('liu', `研判会 纪要 YP-2026-0001 会议听取汇报。决定：${insight.number} 由人事处解释职称评定政策`))).toContain(`${insight.number} 已记为处置措施`);
    const meeting = await em.findOneByOrFail(ReviewMeetingEntity, { number: 'YP-2026-0001' });
    expect(meeting.minutesEnc).not.toContain('人事处');
    const actions = await em.findBy(InsightActionEntity, { insightId: insight.id, kind: 'action' });
    expect(testApp.app.cipher.decrypt(actions[0].textEnc!)).toBe(`研判会议 YP-2026-0001 决定：决定：${insight.number} 由人事处解释职称评定政策`);
    expect((await ledger('review.minutes')).map((e) => JSON.parse(e.data).insights)).toEqual([[insight.number]]);

    // An immediate report classified 苗头性 prompts the secretary.
    const immediate = await em.findOneByOrFail(InsightEntity, { kind: 'immediate' });
    await em.update(InsightEntity, { id: immediate.id }, { issueKind: null });
    await chat().say('liu', `定性 ${immediate.number} 苗头性`);
    expect((await chat().inbox('wang')).map((m) => JSON.stringify(m)).join('\n')).toContain(`研判会 安排 YYYY-MM-DD ${immediate.number}`);
    expect(await ledger('review.prompted')).toHaveLength(1);
  });
});

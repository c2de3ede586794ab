import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, onlyCard, texts } from '../helpers/console-client';
import { createLogger } from '../../src/lib/logger';
import { readableRows } from '../suggestions/db-snapshot';
import { importSurveyOrg, pageCards } from './survey-support';

/*
 * Issue §4: someone who reads the whole database (with DATA_KEY) and the logs tries to link the
 * answers of an anonymous questionnaire to the people who gave them, by every route we know of:
 * ids, key order, storage order, times, the other tables, logs, the outbox and the inbound store.
 */
describe.each(testDatabases())('anonymous questionnaire: answers cannot be linked to people (%s)', (database) => {
  let t: TestApp;
  const logLines: string[] = [];
  const respondents = ['tech0', 'log0', 'tech1', 'log1', 'tech2', 'log2', 'tech3', 'log3', 'tech4', 'log4', 'tech5', 'log5'];
  /** Each person's choices on page 1 are unique (politics × work), and so is their free text. */
  const choiceOf = (i: number) => ({ politics: String((i % 5) + 1), work: String((Math.floor(i / 5) % 5) + 1), workload: ['low', 'ok', 'high', 'over'][i % 4] });
  const markerOf = (person: string) => `独有意见${person}甲乙丙`;

  beforeAll(async () => {
    const log = createLogger('trace', { write: (line: string) => void logLines.push(line) } as never);
    t = await startTestApp({ database, appOptions: { log } });
    await importSurveyOrg(t);
    const chat = consoleClient(t);
    const preview = onlyCard(await chat.say('liu', '问卷 发布 quarterly-pulse 范围 技术处 后勤处 截止 3天'));
    await chat.act('liu', preview.cardId, 'confirm');
    for (const [i, person] of respondents.entries()) {
      let card = pageCards(await chat.inbox(person))[0];
      let replies = await chat.act(person, card.cardId, 'submit', choiceOf(i));
      card = pageCards(replies)[0];
      replies = await chat.act(person, card.cardId, 'submit', { concerns: i % 2 ? ['pay', 'title'] : ['housing'] });
      card = pageCards(replies)[0];
      replies = await chat.act(person, card.cardId, 'submit', { mood: 'some', society: String((i % 5) + 1) });
      expect(texts(replies)).toContain('文字题');
      expect(texts(await chat.say(person, markerOf(person)))).toContain('已收到您的回答');
    }
    // Later turns (and a delivery round) run the housekeeping that follows answers.
    await chat.say('liu', '我的');
    await t.app.outbox.runOnce();
  });
  afterAll(() => t.stop());

  const answers = async () => t.app.dataSource.query('SELECT * FROM survey_answers');

  it('stores every answer, without a person, without a time', async () => {
    const rows: Record<string, unknown>[] = await answers();
    expect(rows).toHaveLength(respondents.length * 7);
    const people = respondents.concat(['liu', 'wang']);
    for (const row of rows) {
      expect(row.person_id).toBeNull();
      expect(Object.keys(row).sort()).toEqual(['department_id', 'id', 'question_key', 'survey_id', 'text_enc', 'value', 'person_id'].sort());
      const text = JSON.stringify(row);
      for (const person of people) expect(text).not.toContain(person);
      // No value is a time (epoch ms or seconds of today), nor a counter that follows arrival.
      for (const value of Object.values(row)) expect(typeof value === 'number' ? value : 0).toBe(0);
    }
  });

  it('neither key order nor storage order follows the order of answering', async () => {
    const texts = (rows: { text_enc: string | null }[]) => rows.filter((r) => r.text_enc).map((r) => t.app.cipher.decrypt(r.text_enc!));
    const arrival = respondents.map(markerOf);
    const stored = texts(await answers());
    const byKey = texts(await t.app.dataSource.query('SELECT * FROM survey_answers ORDER BY id'));
    expect(stored.sort()).toEqual([...arrival].sort());
    // 12! orders: matching arrival by chance is a 1 in 479,001,600 event.
    expect(byKey).not.toEqual(arrival);
    expect(texts(await answers())).not.toEqual(arrival);
    if (database === 'sqlite') {
      // WITHOUT ROWID: there is no hidden insertion counter to order by.
      await expect(t.app.dataSource.query('SELECT rowid FROM survey_answers')).rejects.toThrow();
    } else {
      const [status] = await t.app.dataSource.query("SHOW TABLE STATUS WHERE Name = 'survey_answers'");
      expect(status.Auto_increment ?? null).toBeNull();
    }
  });

  it('participation keeps who and which day, never what', async () => {
    const rows: Record<string, unknown>[] = await t.app.dataSource.query('SELECT * FROM survey_participants');
    for (const row of rows) {
      expect(String(row.last_day ?? '2026-01-01')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(String(row.answered)).not.toMatch(/pay|housing|[1-5]/);
    }
  });

  it('no other table, log line, outbound or inbound row holds a person’s answer', async () => {
    const rows = [...(await readableRows(t.app.dataSource, t.app.cipher)).values()].filter((r) => !r.startsWith('survey_answers:'));
    for (const person of respondents) {
      const marker = markerOf(person);
      expect(rows.filter((r) => r.includes(marker))).toEqual([]);
      expect(logLines.filter((l) => l.includes(marker))).toEqual([]);
    }
    // The submitted choices: no inbound event keeps them, no outbound row shows them as selected.
    const inbound = rows.filter((r) => r.startsWith('inbound_events:'));
    expect(inbound.filter((r) => /politics|concerns|workload|society/.test(r))).toEqual([]);
    expect(inbound.filter((r) => respondents.some((p) => r.includes(`"${p}"`)))).toEqual([]);
    const outbound = rows.filter((r) => r.startsWith('outbound_messages:'));
    expect(outbound.filter((r) => r.includes('"selected"'))).toEqual([]);
    expect(logLines.filter((l) => /politics|concerns|workload|society/.test(l))).toEqual([]);
    // The ledger has no entry by a respondent.
    expect(rows.filter((r) => r.startsWith('ledger_entries:') && respondents.some((p) => r.includes(`"${p}"`)))).toEqual([]);
  });

  it('the tallies results read hold counts only: no person, no time, no order of arrival', async () => {
    const tables = {
      survey_answer_tallies: ['survey_id', 'question_key', 'department_key', 'option_id', 'n'],
      survey_department_tallies: ['survey_id', 'department_key', 'recipients', 'respondents'],
    };
    const people = respondents.concat(['liu', 'wang']);
    const [survey] = await t.app.dataSource.query('SELECT id FROM surveys');
    for (const [table, columns] of Object.entries(tables)) {
      const rows: Record<string, unknown>[] = await t.app.dataSource.query(`SELECT * FROM ${table}`);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(Object.keys(row).sort()).toEqual([...columns].sort());
        expect(row.survey_id).toBe(survey.id);
        for (const person of people) expect(JSON.stringify(row)).not.toContain(person);
        // The only numbers are counts, none larger than the number of people asked (技术处 and 后勤处: the 12 respondents).
        for (const [column, value] of Object.entries(row)) {
          if (['n', 'recipients', 'respondents'].includes(column)) expect(Number(value)).toBeLessThanOrEqual(respondents.length);
          else expect(typeof value).toBe('string');
        }
      }
      if (database === 'sqlite') {
        // WITHOUT ROWID, as survey_answers: no hidden counter tells in which order the counts first appeared.
        await expect(t.app.dataSource.query(`SELECT rowid FROM ${table}`)).rejects.toThrow();
      } else {
        const [status] = await t.app.dataSource.query(`SHOW TABLE STATUS WHERE Name = '${table}'`);
        expect(status.Auto_increment ?? null).toBeNull();
      }
    }
  });

  it('refuses to switch anonymity off once answers exist (no command changes it, the lock is stored)', async () => {
    const [row] = await t.app.dataSource.query('SELECT anonymous, locked FROM surveys');
    expect(Boolean(Number(row.anonymous))).toBe(true);
    expect(Boolean(Number(row.locked))).toBe(true);
  });
});

/**
 * bench/analysis: what 研判 costs.
 *  1. Keyword extraction at ingest: CPU per insight of segmenting, ranking and hashing the 304
 *     fixture texts (test/fixtures/analysis), each 20 times, after the dictionaries are loaded.
 *     Target < 1 ms. The whole 上报 turn (with keyword rows and the warning checks) is shown too.
 *  2. `研判` over a quarter of 200,000 insights (plus 100,000 in the quarter before), on SQLite
 *     and on MariaDB/MySQL, through the real bot path, 5 runs each. Target < 2 s for every run.
 *     Keywords are those the extractor gives the fixture texts, plus a long tail of 20,000 rarer
 *     ones (about every second insight carries one), so GROUP BY sees many small groups as in life.
 *
 *   npm run bench:analysis            (SQLite; MariaDB/MySQL too with --mysql, BENCH_MYSQL_URL or
 *                                       TEST_MYSQL_URL, e.g. mysql://root@127.0.0.1:3306)
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config/load-config';
import { createApp, type XinshengApp } from '../src/app';
import { createLogger } from '../src/lib/logger';
import { createKeywordExtractor, KEYWORDS_PER_INSIGHT } from '../src/modules/analysis/segmenter';
import { deriveKeywordKey, keywordHash } from '../src/modules/analysis/keyword-hash';
import { monthKey } from '../src/modules/analysis/months';
import { currentQuarter } from '../src/modules/analysis/warnings';
import { parsePeriod, periodBounds } from '../src/modules/summary/period';
import { INSIGHTS as FIXTURE } from '../test/fixtures/analysis/insights';
import { bulkInsert, loadOrganisation, mysqlTarget, runCommand, seededRandom, sqliteTarget, type Target } from './bulk-data';
import { recordBenchmark } from './record';

const QUARTER_INSIGHTS = Number(process.env.BENCH_INSIGHTS ?? 200_000);
const PREVIOUS_INSIGHTS = Math.round(QUARTER_INSIGHTS / 2);
const DEPARTMENTS = 200;
const TAIL_KEYWORDS = 20_000;
const RUNS = 5;
const TARGET_MS = 2000;
const EXTRACTION_REPEATS = 20;
const CATEGORIES = ['political', 'work', 'interests', 'wellbeing', 'other'];
const DAY = 86_400_000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpuMicros = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};

function measureExtraction(): { loadMs: number; microsPerInsight: number; keywordsPerInsight: number } {
  const extractor = createKeywordExtractor();
  const key = deriveKeywordKey(randomBytes(32));
  const loadStarted = process.hrtime.bigint();
  extractor.keywords('加载词典');
  const loadMs = Number(process.hrtime.bigint() - loadStarted) / 1e6;
  let keywords = 0;
  for (const { text } of FIXTURE) extractor.keywords(text); // warm-up
  const started = process.cpuUsage();
  for (let r = 0; r < EXTRACTION_REPEATS; r++) {
    for (const { text } of FIXTURE) {
      const words = extractor.keywords(text);
      for (const w of words) keywordHash(key, w);
      keywords += words.length;
    }
  }
  const calls = EXTRACTION_REPEATS * FIXTURE.length;
  return { loadMs, microsPerInsight: cpuMicros(started) / calls, keywordsPerInsight: keywords / calls };
}

interface Loaded {
  liaison: string;
  loadSeconds: number;
  keywordRows: number;
}

/** Keywords of the fixture texts (real extraction), a long tail of rarer ones, insights and their keyword rows. */
async function loadData(app: XinshengApp, dataKey: Buffer, now: number, quarterStart: number, previousStart: number): Promise<Loaded> {
  const random = seededRandom(16);
  const { liaisons } = await loadOrganisation(app, now, DEPARTMENTS);
  const extractor = createKeywordExtractor();
  const key = deriveKeywordKey(dataKey);
  const ids = new Map<string, number>();
  const keywordRows: unknown[][] = [];
  const idOf = (word: string) => {
    let id = ids.get(word);
    if (id === undefined) {
      id = ids.size + 1;
      ids.set(word, id);
      keywordRows.push([id, keywordHash(key, word), app.cipher.encrypt(word), app.cipher.primaryKeyId, now]);
    }
    return id;
  };
  const textKeywords = FIXTURE.map((f) => extractor.keywords(f.text).map(idOf));
  const tail = Array.from({ length: TAIL_KEYWORDS }, (_, i) => idOf(`长尾词${String(i).padStart(5, '0')}`));
  const started = Date.now();
  await bulkInsert(app.dataSource, 'analysis_keywords', ['id', 'hash', 'word_enc', 'hash_key', 'created_at'], keywordRows);

  const textEnc = app.cipher.encrypt('基准测试数据：同志们对职称评定、绩效分配议论较多');
  const total = QUARTER_INSIGHTS + PREVIOUS_INSIGHTS;
  const perInsight: { departmentId: string; category: string; createdAt: number; keywords: number[] }[] = [];
  for (let i = 0; i < total; i++) {
    const inQuarter = i >= PREVIOUS_INSIGHTS;
    const createdAt = inQuarter
      ? Math.floor(quarterStart + ((i - PREVIOUS_INSIGHTS) / QUARTER_INSIGHTS) * (now - quarterStart))
      : Math.floor(previousStart + (i / PREVIOUS_INSIGHTS) * (quarterStart - previousStart));
    const departmentId = `dept${String(1 + Math.floor(random() * DEPARTMENTS)).padStart(3, '0')}`;
    const keywords = [...textKeywords[Math.floor(random() * textKeywords.length)]];
    if (random() < 0.5 && keywords.length >= KEYWORDS_PER_INSIGHT) keywords.pop();
    if (keywords.length < KEYWORDS_PER_INSIGHT) keywords.push(tail[Math.floor(TAIL_KEYWORDS * random() ** 3)]);
    perInsight.push({ departmentId, category: CATEGORIES[i % 5], createdAt, keywords: [...new Set(keywords)] });
  }
  await bulkInsert(
    app.dataSource,
    'insights',
    ['id', 'number', 'reporter_id', 'department_id', 'method', 'category', 'kind', 'text_enc', 'status', 'issue_kind', 'created_at', 'updated_at'],
    perInsight.map((p, i) => [i + 1, `S-B-${String(i + 1).padStart(7, '0')}`, `${p.departmentId}-p1`, p.departmentId, 'observation', p.category, 'routine', textEnc, 'new', null, p.createdAt, p.createdAt]),
  );
  let rows = 0;
  await bulkInsert(
    app.dataSource,
    'insight_keywords',
    ['insight_id', 'keyword_id', 'department_id', 'category', 'created_at'],
    (function* () {
      for (const [i, p] of perInsight.entries()) {
        for (const k of p.keywords) {
          rows++;
          yield [i + 1, k, p.departmentId, p.category, p.createdAt];
        }
      }
    })(),
  );
  // The month counts that storeInsightKeywords keeps at ingest.
  const months = new Map<string, number>();
  const monthDepartments = new Map<string, number>();
  for (const p of perInsight) {
    const month = monthKey(app.config.timeZone, p.createdAt);
    for (const k of p.keywords) {
      months.set(`${month}|${k}`, (months.get(`${month}|${k}`) ?? 0) + 1);
      monthDepartments.set(`${k}|${month}|${p.departmentId}`, (monthDepartments.get(`${k}|${month}|${p.departmentId}`) ?? 0) + 1);
    }
  }
  await bulkInsert(app.dataSource, 'keyword_months', ['month', 'keyword_id', 'n'], [...months].map(([key, n]) => [...key.split('|').map(Number), n]));
  await bulkInsert(
    app.dataSource,
    'keyword_month_departments',
    ['keyword_id', 'month', 'department_id', 'n'],
    [...monthDepartments].map(([key, n]) => {
      const [k, month, department] = key.split('|');
      return [Number(k), Number(month), department, n];
    }),
  );
  return { liaison: liaisons[0], loadSeconds: (Date.now() - started) / 1000, keywordRows: rows };
}

async function benchmark(target: Target): Promise<{ rows: string[]; reportMs: number; loaded: Loaded }> {
  const dataKey = randomBytes(32);
  const env = { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_KEY: dataKey.toString('base64'), LOG_LEVEL: 'silent', CONSOLE: 'on', ...target.env };
  const app = await createApp(loadConfig(env), { log: createLogger('silent') });
  const rows: string[] = [];
  try {
    await app.migrate();
    const now = Date.now();
    const quarterStart = currentQuarter(app.config.timeZone, now).start;
    const previousStart = periodBounds(parsePeriod('上季度', app.config.timeZone, now)!, app.config.timeZone).start;
    const loaded = await loadData(app, dataKey, now, quarterStart, previousStart);
    console.log(`${target.name}: loaded ${QUARTER_INSIGHTS + PREVIOUS_INSIGHTS} insights and ${loaded.keywordRows} keyword rows in ${loaded.loadSeconds.toFixed(1)} s`);
    for (const [sender, text, viewer] of [
      ['office1', '研判', '机关党委（全单位）'],
      ['office1', '研判 上季度', '机关党委（全单位）'],
      [loaded.liaison, '研判', '联络员（本部门）'],
    ]) {
      const times: number[] = [];
      let reply = '';
      for (let run = 0; run < RUNS; run++) ({ ms: times[run], reply } = await runCommand(app, sender, text));
      const themes = reply.split('\n').filter((l) => /^\| [^-话]/.test(l)).length;
      if (!reply.includes('### 主要话题') || themes === 0) throw new Error(`${target.name} ${text}: unexpected reply ${reply.slice(0, 300)}`);
      const verdict = Math.max(...times) < TARGET_MS ? '✓' : '✗';
      const cells = [times[0], median(times.slice(1)), Math.max(...times)].map((ms) => ms.toFixed(0)).join(' | ');
      rows.push(`| ${target.name} | \`${text}\` | ${viewer} | ${themes} | ${cells} | ${verdict} |`);
      console.log(rows[rows.length - 1]);
    }
    // 上报 on the full database: keyword rows and the warning checks (indexed counts) in the turn.
    const reportTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const text = `上报 #诉求 ${FIXTURE[i * 7].text}`;
      reportTimes.push((await runCommand(app, loaded.liaison, text)).ms);
    }
    return { rows, reportMs: median(reportTimes), loaded };
  } finally {
    await app.stop();
    await target.cleanup();
  }
}

const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(', ');

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const extraction = measureExtraction();
  console.log(`extraction: ${extraction.microsPerInsight.toFixed(1)} µs CPU per insight (${extraction.keywordsPerInsight.toFixed(1)} keywords), dictionaries loaded in ${extraction.loadMs.toFixed(0)} ms`);
  const wantMysql = process.argv.includes('--mysql') || Boolean(process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL);
  const mysqlUrl = (process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
  const targets: (() => Promise<Target>)[] = [async () => sqliteTarget()];
  if (wantMysql) targets.push(() => mysqlTarget(mysqlUrl));
  const rows: string[] = [];
  const turns: string[] = [];
  for (const make of targets) {
    const target = await make();
    const result = await benchmark(target);
    rows.push(...result.rows, `| ${target.name} | _(bulk load: ${(QUARTER_INSIGHTS + PREVIOUS_INSIGHTS).toLocaleString('en')} insights, ${result.loaded.keywordRows.toLocaleString('en')} keyword rows, ${result.loaded.loadSeconds.toFixed(0)} s)_ | | | | | | |`);
    turns.push(`${target.name} ${result.reportMs.toFixed(1)} ms`);
  }
  const extractionVerdict = extraction.microsPerInsight < 1000 ? '✓' : '✗';
  recordBenchmark(
    'analysis',
    [
      `## 研判: keyword extraction and themes over a quarter of ${QUARTER_INSIGHTS.toLocaleString('en')} insights (\`npm run bench:analysis\`)`,
      '',
      `**Extraction at ingest**: ${extraction.microsPerInsight.toFixed(1)} µs of CPU per insight (target < 1 ms ${extractionVerdict}) — jieba segmentation and POS tags, TF-IDF ranking, stop words and the unit's terms, HMAC-SHA256 of ${extraction.keywordsPerInsight.toFixed(1)} keywords — over the ${FIXTURE.length} fixture texts × ${EXTRACTION_REPEATS}. Loading the dictionaries once per process: ${extraction.loadMs.toFixed(0)} ms (at the first insight). A whole \`上报\` turn on the full database below (keyword rows, warning checks, confirmation card; wall time, median of 20): ${turns.join(', ')}.`,
      '',
      `**研判** runs through the bot (stored inbound event, one transaction, ranking from the month counts, clusters from the co-occurrence of the twenty leading keywords (each judged on at most 500 of its latest insights), departments and categories of the ten shown from covering indexes, markdown reply in the outbox), ${RUNS} times right after the bulk load of ${QUARTER_INSIGHTS.toLocaleString('en')} insights in the current quarter and ${PREVIOUS_INSIGHTS.toLocaleString('en')} in the previous one (${DEPARTMENTS} departments; the fixture's keywords plus ${TAIL_KEYWORDS.toLocaleString('en')} long-tail ones); target < ${TARGET_MS} ms for every run.`,
      '',
      `| database | command | viewer | themes shown | first run ms | median of runs 2–${RUNS} ms | slowest ms | < 2 s |`,
      '|---|---|---|---:|---:|---:|---:|:---:|',
      ...rows,
      wantMysql ? '' : '\n_MariaDB/MySQL not measured: pass --mysql or set BENCH_MYSQL_URL / TEST_MYSQL_URL._',
      '',
      `Load average (1, 5, 15 min; 2 shared cores): ${loadAtStart} at the start, ${loadAverage()} at the end.`,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

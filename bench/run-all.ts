/**
 * `npm run bench`: every benchmark, one after another, each in its own process, each rewriting its
 * section of BENCHMARKS.md. `npm run bench -- --quick` runs each at a tenth of its size as a smoke
 * check and leaves BENCHMARKS.md as it is (a tenth-size run is not a figure to keep).
 * TEST_MYSQL_URL adds the MariaDB/MySQL variants, as for each benchmark alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** Each benchmark and the sizes of its quick run (a tenth of its defaults). */
const BENCHES: { file: string; quick: Record<string, string> }[] = [
  { file: 'wecom-ingest.ts', quick: { BENCH_REQUESTS: '4000', BENCH_BARE_REQUESTS: '10000' } },
  { file: 'dingtalk-stream.ts', quick: { BENCH_MESSAGES: '1000' } },
  { file: 'escalation-latency.ts', quick: { BENCH_REPORTS: '30' } },
  { file: 'outbox-throughput.ts', quick: {} },
  { file: 'summary.ts', quick: { BENCH_INSIGHTS: '100000' } },
  { file: 'wecom-robot.ts', quick: { BENCH_MESSAGES: '1000' } },
  { file: 'analysis.ts', quick: { BENCH_INSIGHTS: '20000' } },
  { file: 'cycles.ts', quick: { BENCH_DEPARTMENTS: '200', BENCH_INSIGHTS: '20000' } },
  { file: 'report.ts', quick: { BENCH_INSIGHTS: '20000' } },
  { file: 'survey.ts', quick: { BENCH_SURVEY_RECIPIENTS: '2000', BENCH_SURVEY_ANSWERS: '20000' } },
];
/** Helpers, and the soak run (its own command: it runs for 30 minutes). */
const NOT_BENCHMARKS = new Set(['bench-app.ts', 'bulk-data.ts', 'record.ts', 'run-all.ts', 'soak.ts']);

function main(): number {
  const quick = process.argv.includes('--quick');
  const listed = new Set(BENCHES.map((b) => b.file));
  const unlisted = fs.readdirSync(__dirname).filter((f) => f.endsWith('.ts') && !NOT_BENCHMARKS.has(f) && !listed.has(f));
  if (unlisted.length) {
    console.error(`bench/run-all.ts: add ${unlisted.join(', ')} to BENCHES (with its quick sizes)`);
    return 1;
  }
  const failed: string[] = [];
  for (const bench of BENCHES) {
    const started = Date.now();
    console.log(`\n=== bench/${bench.file}${quick ? ' (quick: a tenth of its size, BENCHMARKS.md not rewritten)' : ''}`);
    const env = quick ? { ...process.env, BENCH_SCALE: '0.1', BENCH_NO_RECORD: '1', ...bench.quick } : process.env;
    const result = spawnSync(process.execPath, ['-r', path.join(__dirname, 'register-ts.js'), path.join(__dirname, bench.file)], { stdio: 'inherit', env });
    console.log(`=== bench/${bench.file}: ${result.status === 0 ? 'done' : `FAILED (${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (result.status !== 0) failed.push(bench.file);
  }
  if (failed.length) console.error(`\nFailed: ${failed.join(', ')}`);
  return failed.length ? 1 : 0;
}

process.exitCode = main();

import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes one benchmark's section of BENCHMARKS.md, between `<!-- bench:NAME -->` markers, leaving
 * the other benchmarks' sections as they are.
 */
export function recordBenchmark(name: string, markdown: string): void {
  // A quick smoke run (npm run bench -- --quick) prints its figures but keeps the recorded ones.
  if (process.env.BENCH_NO_RECORD) {
    console.log(markdown.trim());
    return;
  }
  const file = path.join(__dirname, '..', 'BENCHMARKS.md');
  const header = '# Benchmarks\n\nFigures written by the scripts under `bench/` (each rewrites its own section). Machine: 2 cores, shared; compare ratios measured in one run rather than absolute numbers.\n';
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : header;
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${start}\n${markdown.trim()}\n\n_Measured ${new Date().toISOString()} on Node ${process.version}._\n${end}`;
  const pattern = new RegExp(`${start}[\\s\\S]*?${end}`);
  const next = pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, next);
  console.log(markdown.trim());
}

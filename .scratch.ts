import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { loadConfig } from './src/config/load-config';
import { createApp } from './src/app';
import { createLogger } from './src/lib/logger';
async function main() {
  const file = '/tmp/i16/s.db';
  if (!fs.existsSync(file)) {
    const app = await createApp(loadConfig({ NODE_ENV: 'test', DATABASE_URL: `sqlite:${file}`, DATA_DIR: '/tmp/i16', DATA_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent', CONSOLE: 'on' }), { log: createLogger('silent') });
    await app.migrate(); await app.stop();
    const db = new Database(file);
    let seed = 7; const rnd = () => { seed = (seed * 1664525 + 1013904223) % 4294967296; return seed / 4294967296; };
    const ins = db.prepare('INSERT INTO insights (id, number, reporter_id, department_id, method, category, kind, text_enc, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)');
    const ik = db.prepare('INSERT OR IGNORE INTO insight_keywords (insight_id, keyword_id, department_id, created_at) VALUES (?,?,?,?)');
    const q0 = Date.UTC(2026, 8, 30, 16), now = Date.UTC(2026, 11, 1), qp = Date.UTC(2026, 5, 30, 16);
    db.transaction(() => {
      for (let i = 1; i <= 300000; i++) {
        const t = i <= 100000 ? qp + (i / 100000) * (q0 - qp) : q0 + ((i - 100000) / 200000) * (now - q0);
        const d = 'dept' + (1 + Math.floor(rnd() * 200));
        ins.run(i, 'S-' + i, 'x', d, 'observation', ['political','work','interests','wellbeing','other'][i % 5], 'routine', 'v1:x', 'new', Math.floor(t), Math.floor(t));
        const base = Math.floor(rnd() * 300);
        for (const k of [1 + (base % 300), 1 + ((base * 7) % 300), 1 + ((base * 13) % 300), 301 + Math.floor(20000 * rnd() ** 3)]) ik.run(i, k, d, Math.floor(t));
      }
    })();
    db.close();
  }
  const db = new Database(file);
  const q0 = Date.UTC(2026, 8, 30, 16), end = Date.UTC(2026, 11, 31, 16);
  const time = (label: string, sql: string, params: unknown[]) => { const t = process.hrtime.bigint(); const r = db.prepare(sql).all(...params); console.log(label, Number(process.hrtime.bigint() - t) / 1e6, 'ms', r.length); return r; };
  console.log(db.prepare('EXPLAIN QUERY PLAN SELECT keyword_id AS k, COUNT(*) AS n, COUNT(DISTINCT department_id) AS d FROM insight_keywords WHERE created_at >= ? AND created_at < ? GROUP BY keyword_id HAVING COUNT(*) >= 3 ORDER BY n DESC LIMIT 10').all(q0, end));
  time('main', 'SELECT keyword_id AS k, COUNT(*) AS n, COUNT(DISTINCT department_id) AS d FROM insight_keywords WHERE created_at >= ? AND created_at < ? GROUP BY keyword_id HAVING COUNT(*) >= 3 ORDER BY n DESC LIMIT 10', [q0, end]);
  time('main-nodistinct', 'SELECT keyword_id AS k, COUNT(*) AS n FROM insight_keywords WHERE created_at >= ? AND created_at < ? GROUP BY keyword_id HAVING COUNT(*) >= 3 ORDER BY n DESC LIMIT 10', [q0, end]);
  time('two-level', 'SELECT k, SUM(n) AS n, COUNT(dep) AS d FROM (SELECT keyword_id AS k, department_id AS dep, COUNT(*) AS n FROM insight_keywords WHERE created_at >= ? AND created_at < ? GROUP BY keyword_id, department_id) g GROUP BY k HAVING SUM(n) >= 3 ORDER BY n DESC LIMIT 10', [q0, end]);
  const top = (time('x', 'SELECT keyword_id AS k, COUNT(*) AS n FROM insight_keywords WHERE created_at >= ? AND created_at < ? GROUP BY keyword_id ORDER BY n DESC LIMIT 10', [q0, end]) as { k: number }[]).map((r) => r.k);
  time('cats', `SELECT ik.keyword_id AS k, i.category AS c, COUNT(*) AS n FROM insight_keywords ik JOIN insights i ON i.id = ik.insight_id WHERE ik.keyword_id IN (${top.join(',')}) AND ik.created_at >= ? AND ik.created_at < ? GROUP BY ik.keyword_id, i.category`, [q0, end]);
  time('prev', `SELECT keyword_id AS k, COUNT(*) AS n FROM insight_keywords WHERE keyword_id IN (${top.join(',')}) AND created_at >= ? AND created_at < ? GROUP BY keyword_id`, [q0 - 92 * 86400000, q0]);
  time('catcount', `SELECT COUNT(*) FROM insights WHERE category = ? AND created_at >= ?`, ['work', q0]);
  time('deptcount', `SELECT COUNT(*) FROM insights WHERE department_id = ? AND created_at >= ?`, ['dept5', q0]);
  time('spread', `SELECT keyword_id AS k, COUNT(*) AS n, COUNT(DISTINCT department_id) AS d FROM insight_keywords WHERE keyword_id IN (${top.slice(0,4).join(',')}) AND created_at >= ? GROUP BY keyword_id`, [end - 45 * 86400000]);
}
main();

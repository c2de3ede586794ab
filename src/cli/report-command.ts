import fs from 'node:fs';
import type { XinshengApp } from '../app';
import { appendLedger } from '../core/ledger';
import { generateReport } from '../modules/report/report-service';
import { resolveReportTarget } from '../modules/report/report-target';

/** `xinsheng report 2026Q4 --out FILE.docx`: the draft as 报告 生成 writes it; a ledger entry without actor. */
export async function reportFromCli(app: XinshengApp, period: string, args: string[], now = Date.now()): Promise<string> {
  const at = args.indexOf('--out');
  const out = at >= 0 ? args[at + 1] : undefined;
  if (!out || !/\.docx$/i.test(out)) throw new Error('report needs --out FILE.docx');
  const services = app.services;
  const report = await app.transact(async (em) => {
    const target = await resolveReportTarget(em, services, period, now);
    const generated = await generateReport(em, services, target, { unitName: app.config.report.unitName, now });
    await appendLedger(em, { kind: 'report.generated', subjectType: 'report', subjectId: target.key, data: { sha256: generated.sha256, size: generated.data.length, ledgerHead: generated.figures.ledgerHead.id, via: 'cli' } }, now);
    return generated;
  });
  fs.writeFileSync(out, report.data);
  return `Wrote ${report.figures.target.label} (${report.figures.total.current} insights, ${report.figures.figures.length} traced figures) to ${out}. SHA-256 ${report.sha256}`;
}

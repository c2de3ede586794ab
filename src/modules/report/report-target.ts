import type { EntityManager } from 'typeorm';
import type { FactServices, FactSources } from '../../domain/facts';
import { parsePeriod, periodBounds, type PeriodBounds } from '../summary/period';
import { zonedDate } from '../../lib/zoned-time';

/** What a report covers: a quarter (定期报告), a month, or a special cycle (专题报告, R-2026-0002). */
export interface ReportTarget {
  /** 2026Q4, 2026-11 or R-2026-0002: what 报告 存档 and 报告 列表 name it by. */
  key: string;
  label: string;
  bounds: PeriodBounds;
  cycleNumber?: string;
}

export class ReportTargetError extends Error {}

const USAGE = '可用：报告 生成 2026Q4（季度）、报告 生成 2026-11（月份）、报告 生成 上季度，或专项周期编号 R-2026-0002。';

export function periodKey(bounds: PeriodBounds): string {
  const p = bounds.period;
  return p.kind === 'quarter' ? `${p.year}Q${p.index}` : `${p.year}-${String(p.index).padStart(2, '0')}`;
}

function cycleNumber(word: string): string | null {
  const m = /^r-?(\d{4})-?(\d{1,6})$/i.exec(word.trim());
  return m ? `R-${m[1]}-${m[2].padStart(4, '0')}` : null;
}

/**
 * Reads the words after 报告 生成 / 存档. A special cycle is known from the reporting-cycle module's
 * department reports (facts.departmentReports); its figures cover the quarter its reports were
 * submitted in (the latest submission), since the fact types carry no cycle dates.
 */
export async function resolveReportTarget(
  em: EntityManager,
  services: FactServices & { facts: FactSources },
  words: string,
  now: number,
): Promise<ReportTarget> {
  const word = words.trim();
  const cycle = cycleNumber(word);
  if (cycle) {
    const reports = services.facts.departmentReports ? await services.facts.departmentReports(em, services, { cycleNumber: cycle }) : [];
    if (reports.length === 0) throw new ReportTargetError(`找不到专项周期 ${cycle}（或该周期还没有部门报告）。请核对编号。`);
    const submitted = reports.map((r) => r.submittedAt ?? 0).filter((t) => t > 0);
    const at = submitted.length ? Math.max(...submitted) : now;
    const day = zonedDate(services.timeZone, at);
    const bounds = periodBounds({ kind: 'quarter', year: day.year, index: Math.ceil(day.month / 3) }, services.timeZone);
    return { key: cycle, label: `专项周期 ${cycle}（${bounds.label}）`, bounds, cycleNumber: cycle };
  }
  const period = parsePeriod(word, services.timeZone, now);
  if (!period) throw new ReportTargetError(`不认识「${word.slice(0, 20)}」这个时段。${USAGE}`);
  const bounds = periodBounds(period, services.timeZone);
  if (bounds.start > now) throw new ReportTargetError(`${bounds.label}还没有开始，不能生成报告。`);
  return { key: periodKey(bounds), label: bounds.label, bounds };
}

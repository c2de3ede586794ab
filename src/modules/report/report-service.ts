import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { FactServices, FactSources } from '../../domain/facts';
import { collectReportData, createScrubber, type ReportData } from './report-data';
import { buildReportDocx } from './report-docx';
import type { ReportTarget } from './report-target';
import { personNames } from '../org/org-queries';

export const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

export interface GeneratedReport {
  fileName: string;
  data: Buffer;
  sha256: string;
  figures: ReportData;
}

/** Reads the data and writes the draft .docx; the caller records it in the ledger. */
export async function generateReport(
  em: EntityManager,
  services: FactServices & { facts: FactSources },
  target: ReportTarget,
  options: { unitName: string; now: number },
): Promise<GeneratedReport> {
  const data = await collectReportData(em, services, target, options);
  const scrubPeople = createScrubber(await personNames(em), '某同志');
  const file = await buildReportDocx({ data, timeZone: services.timeZone, scrubPeople, draft: true });
  return {
    fileName: `思想动态分析报告-${target.key}-草稿.docx`,
    data: file,
    sha256: createHash('sha256').update(file).digest('hex'),
    figures: data,
  };
}

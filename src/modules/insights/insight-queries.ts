import type { EntityManager } from 'typeorm';
import type { Category } from '../../db/entities/insight.entity';

/*
 * Small reads of insights for other modules (the unit report), so they need not know the table.
 * Texts stay encrypted here: the caller decrypts only the few it prints.
 */

export interface MeasureCount {
  /** Art. 14 kind: common, individual, demand, warning. */
  issueKind: string;
  status: string;
  count: number;
}

/** Insights of the range that were classified (定性, Art. 14), by kind and present status. */
export async function measuresByKindAndStatus(em: EntityManager, range: { start: number; end: number }): Promise<MeasureCount[]> {
  const rows: Record<string, unknown>[] = await em.query(
    `SELECT issue_kind AS k, status AS s, COUNT(*) AS n FROM insights
     WHERE created_at >= ? AND created_at < ? AND issue_kind IS NOT NULL GROUP BY issue_kind, status`,
    [range.start, range.end],
  );
  return rows.map((r) => ({ issueKind: String(r.k), status: String(r.s), count: Number(r.n) }));
}

export interface InsightSample {
  number: string;
  departmentId: string | null;
  category: Category;
  kind: string;
  issueKind: string | null;
  textEnc: string;
  createdAt: number;
}

/**
 * The latest insights of one category in the range (at most `limit`), for excerpts: `concern` picks
 * those classified as a problem (any Art. 14 kind) or reported as immediate, otherwise the others.
 */
export async function insightSamples(
  em: EntityManager,
  range: { start: number; end: number },
  category: Category,
  concern: boolean,
  limit: number,
): Promise<InsightSample[]> {
  const filter = concern ? `(issue_kind IS NOT NULL OR kind = 'immediate')` : `(issue_kind IS NULL AND kind <> 'immediate')`;
  const rows: Record<string, unknown>[] = await em.query(
    `SELECT number, department_id, category, kind, issue_kind, text_enc, created_at FROM insights
     WHERE created_at >= ? AND created_at < ? AND category = ? AND ${filter}
     ORDER BY created_at DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
    [range.start, range.end, category],
  );
  return rows.map((r) => ({
    number: String(r.number),
    departmentId: r.department_id === null ? null : String(r.department_id),
    category: String(r.category) as Category,
    kind: String(r.kind),
    issueKind: r.issue_kind === null ? null : String(r.issue_kind),
    textEnc: String(r.text_enc),
    createdAt: Number(r.created_at),
  }));
}

/** Open warnings (苗头性, not closed) and classified-but-unhandled insights as they stand now. */
export async function openFollowUps(em: EntityManager): Promise<{ warnings: string[]; warningCount: number; unhandled: number; unclassified: number }> {
  const warnings: Record<string, unknown>[] = await em.query(
    `SELECT number FROM insights WHERE issue_kind = 'warning' AND status <> 'closed' ORDER BY created_at ASC LIMIT 20`,
  );
  const [row] = await em.query(
    `SELECT SUM(CASE WHEN issue_kind = 'warning' AND status <> 'closed' THEN 1 ELSE 0 END) AS w,
            SUM(CASE WHEN status = 'classified' THEN 1 ELSE 0 END) AS u,
            SUM(CASE WHEN status = 'new' THEN 1 ELSE 0 END) AS c FROM insights WHERE status <> 'closed'`,
  );
  return {
    warnings: warnings.map((r) => String(r.number)),
    warningCount: Number(row?.w ?? 0),
    unhandled: Number(row?.u ?? 0),
    unclassified: Number(row?.c ?? 0),
  };
}

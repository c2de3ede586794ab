import type { EntityManager } from 'typeorm';

/** Immediate reports (即时报告) of a range and how fast a leader acknowledged them, for the unit report. */
export interface ImmediateReportStats {
  reports: number;
  acknowledged: number;
  /** Median minutes from the report to its acknowledgement; null when none was acknowledged. */
  medianAckMinutes: number | null;
  /** Longest wait among the acknowledged, in minutes. */
  maxAckMinutes: number | null;
}

export async function immediateReportStats(em: EntityManager, range: { start: number; end: number }): Promise<ImmediateReportStats> {
  const [row] = await em.query(`SELECT COUNT(*) AS n FROM insights WHERE kind = 'immediate' AND created_at >= ? AND created_at < ?`, [range.start, range.end]);
  const waits: { wait: number | string }[] = await em.query(
    `SELECT e.acknowledged_at - i.created_at AS wait FROM escalations e JOIN insights i ON i.id = e.insight_id
     WHERE i.kind = 'immediate' AND i.created_at >= ? AND i.created_at < ? AND e.acknowledged_at IS NOT NULL ORDER BY wait`,
    [range.start, range.end],
  );
  const minutes = waits.map((w) => Math.max(0, Number(w.wait)) / 60_000);
  const median = minutes.length === 0 ? null : minutes.length % 2 ? minutes[(minutes.length - 1) / 2] : (minutes[minutes.length / 2 - 1] + minutes[minutes.length / 2]) / 2;
  return {
    reports: Number(row?.n ?? 0),
    acknowledged: minutes.length,
    medianAckMinutes: median === null ? null : Math.round(median * 10) / 10,
    maxAckMinutes: minutes.length ? Math.round(minutes[minutes.length - 1] * 10) / 10 : null,
  };
}

import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

/**
 * A report of record (思想动态分析报告 as the office filed it, Art. 17): the final .docx/.pdf, stored
 * encrypted in stored_files. A row in state `awaiting` is an office member's 报告 存档 waiting for the file.
 */
export interface UnitReport {
  id: number;
  /** BG-2026-0001, once filed. */
  number: string | null;
  /** 2026Q4, 2026-11 or R-2026-0002. */
  periodKey: string;
  label: string;
  state: 'awaiting' | 'record';
  fileId: string | null;
  sha256: string | null;
  requestedBy: string;
  archivedAt: number | null;
  createdAt: number;
}

export const UnitReportEntity = new EntitySchema<UnitReport>({
  name: 'UnitReport',
  tableName: 'unit_reports',
  columns: {
    id: increment(),
    number: { type: 'varchar', length: 20, unique: true, nullable: true },
    periodKey: { name: 'period_key', type: 'varchar', length: 20 },
    label: { type: 'varchar', length: 64 },
    state: { type: 'varchar', length: 16 },
    fileId: { name: 'file_id', type: 'varchar', length: 36, nullable: true },
    sha256: { type: 'varchar', length: 64, nullable: true },
    requestedBy: { name: 'requested_by', type: 'varchar', length: 64 },
    archivedAt: { name: 'archived_at', ...epochMs(true) },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

/** A review meeting (分析研判会议, Art. 12): scheduled, then its minutes (encrypted). */
export interface ReviewMeeting {
  id: number;
  /** YP-2026-0001. */
  number: string;
  /** The half year it serves (2026H2), or `special` for a meeting called on a warning. */
  half: string;
  scheduledFor: number;
  /** The immediate report (S-2026-0042) a special meeting was called for. */
  linkedInsight: string | null;
  minutesEnc: string | null;
  createdBy: string;
  createdAt: number;
  minutesAt: number | null;
}

export const ReviewMeetingEntity = new EntitySchema<ReviewMeeting>({
  name: 'ReviewMeeting',
  tableName: 'review_meetings',
  columns: {
    id: increment(),
    number: { type: 'varchar', length: 20, unique: true },
    half: { type: 'varchar', length: 16 },
    scheduledFor: { name: 'scheduled_for', ...epochMs() },
    linkedInsight: { name: 'linked_insight', type: 'varchar', length: 20, nullable: true },
    minutesEnc: { name: 'minutes_enc', type: 'text', nullable: true },
    createdBy: { name: 'created_by', type: 'varchar', length: 64 },
    createdAt: { name: 'created_at', ...epochMs() },
    minutesAt: { name: 'minutes_at', ...epochMs(true) },
  },
});

import { EntitySchema } from 'typeorm';
import { epochMs, increment } from '../columns';

/*
 * Reporting cycles (定期报告 / 专题报告, Art. 10–11), the departments' reports, and the liaisons'
 * training and recognition (Art. 15). Free text (topics, sections, extracted file text, reasons)
 * is AES-256-GCM ciphertext (DataCipher).
 */
export type CycleKind = 'quarterly' | 'special';

export interface Cycle {
  id: number;
  /** R-2026Q4 (quarterly) or R-2026-0002 (special). */
  number: string;
  kind: CycleKind;
  /** 2026Q4 for a quarterly cycle: unique, so a quarter is opened once whoever opens it. */
  periodKey: string | null;
  topicEnc: string | null;
  /** The data period the drafts cover, [start, end). */
  periodStart: number;
  periodEnd: number;
  openedAt: number;
  dueAt: number;
  /** JSON list of department ids in scope; null: every department with a parent. */
  scope: string | null;
  openedBy: string | null;
}

export type CycleTaskStatus = 'open' | 'submitted' | 'nil';

export interface CycleTask {
  id: number;
  cycleId: number;
  departmentId: string;
  /** The liaison when the cycle opened (the current liaison of the department may take over). */
  liaisonId: string | null;
  status: CycleTaskStatus;
  /** JSON of the four sections, encrypted. */
  sectionsEnc: string | null;
  /** The reference data pre-filled at opening (markdown), encrypted. */
  draftEnc: string;
  submittedAt: number | null;
  /** Whole days after the deadline of the latest submission. */
  lateDays: number;
  version: number;
  fileId: string | null;
  attachmentTextEnc: string | null;
  cardId: string | null;
  updatedAt: number;
}

export interface CycleReportVersion {
  id: number;
  taskId: number;
  version: number;
  nil: boolean;
  sectionsEnc: string | null;
  fileId: string | null;
  submittedBy: string;
  submittedAt: number;
  lateDays: number;
}

export type LiaisonRecordKind = 'training' | 'commendation';

/** One training attendance or one commendation; a training session's rows share its session number. */
export interface LiaisonRecord {
  id: number;
  kind: LiaisonRecordKind;
  session: number;
  personId: string | null;
  /** YYYY-MM-DD of the session (training) or of the record. */
  day: string;
  textEnc: string;
  recordedBy: string;
  createdAt: number;
}

export const CycleEntity = new EntitySchema<Cycle>({
  name: 'Cycle',
  tableName: 'cycles',
  columns: {
    id: increment(),
    number: { type: 'varchar', length: 20, unique: true },
    kind: { type: 'varchar', length: 16 },
    periodKey: { name: 'period_key', type: 'varchar', length: 16, nullable: true, unique: true },
    topicEnc: { name: 'topic_enc', type: 'text', nullable: true },
    periodStart: { name: 'period_start', ...epochMs() },
    periodEnd: { name: 'period_end', ...epochMs() },
    openedAt: { name: 'opened_at', ...epochMs() },
    dueAt: { name: 'due_at', ...epochMs() },
    scope: { type: 'text', nullable: true },
    openedBy: { name: 'opened_by', type: 'varchar', length: 64, nullable: true },
  },
});

export const CycleTaskEntity = new EntitySchema<CycleTask>({
  name: 'CycleTask',
  tableName: 'cycle_tasks',
  columns: {
    id: increment(),
    cycleId: { name: 'cycle_id', type: 'int' },
    departmentId: { name: 'department_id', type: 'varchar', length: 64 },
    liaisonId: { name: 'liaison_id', type: 'varchar', length: 64, nullable: true },
    status: { type: 'varchar', length: 16 },
    sectionsEnc: { name: 'sections_enc', type: 'text', nullable: true },
    draftEnc: { name: 'draft_enc', type: 'text' },
    submittedAt: { name: 'submitted_at', ...epochMs(true) },
    lateDays: { name: 'late_days', type: 'int', default: 0 },
    version: { type: 'int', default: 0 },
    fileId: { name: 'file_id', type: 'varchar', length: 36, nullable: true },
    attachmentTextEnc: { name: 'attachment_text_enc', type: 'text', nullable: true },
    cardId: { name: 'card_id', type: 'varchar', length: 36, nullable: true },
    updatedAt: { name: 'updated_at', ...epochMs() },
  },
});

export const CycleReportVersionEntity = new EntitySchema<CycleReportVersion>({
  name: 'CycleReportVersion',
  tableName: 'cycle_report_versions',
  columns: {
    id: increment(),
    taskId: { name: 'task_id', type: 'int' },
    version: { type: 'int' },
    nil: { type: 'boolean', default: false },
    sectionsEnc: { name: 'sections_enc', type: 'text', nullable: true },
    fileId: { name: 'file_id', type: 'varchar', length: 36, nullable: true },
    submittedBy: { name: 'submitted_by', type: 'varchar', length: 64 },
    submittedAt: { name: 'submitted_at', ...epochMs() },
    lateDays: { name: 'late_days', type: 'int', default: 0 },
  },
});

export const LiaisonRecordEntity = new EntitySchema<LiaisonRecord>({
  name: 'LiaisonRecord',
  tableName: 'liaison_records',
  columns: {
    id: increment(),
    kind: { type: 'varchar', length: 16 },
    session: { type: 'int' },
    personId: { name: 'person_id', type: 'varchar', length: 64, nullable: true },
    day: { type: 'varchar', length: 10 },
    textEnc: { name: 'text_enc', type: 'text' },
    recordedBy: { name: 'recorded_by', type: 'varchar', length: 64 },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

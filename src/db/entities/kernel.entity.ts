import { EntitySchema } from 'typeorm';
import { epochMs } from '../columns';

export type TimerState = 'pending' | 'done' | 'failed';

/**
 * One durable timer (a due job): escalation steps, questionnaire deadlines and reminders, cycle
 * openings, review meetings. Keyed by a name that says what it is for (`survey:Q-2026-0003:deadline`),
 * so scheduling is idempotent and a job that ran is never run again.
 */
export interface TimerRow {
  key: string;
  kind: string;
  dueAt: number;
  /** JSON of codes and ids only: never free text, never who answered what. */
  payload: string;
  state: TimerState;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  doneAt: number | null;
}

export const TimerEntity = new EntitySchema<TimerRow>({
  name: 'Timer',
  tableName: 'timers',
  columns: {
    key: { name: 'timer_key', type: 'varchar', length: 191, primary: true },
    kind: { type: 'varchar', length: 64 },
    dueAt: { name: 'due_at', ...epochMs() },
    payload: { type: 'text' },
    state: { type: 'varchar', length: 16 },
    attempts: { type: 'int', default: 0 },
    lastError: { name: 'last_error', type: 'varchar', length: 500, nullable: true },
    createdAt: { name: 'created_at', ...epochMs() },
    doneAt: { name: 'done_at', ...epochMs(true) },
  },
});

/** One reminder per person, subject and local day (the reminder policy's "once a day"). */
export interface ReminderSlotRow {
  personId: string;
  subject: string;
  /** YYYY-MM-DD in the unit's time zone. */
  day: string;
}

export const ReminderSlotEntity = new EntitySchema<ReminderSlotRow>({
  name: 'ReminderSlot',
  tableName: 'reminder_slots',
  columns: {
    personId: { name: 'person_id', type: 'varchar', length: 64, primary: true },
    subject: { type: 'varchar', length: 100, primary: true },
    day: { type: 'varchar', length: 10, primary: true },
  },
});

/** A stored file (a department report's .docx, the report of record, an export): metadata row. */
export interface StoredFileRow {
  id: string;
  /** What it is for (cycle-report, unit-report, upload …), so retention and rotation can find it. */
  purpose: string;
  /** Encrypted file name (names can say who wrote it). */
  nameEnc: string;
  mimeType: string;
  size: number;
  sha256: string;
  chunks: number;
  createdAt: number;
}

export const StoredFileEntity = new EntitySchema<StoredFileRow>({
  name: 'StoredFile',
  tableName: 'stored_files',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    purpose: { type: 'varchar', length: 32 },
    nameEnc: { name: 'name_enc', type: 'text' },
    mimeType: { name: 'mime_type', type: 'varchar', length: 128 },
    size: { type: 'int' },
    sha256: { type: 'varchar', length: 64 },
    chunks: { type: 'int' },
    createdAt: { name: 'created_at', ...epochMs() },
  },
});

/**
 * A file's bytes, encrypted in chunks of at most 1 MiB before encryption: one row stays under
 * MySQL's default max_allowed_packet whatever the file's size.
 */
export interface StoredFileChunkRow {
  fileId: string;
  seq: number;
  dataEnc: string;
}

export const StoredFileChunkEntity = new EntitySchema<StoredFileChunkRow>({
  name: 'StoredFileChunk',
  tableName: 'stored_file_chunks',
  columns: {
    fileId: { name: 'file_id', type: 'varchar', length: 36, primary: true },
    seq: { type: 'int', primary: true },
    dataEnc: { name: 'data_enc', type: 'text' },
  },
});

/**
 * Every column that holds a DataCipher ciphertext, by table. Key rotation (`xinsheng key rotate`),
 * `xinsheng key status` and the start-up key check walk this list, so a new table with encrypted
 * columns is added here once — nothing else needs to know about it.
 *
 * A table appears once; `primaryKey` lists its primary-key column(s) in index order (rotation pages
 * through the table by it); `columns` are its encrypted columns (nullable ones may be NULL).
 * `batchRows` is for tables with large values (file chunks): how many rows one rotation batch takes.
 */
export interface EncryptedTable {
  table: string;
  primaryKey: readonly string[];
  columns: readonly string[];
  batchRows?: number;
}

export const ENCRYPTED_TABLES: readonly EncryptedTable[] = [
  { table: 'insights', primaryKey: ['id'], columns: ['text_enc'] },
  { table: 'insight_actions', primaryKey: ['id'], columns: ['text_enc'] },
  { table: 'suggestions', primaryKey: ['id'], columns: ['sender_enc', 'text_enc', 'answer_enc'] },
  { table: 'escalations', primaryKey: ['id'], columns: ['instruction_enc'] },
  { table: 'inbound_events', primaryKey: ['id'], columns: ['payload_enc'] },
  { table: 'outbound_messages', primaryKey: ['id'], columns: ['content_enc'], batchRows: 100 },
  { table: 'cards', primaryKey: ['id'], columns: ['content_enc'], batchRows: 100 },
  { table: 'stored_files', primaryKey: ['id'], columns: ['name_enc'] },
  // A chunk is 768 KB of file (about 1 MB encrypted): a few per batch keeps a transaction short.
  { table: 'stored_file_chunks', primaryKey: ['file_id', 'seq'], columns: ['data_enc'], batchRows: 4 },
  { table: 'analysis_keywords', primaryKey: ['id'], columns: ['word_enc'] },
  { table: 'analysis_terms', primaryKey: ['id'], columns: ['word_enc'] },
  { table: 'cycles', primaryKey: ['id'], columns: ['topic_enc'] },
  { table: 'cycle_tasks', primaryKey: ['id'], columns: ['sections_enc', 'draft_enc', 'attachment_text_enc'] },
  { table: 'cycle_report_versions', primaryKey: ['id'], columns: ['sections_enc'] },
  { table: 'liaison_records', primaryKey: ['id'], columns: ['text_enc'] },
  { table: 'review_meetings', primaryKey: ['id'], columns: ['minutes_enc'] },
  { table: 'survey_answers', primaryKey: ['id'], columns: ['text_enc'] },
];

/**
 * Individual-level free text that RETENTION_YEARS erases (Art. 16 妥善保管), by table. The nightly
 * retention job, `xinsheng retention --dry-run` and its tests walk this list, so a new table with
 * such text is added here once. Counts, classifications, numbers, actions' kinds and the ledger are
 * never listed: they remain.
 *
 * - `time`: the epoch-ms column that dates a row, or an SQL expression for rows dated by their
 *   parent (file chunks by their file).
 * - `erase`: what erasing means —
 *   `replace`: the encrypted columns become ERASED_VALUE (read as 〔已超过保存期限，内容已删除〕; the row stays);
 *   `nullify`: nullable columns become NULL (the row stays; e.g. a sealed sender's identity);
 *   `delete`: the row goes (transport copies such as inbound events and sent messages).
 * - `where`: only rows in this state (SQL on the table's own columns).
 * - `name`: how the ledger entry and the dry run count it.
 */
export interface RetainedText {
  name: string;
  table: string;
  time: string;
  erase: { kind: 'replace'; columns: readonly string[] } | { kind: 'nullify'; columns: readonly string[] } | { kind: 'delete' };
  where?: string;
}

export const RETAINED_TEXTS: readonly RetainedText[] = [
  { name: 'insights', table: 'insights', time: 'created_at', erase: { kind: 'replace', columns: ['text_enc'] } },
  { name: 'insight_actions', table: 'insight_actions', time: 'created_at', erase: { kind: 'replace', columns: ['text_enc'] } },
  { name: 'suggestions', table: 'suggestions', time: 'created_at', erase: { kind: 'replace', columns: ['text_enc', 'answer_enc'] } },
  { name: 'suggestion_senders', table: 'suggestions', time: 'created_at', erase: { kind: 'nullify', columns: ['sender_enc'] } },
  { name: 'escalation_instructions', table: 'escalations', time: 'created_at', erase: { kind: 'replace', columns: ['instruction_enc'] } },
  { name: 'inbound_events', table: 'inbound_events', time: 'received_at', erase: { kind: 'delete' }, where: "status <> 'received'" },
  { name: 'outbound_messages', table: 'outbound_messages', time: 'created_at', erase: { kind: 'delete' }, where: "status <> 'pending'" },
  { name: 'cards', table: 'cards', time: 'created_at', erase: { kind: 'delete' } },
  {
    name: 'file_chunks',
    table: 'stored_file_chunks',
    time: '(SELECT f.created_at FROM stored_files f WHERE f.id = stored_file_chunks.file_id)',
    erase: { kind: 'delete' },
  },
  { name: 'file_names', table: 'stored_files', time: 'created_at', erase: { kind: 'replace', columns: ['name_enc'] } },
  // A department report's sections and the text read from its attachment (the sections are JSON:
  // nullified rather than replaced, so readers see "no sections", as for a nil report).
  { name: 'department_reports', table: 'cycle_tasks', time: 'updated_at', erase: { kind: 'nullify', columns: ['sections_enc', 'attachment_text_enc'] } },
  // Free-text answers of questionnaires, dated by their questionnaire (answers keep no time of their own).
  {
    name: 'survey_free_text',
    table: 'survey_answers',
    time: '(SELECT s.created_at FROM surveys s WHERE s.id = survey_answers.survey_id)',
    erase: { kind: 'replace', columns: ['text_enc'] },
    where: 'text_enc IS NOT NULL',
  },
  { name: 'department_report_versions', table: 'cycle_report_versions', time: 'submitted_at', erase: { kind: 'nullify', columns: ['sections_enc'] } },
];

import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { autoId, epochMs, intColumn, nullableVarchar, text, varchar } from './column-helpers';

/**
 * Issue 6: case follow-up (insight_actions), the suggestion box (suggestions), the list of anonymous
 * turns whose replies are forgotten once delivered (sealed_replies), and the indexes 汇总 needs.
 */
export class LedgerCasesSuggestions1764300000000 implements MigrationInterface {
  name = 'LedgerCasesSuggestions1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'insight_actions',
        columns: [
          autoId(),
          intColumn('insight_id'),
          varchar('kind', 16),
          nullableVarchar('issue_kind', 16),
          text('text_enc', true),
          nullableVarchar('actor_id', 64),
          epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'idx_insight_actions_insight', columnNames: ['insight_id', 'id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'suggestions',
        columns: [
          autoId(),
          varchar('number', 20, { isUnique: true }),
          varchar('kind', 16),
          varchar('receipt_hash', 64, { isUnique: true }),
          text('sender_enc', true),
          text('text_enc'),
          varchar('status', 16, { default: "'received'" }),
          text('answer_enc', true),
          nullableVarchar('answered_by', 64),
          epochMs('answered_at', true),
          nullableVarchar('unsealed_by', 64),
          epochMs('unsealed_at', true),
          epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'idx_suggestions_status', columnNames: ['status', 'created_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({ name: 'sealed_replies', columns: [varchar('event_id', 191, { isPrimary: true })] }),
    );
    // 汇总 reads a period's insights from one covering index (no table lookups), and the backlog by status.
    await queryRunner.createIndex(
      'insights',
      new TableIndex({ name: 'idx_insights_period', columnNames: ['created_at', 'department_id', 'category', 'method'] }),
    );
    await queryRunner.createIndex(
      'insights',
      new TableIndex({ name: 'idx_insights_open', columnNames: ['status', 'kind', 'department_id', 'created_at'] }),
    );
    await queryRunner.createIndex('ledger_entries', new TableIndex({ name: 'idx_ledger_created', columnNames: ['created_at'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('ledger_entries', 'idx_ledger_created');
    await queryRunner.dropIndex('insights', 'idx_insights_open');
    await queryRunner.dropIndex('insights', 'idx_insights_period');
    for (const table of ['sealed_replies', 'suggestions', 'insight_actions']) await queryRunner.dropTable(table);
  }
}

import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { autoId, epochMs, intColumn, nullableVarchar, text, varchar } from './column-helpers';

/** Reporting cycles, the departments' reports (every version kept), liaisons' training and recognition. */
export class Cycles1764560000000 implements MigrationInterface {
  name = 'Cycles1764560000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'cycles',
        columns: [
          autoId(),
          varchar('number', 20, { isUnique: true }),
          varchar('kind', 16),
          varchar('period_key', 16, { isNullable: true, isUnique: true }),
          text('topic_enc', true),
          epochMs('period_start'),
          epochMs('period_end'),
          epochMs('opened_at'),
          epochMs('due_at'),
          text('scope', true),
          nullableVarchar('opened_by', 64),
        ],
        indices: [new TableIndex({ name: 'idx_cycles_due', columnNames: ['due_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'cycle_tasks',
        columns: [
          autoId(),
          { name: 'cycle_id', type: 'int' },
          varchar('department_id', 64),
          nullableVarchar('liaison_id', 64),
          varchar('status', 16),
          text('sections_enc', true),
          text('draft_enc'),
          epochMs('submitted_at', true),
          intColumn('late_days'),
          intColumn('version'),
          nullableVarchar('file_id', 36),
          text('attachment_text_enc', true),
          nullableVarchar('card_id', 36),
          epochMs('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_cycle_tasks_cycle_department', columnNames: ['cycle_id', 'department_id'], isUnique: true }),
          new TableIndex({ name: 'idx_cycle_tasks_department', columnNames: ['department_id', 'status'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'cycle_report_versions',
        columns: [
          autoId(),
          { name: 'task_id', type: 'int' },
          { name: 'version', type: 'int' },
          { name: 'nil', type: 'boolean', default: false },
          text('sections_enc', true),
          nullableVarchar('file_id', 36),
          varchar('submitted_by', 64),
          epochMs('submitted_at'),
          intColumn('late_days'),
        ],
        indices: [new TableIndex({ name: 'idx_cycle_versions_task', columnNames: ['task_id', 'version'], isUnique: true })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'liaison_records',
        columns: [
          autoId(),
          varchar('kind', 16),
          { name: 'session', type: 'int' },
          nullableVarchar('person_id', 64),
          varchar('day', 10),
          text('text_enc'),
          varchar('recorded_by', 64),
          epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'idx_liaison_records_day', columnNames: ['day', 'kind'] })],
      }),
    );
    // 督查 counts immediate reports per department over a year.
    await queryRunner.createIndex('insights', new TableIndex({ name: 'idx_insights_kind_created', columnNames: ['kind', 'created_at', 'department_id'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('insights', 'idx_insights_kind_created');
    await queryRunner.dropTable('liaison_records');
    await queryRunner.dropTable('cycle_report_versions');
    await queryRunner.dropTable('cycle_tasks');
    await queryRunner.dropTable('cycles');
  }
}

import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { autoId, epochMs, nullableVarchar, text, varchar } from './column-helpers';

/** Reports of record (报告 存档) and review meetings (研判会). */
export class UnitReports1764570000000 implements MigrationInterface {
  name = 'UnitReports1764570000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'unit_reports',
        columns: [
          autoId(),
          varchar('number', 20, { isNullable: true, isUnique: true }),
          varchar('period_key', 20),
          varchar('label', 64),
          varchar('state', 16),
          nullableVarchar('file_id', 36),
          nullableVarchar('sha256', 64),
          varchar('requested_by', 64),
          epochMs('archived_at', true),
          epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'idx_unit_reports_state', columnNames: ['state', 'archived_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'review_meetings',
        columns: [
          autoId(),
          varchar('number', 20, { isUnique: true }),
          varchar('half', 16),
          epochMs('scheduled_for'),
          nullableVarchar('linked_insight', 20),
          text('minutes_enc', true),
          varchar('created_by', 64),
          epochMs('created_at'),
          epochMs('minutes_at', true),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('review_meetings');
    await queryRunner.dropTable('unit_reports');
  }
}

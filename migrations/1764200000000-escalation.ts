import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { autoId, epochMs, intColumn, nullableVarchar, text, varchar } from './column-helpers';

/**
 * Immediate reports (即时报告, Art. 10(三)): one escalation per report, whose timer lives in the
 * row (`next_due_at`), and the step-by-step record of what happened to it.
 */
export class Escalation1764200000000 implements MigrationInterface {
  name = 'Escalation1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'escalations',
        columns: [
          autoId(),
          { name: 'insight_id', type: 'int' },
          varchar('insight_number', 20, { isUnique: true }),
          varchar('reporter_id', 64),
          varchar('state', 16),
          intColumn('step'),
          epochMs('next_due_at', true),
          nullableVarchar('acknowledged_by', 64),
          epochMs('acknowledged_at', true),
          nullableVarchar('ack_method', 16),
          text('instruction_enc', true),
          epochMs('created_at'),
          epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'idx_escalations_due', columnNames: ['state', 'next_due_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'escalation_events',
        columns: [
          autoId(),
          { name: 'escalation_id', type: 'int' },
          varchar('kind', 24),
          { name: 'step', type: 'int', isNullable: true },
          nullableVarchar('person_id', 64),
          nullableVarchar('card_id', 36),
          nullableVarchar('detail', 64),
          epochMs('at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_escalation_events_escalation', columnNames: ['escalation_id', 'id'] }),
          new TableIndex({ name: 'idx_escalation_events_card', columnNames: ['card_id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('escalation_events');
    await queryRunner.dropTable('escalations');
  }
}

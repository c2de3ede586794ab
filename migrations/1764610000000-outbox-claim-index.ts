import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The dispatcher claims pending rows in the order of idx_outbound_priority (status, priority,
 * next_attempt_at, id). idx_outbound_due (status, next_attempt_at) served nothing that index does
 * not, but SQLite's planner chose it for the claim and then sorted every pending row (100,000 after a
 * questionnaire's fan-out) at each claim; and each fan-out row paid for keeping it up to date.
 */
export class OutboxClaimIndex1764610000000 implements MigrationInterface {
  name = 'OutboxClaimIndex1764610000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('outbound_messages', 'idx_outbound_due');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex('outbound_messages', new TableIndex({ name: 'idx_outbound_due', columnNames: ['status', 'next_attempt_at'] }));
  }
}

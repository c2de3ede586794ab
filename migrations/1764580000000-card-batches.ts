import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { epochMs, longText, text, varchar } from './column-helpers';

/**
 * Copies of a card delivered together by one platform call, with the ref that updates them in one
 * call (WeCom: a shared questionnaire page's task id and the send's response_code), so a
 * questionnaire's deadline can show 已截止 on the copies nobody clicked.
 */
export class CardBatches1764580000000 implements MigrationInterface {
  name = 'CardBatches1764580000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'card_batches',
        columns: [
          varchar('id', 36, { isPrimary: true }),
          varchar('card_id', 36),
          varchar('platform', 16),
          text('ref'),
          // Up to 1,000 recipient keys of up to 69 characters: more than MySQL's TEXT holds.
          longText(queryRunner, 'recipients'),
          epochMs('created_at'),
          epochMs('used_at', true),
        ],
        indices: [new TableIndex({ name: 'idx_card_batches_card', columnNames: ['card_id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('card_batches');
  }
}

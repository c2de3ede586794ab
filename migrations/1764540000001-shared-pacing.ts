import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { varchar } from './column-helpers';

/** Issue 15: one schedule of platform calls per bucket (`outbox:wecom` …), shared by every instance. */
export class SharedPacing1764540000001 implements MigrationInterface {
  name = 'SharedPacing1764540000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({ name: 'rate_schedules', columns: [varchar('bucket', 64, { isPrimary: true }), { name: 'next_at_us', type: 'bigint' }] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('rate_schedules');
  }
}

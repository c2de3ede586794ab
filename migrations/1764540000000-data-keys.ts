import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { epochMs, text, varchar } from './column-helpers';

/**
 * Issue 15: the data keys that have encrypted stored values (each with a check value, so a wrong
 * key is refused at start-up instead of failing in a turn), and leases for maintenance runs that
 * must not run twice at once (key rotation, retention), with their progress for a resume.
 */
export class DataKeys1764540000000 implements MigrationInterface {
  name = 'DataKeys1764540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'data_keys',
        columns: [varchar('key_id', 32, { isPrimary: true }), text('check_enc'), epochMs('created_at'), epochMs('retired_at', true)],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'maintenance_locks',
        columns: [varchar('name', 64, { isPrimary: true }), varchar('owner', 191), epochMs('lease_until'), text('progress', true), epochMs('started_at')],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('maintenance_locks');
    await queryRunner.dropTable('data_keys');
  }
}

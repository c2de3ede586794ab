import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { epochMs, varchar } from './column-helpers';

/**
 * Issue 14: which instance holds a connection only one instance may open (the WeCom robot's long
 * connection: WeCom keeps one per robot). The holder renews `lease_until`; the others take over
 * only once it has passed. The index serves the new holder's look at what was sent in the last hour
 * (the robot's per-conversation limits).
 */
export class ConnectionLeases1764600000000 implements MigrationInterface {
  name = 'ConnectionLeases1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'connection_leases',
        columns: [varchar('name', 64, { isPrimary: true }), varchar('owner', 191), epochMs('lease_until'), epochMs('acquired_at')],
      }),
    );
    await queryRunner.createIndex('outbound_messages', new TableIndex({ name: 'idx_outbound_sent', columnNames: ['platform', 'sent_at'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('outbound_messages', 'idx_outbound_sent');
    await queryRunner.dropTable('connection_leases');
  }
}

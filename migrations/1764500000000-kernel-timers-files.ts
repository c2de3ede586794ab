import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { epochMs, intColumn, longText, nullableVarchar, text, varchar } from './column-helpers';

/**
 * Kernel machinery shared by the features: durable timers (one table, one worker), the reminder
 * policy's once-a-day slots, stored files (encrypted, chunked), and the outbox's priority.
 */
export class KernelTimersFiles1764500000000 implements MigrationInterface {
  name = 'KernelTimersFiles1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'timers',
        columns: [
          varchar('timer_key', 191, { isPrimary: true }),
          varchar('kind', 64),
          epochMs('due_at'),
          text('payload'),
          varchar('state', 16),
          intColumn('attempts'),
          nullableVarchar('last_error', 500),
          epochMs('created_at'),
          epochMs('done_at', true),
        ],
        indices: [new TableIndex({ name: 'idx_timers_due', columnNames: ['state', 'due_at'] })],
      }),
    );
    // Escalations open at the upgrade keep their next step: their timer moves into the new table.
    const open: { id: number; step: number; next_due_at: number | string | null; created_at: number | string }[] = await queryRunner.query(
      "SELECT id, step, next_due_at, created_at FROM escalations WHERE state = 'open'",
    );
    for (const row of open) {
      await queryRunner.query('INSERT INTO timers (timer_key, kind, due_at, payload, state, attempts, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)', [
        `escalation:${row.id}:${row.step}`,
        'escalation.step',
        Number(row.next_due_at ?? row.created_at),
        JSON.stringify({ escalationId: Number(row.id), step: Number(row.step) }),
        'pending',
        Number(row.created_at),
      ]);
    }
    await queryRunner.createTable(
      new Table({
        name: 'reminder_slots',
        columns: [varchar('person_id', 64, { isPrimary: true }), varchar('subject', 100, { isPrimary: true }), varchar('day', 10, { isPrimary: true })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'stored_files',
        columns: [
          varchar('id', 36, { isPrimary: true }),
          varchar('purpose', 32),
          text('name_enc'),
          varchar('mime_type', 128),
          { name: 'size', type: 'int' },
          varchar('sha256', 64),
          { name: 'chunks', type: 'int' },
          epochMs('created_at'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'stored_file_chunks',
        columns: [varchar('file_id', 36, { isPrimary: true }), { name: 'seq', type: 'int', isPrimary: true }, longText(queryRunner, 'data_enc')],
      }),
    );
    // 0 alert, 1 reply, 2 bulk: claims take the lowest first.
    await queryRunner.addColumn('outbound_messages', new TableColumn(intColumn('priority', 1)));
    await queryRunner.createIndex('outbound_messages', new TableIndex({ name: 'idx_outbound_priority', columnNames: ['status', 'priority', 'next_attempt_at'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('outbound_messages', 'idx_outbound_priority');
    await queryRunner.dropColumn('outbound_messages', 'priority');
    await queryRunner.dropTable('stored_file_chunks');
    await queryRunner.dropTable('stored_files');
    await queryRunner.dropTable('reminder_slots');
    await queryRunner.dropTable('timers');
  }
}

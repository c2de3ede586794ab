import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { autoId, epochMs, intColumn, longText, nullableVarchar, text, varchar } from './column-helpers';

export class Foundation1764100000000 implements MigrationInterface {
  name = 'Foundation1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'departments',
        columns: [
          varchar('id', 64, { isPrimary: true }),
          varchar('name', 128),
          nullableVarchar('parent_id', 64),
          { name: 'active', type: 'boolean', default: true },
          epochMs('updated_at'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'people',
        columns: [
          varchar('id', 64, { isPrimary: true }),
          varchar('name', 64),
          { name: 'active', type: 'boolean', default: true },
          nullableVarchar('platform', 16),
          epochMs('welcomed_at', true),
          epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'idx_people_name', columnNames: ['name'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'person_departments',
        columns: [varchar('person_id', 64, { isPrimary: true }), varchar('department_id', 64, { isPrimary: true })],
        indices: [new TableIndex({ name: 'idx_person_departments_dept', columnNames: ['department_id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'role_grants',
        columns: [
          autoId(),
          varchar('person_id', 64),
          varchar('role', 16),
          varchar('scope', 64, { default: "''" }),
          nullableVarchar('granted_by', 64),
          epochMs('granted_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_role_grants', columnNames: ['person_id', 'role', 'scope'], isUnique: true }),
          new TableIndex({ name: 'idx_role_grants_role', columnNames: ['role', 'scope'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'insights',
        columns: [
          autoId(),
          varchar('number', 20, { isUnique: true }),
          varchar('reporter_id', 64),
          nullableVarchar('department_id', 64),
          varchar('method', 16),
          varchar('category', 16),
          varchar('kind', 16, { default: "'routine'" }),
          text('text_enc'),
          varchar('status', 16, { default: "'new'" }),
          nullableVarchar('issue_kind', 16),
          epochMs('created_at'),
          epochMs('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_insights_reporter', columnNames: ['reporter_id', 'created_at'] }),
          new TableIndex({ name: 'idx_insights_created', columnNames: ['created_at'] }),
          new TableIndex({ name: 'idx_insights_department', columnNames: ['department_id', 'created_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({ name: 'counters', columns: [varchar('name', 64, { isPrimary: true }), intColumn('value')] }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'inbound_events',
        columns: [
          varchar('id', 191, { isPrimary: true }),
          varchar('platform', 16),
          varchar('sender_id', 64),
          longText(queryRunner, 'payload_enc'),
          varchar('status', 16),
          intColumn('attempts'),
          nullableVarchar('lease_owner', 128),
          epochMs('lease_until', true),
          nullableVarchar('last_error', 500),
          epochMs('received_at'),
          epochMs('processed_at', true),
        ],
        indices: [new TableIndex({ name: 'idx_inbound_status', columnNames: ['status', 'received_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'outbound_messages',
        columns: [
          autoId(),
          varchar('group_id', 36),
          varchar('platform', 16),
          varchar('recipient', 191),
          varchar('kind', 16),
          longText(queryRunner, 'content_enc'),
          nullableVarchar('card_id', 36),
          nullableVarchar('event_id', 191),
          varchar('status', 16),
          intColumn('attempts'),
          epochMs('next_attempt_at'),
          nullableVarchar('lease_owner', 128),
          epochMs('lease_until', true),
          nullableVarchar('last_error', 500),
          epochMs('created_at'),
          epochMs('sent_at', true),
        ],
        indices: [
          new TableIndex({ name: 'idx_outbound_due', columnNames: ['status', 'next_attempt_at'] }),
          new TableIndex({ name: 'idx_outbound_recipient', columnNames: ['platform', 'recipient', 'id'] }),
          new TableIndex({ name: 'idx_outbound_event', columnNames: ['event_id'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'cards',
        columns: [
          varchar('id', 36, { isPrimary: true }),
          varchar('template', 64),
          longText(queryRunner, 'content_enc'),
          nullableVarchar('state', 255),
          nullableVarchar('subject_type', 32),
          nullableVarchar('subject_id', 64),
          epochMs('created_at'),
          epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'idx_cards_subject', columnNames: ['subject_type', 'subject_id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'card_deliveries',
        columns: [autoId(), varchar('card_id', 36), varchar('platform', 16), varchar('recipient', 191), text('ref'), epochMs('created_at')],
        indices: [new TableIndex({ name: 'idx_card_deliveries_card', columnNames: ['card_id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'ledger_entries',
        columns: [
          autoId(),
          varchar('kind', 48),
          nullableVarchar('actor_id', 64),
          nullableVarchar('subject_type', 32),
          nullableVarchar('subject_id', 64),
          text('data'),
          epochMs('created_at'),
          varchar('prev_hash', 64),
          varchar('hash', 64),
        ],
        indices: [new TableIndex({ name: 'idx_ledger_subject', columnNames: ['subject_type', 'subject_id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'ledger_entries',
      'card_deliveries',
      'cards',
      'outbound_messages',
      'inbound_events',
      'counters',
      'insights',
      'role_grants',
      'person_departments',
      'people',
      'departments',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}

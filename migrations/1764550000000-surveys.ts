import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { epochMs, intColumn, nullableVarchar, text, varchar } from './column-helpers';

/**
 * Questionnaires (问卷调查). Participation (who, how far, which day) and answers (what) are two
 * tables with nothing in common but the questionnaire: answers have a random key, no person (when
 * anonymous) and no time. On SQLite the answers table is WITHOUT ROWID, so its storage order is the
 * random key's and not the order of arrival; on MySQL InnoDB clusters by the (random) primary key.
 */
export class Surveys1764550000000 implements MigrationInterface {
  name = 'Surveys1764550000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const bool = (name: string) => ({ name, type: 'boolean', default: false });
    await queryRunner.createTable(
      new Table({
        name: 'surveys',
        columns: [
          varchar('id', 36, { isPrimary: true }),
          varchar('number', 20, { isUnique: true }),
          varchar('template_id', 40),
          varchar('title', 64),
          text('definition'),
          bool('anonymous'),
          text('scope', true),
          varchar('status', 16),
          varchar('publisher_id', 64),
          epochMs('deadline_at'),
          text('page_cards'),
          intColumn('recipients'),
          bool('locked'),
          epochMs('created_at'),
          epochMs('published_at', true),
          epochMs('closed_at', true),
          epochMs('results_published_at', true),
        ],
        indices: [new TableIndex({ name: 'idx_surveys_status', columnNames: ['status', 'deadline_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'survey_participants',
        columns: [
          varchar('survey_id', 36, { isPrimary: true }),
          varchar('person_id', 64, { isPrimary: true }),
          nullableVarchar('department_id', 64),
          text('answered'),
          intColumn('pages_done'),
          nullableVarchar('awaiting', 32),
          bool('completed'),
          nullableVarchar('last_day', 10),
        ],
        indices: [new TableIndex({ name: 'idx_survey_participants_person', columnNames: ['person_id'] })],
      }),
    );
    if (queryRunner.connection.options.type === 'better-sqlite3') {
      await queryRunner.query(
        'CREATE TABLE "survey_answers" ("id" varchar(32) PRIMARY KEY NOT NULL, "survey_id" varchar(36) NOT NULL, "question_key" varchar(32) NOT NULL, ' +
          '"department_id" varchar(64), "value" varchar(500), "text_enc" text, "person_id" varchar(64)) WITHOUT ROWID',
      );
    } else {
      await queryRunner.query(
        'CREATE TABLE `survey_answers` (`id` varchar(32) NOT NULL, `survey_id` varchar(36) NOT NULL, `question_key` varchar(32) NOT NULL, ' +
          '`department_id` varchar(64) NULL, `value` varchar(500) NULL, `text_enc` text NULL, `person_id` varchar(64) NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB',
      );
    }
    // Covering: 问卷 结果 counts (question, value) from the index alone. Its order is (question, value, random key): not arrival.
    await queryRunner.createIndex('survey_answers', new TableIndex({ name: 'idx_survey_answers_survey', columnNames: ['survey_id', 'question_key', 'value'] }));
    // A questionnaire's fan-out puts 100,000 rows in the outbox: the dispatcher claims a fan-out
    // group whole (by group_id) and reads back its claim (by lease_owner) without a table scan.
    await queryRunner.createIndex('outbound_messages', new TableIndex({ name: 'idx_outbound_group', columnNames: ['group_id'] }));
    await queryRunner.createIndex('outbound_messages', new TableIndex({ name: 'idx_outbound_lease_owner', columnNames: ['lease_owner'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('outbound_messages', 'idx_outbound_lease_owner');
    await queryRunner.dropIndex('outbound_messages', 'idx_outbound_group');
    await queryRunner.dropTable('survey_answers');
    await queryRunner.dropTable('survey_participants');
    await queryRunner.dropTable('surveys');
  }
}

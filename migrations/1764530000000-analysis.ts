import { Table, TableIndex, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';
import { autoId, epochMs, nullableVarchar, text, varchar } from './column-helpers';

/**
 * Issue 16 (研判): keywords as keyed hashes (analysis_keywords), per insight (insight_keywords) and
 * counted per month (keyword_months, keyword_month_departments),
 * the office's dictionary additions (analysis_terms), early warnings sent (analysis_warnings), and
 * the indexes the warning checks read after each insight.
 */
export class Analysis1764530000000 implements MigrationInterface {
  name = 'Analysis1764530000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'analysis_keywords',
        columns: [autoId(), varchar('hash', 64, { isUnique: true }), text('word_enc'), epochMs('created_at')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'insight_keywords',
        columns: [
          { name: 'insight_id', type: 'int', isPrimary: true },
          { name: 'keyword_id', type: 'int', isPrimary: true },
          nullableVarchar('department_id', 64),
          // The insight's category, kept current when the reporter corrects it (categories of a theme).
          varchar('category', 16),
          epochMs('created_at'),
        ],
        indices: [
          // 研判 over a period: one covering range scan grouped by keyword.
          new TableIndex({ name: 'idx_insight_keywords_period', columnNames: ['created_at', 'keyword_id', 'department_id'] }),
          // Spread checks, newness probes and a theme's categories: one keyword's rows of a period.
          new TableIndex({ name: 'idx_insight_keywords_keyword', columnNames: ['keyword_id', 'created_at', 'department_id', 'category'] }),
          // 研判 for a liaison: the own department's keywords of a period.
          new TableIndex({ name: 'idx_insight_keywords_department', columnNames: ['department_id', 'created_at', 'keyword_id'] }),
        ],
      }),
    );
    // Counts per month (in TZ), kept up to date as insights are recorded, so that 研判 over a quarter
    // ranks a few ten thousand rows instead of sorting every keyword row of the quarter.
    await queryRunner.createTable(
      new Table({
        name: 'keyword_months',
        columns: [
          { name: 'month', type: 'int', isPrimary: true },
          { name: 'keyword_id', type: 'int', isPrimary: true },
          { name: 'n', type: 'int', default: 0 },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'keyword_month_departments',
        columns: [
          { name: 'keyword_id', type: 'int', isPrimary: true },
          { name: 'month', type: 'int', isPrimary: true },
          // '' for insights of no department.
          varchar('department_id', 64, { isPrimary: true }),
          { name: 'n', type: 'int', default: 0 },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'analysis_terms',
        columns: [autoId(), varchar('hash', 64, { isUnique: true }), text('word_enc'), nullableVarchar('added_by', 64), epochMs('created_at')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'analysis_warnings',
        columns: [
          autoId(),
          varchar('kind', 16),
          varchar('subject', 64),
          varchar('period', 8),
          { name: 'observed', type: 'int' },
          { name: 'expected_milli', type: 'int' },
          { name: 'departments', type: 'int' },
          nullableVarchar('card_id', 64),
          varchar('state', 16, { default: "'open'" }),
          nullableVarchar('issue_kind', 16),
          nullableVarchar('handled_by', 64),
          epochMs('handled_at', true),
          epochMs('created_at'),
        ],
        uniques: [new TableUnique({ name: 'uq_analysis_warnings_once', columnNames: ['kind', 'subject', 'period'] })],
      }),
    );
    // Spike checks: one department's or one category's counts by quarter.
    await queryRunner.createIndex('insights', new TableIndex({ name: 'idx_insights_department_time', columnNames: ['department_id', 'created_at'] }));
    await queryRunner.createIndex('insights', new TableIndex({ name: 'idx_insights_category_time', columnNames: ['category', 'created_at'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('insights', 'idx_insights_category_time');
    await queryRunner.dropIndex('insights', 'idx_insights_department_time');
    await queryRunner.dropTable('analysis_warnings');
    await queryRunner.dropTable('keyword_month_departments');
    await queryRunner.dropTable('keyword_months');
    await queryRunner.dropTable('analysis_terms');
    await queryRunner.dropTable('insight_keywords');
    await queryRunner.dropTable('analysis_keywords');
  }
}

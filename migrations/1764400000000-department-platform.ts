import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { nullableVarchar } from './column-helpers';

/**
 * The platform a department was synced from (null: imported from a file), so that a directory
 * sync marks inactive only its own platform's departments that left, not another platform's or
 * imported ones.
 */
export class DepartmentPlatform1764400000000 implements MigrationInterface {
  name = 'DepartmentPlatform1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('departments', new TableColumn(nullableVarchar('platform', 16)));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('departments', 'platform');
  }
}

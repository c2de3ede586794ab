import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { nullableVarchar, varchar } from './column-helpers';

/**
 * Role grants learn where they came from (`source`: `import` for an organisation file, `manual`
 * for chat and the command line), so that a re-import takes away what an earlier file gave and the
 * file no longer gives, without touching roles granted by hand. And one liaison per department
 * (seed Art. 6) becomes a database rule: `liaison_department` is the department of a liaison grant
 * (null for every other role) and is unique.
 *
 * Existing data: where a department has several liaisons, the latest appointment stays. Liaison
 * grants without a granter came from a file (chat always names the granter and the command line
 * cannot appoint liaisons), so they become `import`; every other existing grant is `manual`.
 */
export class RoleGrantSource1764510000000 implements MigrationInterface {
  name = 'RoleGrantSource1764510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // MySQL cannot select from the table a DELETE changes, except through a derived table.
    await queryRunner.query(
      `DELETE FROM role_grants WHERE role = 'liaison' AND id NOT IN (SELECT id FROM (SELECT MAX(id) AS id FROM role_grants WHERE role = 'liaison' GROUP BY scope) AS latest)`,
    );
    await queryRunner.addColumn('role_grants', new TableColumn(varchar('source', 8, { default: "'manual'" })));
    await queryRunner.addColumn('role_grants', new TableColumn(nullableVarchar('liaison_department', 64)));
    await queryRunner.query(`UPDATE role_grants SET liaison_department = scope WHERE role = 'liaison'`);
    await queryRunner.query(`UPDATE role_grants SET source = 'import' WHERE role = 'liaison' AND granted_by IS NULL`);
    await queryRunner.createIndex('role_grants', new TableIndex({ name: 'uq_role_grants_liaison', columnNames: ['liaison_department'], isUnique: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('role_grants', 'uq_role_grants_liaison');
    await queryRunner.dropColumn('role_grants', 'liaison_department');
    await queryRunner.dropColumn('role_grants', 'source');
  }
}

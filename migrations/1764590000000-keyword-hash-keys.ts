import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * 研判's keyword hashes follow the data keys (issue 16): each keyword and term row names the data
 * key its hash is keyed with (`hash_key`; NULL for rows from before, which `xinsheng key rotate`
 * checks and re-keys), and a keyword merged into another during a rotation keeps its row as a
 * pointer (`merged_into`) so that counts still arriving at it can be moved by the next rotation.
 */
export class KeywordHashKeys1764590000000 implements MigrationInterface {
  name = 'KeywordHashKeys1764590000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('analysis_keywords', new TableColumn({ name: 'hash_key', type: 'varchar', length: '64', isNullable: true }));
    await queryRunner.addColumn('analysis_keywords', new TableColumn({ name: 'merged_into', type: 'int', isNullable: true }));
    await queryRunner.addColumn('analysis_terms', new TableColumn({ name: 'hash_key', type: 'varchar', length: '64', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('analysis_terms', 'hash_key');
    await queryRunner.dropColumn('analysis_keywords', 'merged_into');
    await queryRunner.dropColumn('analysis_keywords', 'hash_key');
  }
}

import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * 问卷 结果 read every answer (a GROUP BY over a million index entries) and every participant
 * (the per-department count): about a second at 100,000 people. The counts are now kept as answers
 * arrive, in two small tables the results read instead:
 *  - survey_answer_tallies: per question, department ('' for people in no department) and option
 *    ('' counts the people who answered the question; a multi-choice answer "a,c" adds 1 to '', to
 *    a and to c);
 *  - survey_department_tallies: per department, recipients (written at 确认发布) and respondents
 *    (people whose participation row lists anything answered).
 * Counts only: no person, no time. Keyed by their key and, like survey_answers, WITHOUT ROWID on
 * SQLite (InnoDB clusters by the primary key), so neither a hidden row id nor the storage order
 * tells in which order the counts first appeared.
 *
 * A named answer given again takes its old counts back, found by person: idx_survey_answers_person
 * finds them without scanning (and, on MySQL, without locking) every answer to the question. An
 * anonymous answer's person is NULL, so in that index its rows sort by their random key alone.
 *
 * Existing questionnaires are counted here from their answers and participants. Self-contained
 * on purpose (a migration must keep doing what it did when the code around it changes).
 */
export class SurveyTallies1764620000000 implements MigrationInterface {
  name = 'SurveyTallies1764620000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    if (sqlite) {
      await queryRunner.query(
        'CREATE TABLE "survey_answer_tallies" ("survey_id" varchar(36) NOT NULL, "question_key" varchar(32) NOT NULL, "department_key" varchar(64) NOT NULL, ' +
          '"option_id" varchar(32) NOT NULL, "n" int NOT NULL DEFAULT (0), PRIMARY KEY ("survey_id", "question_key", "department_key", "option_id")) WITHOUT ROWID',
      );
      await queryRunner.query(
        'CREATE TABLE "survey_department_tallies" ("survey_id" varchar(36) NOT NULL, "department_key" varchar(64) NOT NULL, ' +
          '"recipients" int NOT NULL DEFAULT (0), "respondents" int NOT NULL DEFAULT (0), PRIMARY KEY ("survey_id", "department_key")) WITHOUT ROWID',
      );
    } else {
      await queryRunner.query(
        'CREATE TABLE `survey_answer_tallies` (`survey_id` varchar(36) NOT NULL, `question_key` varchar(32) NOT NULL, `department_key` varchar(64) NOT NULL, ' +
          '`option_id` varchar(32) NOT NULL, `n` int NOT NULL DEFAULT 0, PRIMARY KEY (`survey_id`, `question_key`, `department_key`, `option_id`)) ENGINE=InnoDB',
      );
      await queryRunner.query(
        'CREATE TABLE `survey_department_tallies` (`survey_id` varchar(36) NOT NULL, `department_key` varchar(64) NOT NULL, ' +
          '`recipients` int NOT NULL DEFAULT 0, `respondents` int NOT NULL DEFAULT 0, PRIMARY KEY (`survey_id`, `department_key`)) ENGINE=InnoDB',
      );
    }

    await queryRunner.createIndex('survey_answers', new TableIndex({ name: 'idx_survey_answers_person', columnNames: ['survey_id', 'person_id', 'question_key'] }));

    // Questionnaires published before: their participants, per department.
    await queryRunner.query(
      'INSERT INTO survey_department_tallies (survey_id, department_key, recipients, respondents) ' +
        "SELECT survey_id, COALESCE(department_id, ''), COUNT(*), SUM(CASE WHEN answered <> '' THEN 1 ELSE 0 END) " +
        "FROM survey_participants GROUP BY survey_id, COALESCE(department_id, '')",
    );
    // ... and their answers: values are option ids comma-joined, split here.
    const groups: { survey_id: string; question_key: string; department_id: string | null; value: string | null; n: unknown }[] = await queryRunner.query(
      'SELECT survey_id, question_key, department_id, value, COUNT(*) AS n FROM survey_answers GROUP BY survey_id, question_key, department_id, value',
    );
    const tallies = new Map<string, [string, string, string, string, number]>();
    const add = (surveyId: string, questionKey: string, departmentKey: string, optionId: string, n: number) => {
      const key = JSON.stringify([surveyId, questionKey, departmentKey, optionId]);
      const row = tallies.get(key);
      if (row) row[4] += n;
      else tallies.set(key, [surveyId, questionKey, departmentKey, optionId, n]);
    };
    for (const g of groups) {
      const n = Number(g.n);
      const department = g.department_id ?? '';
      add(g.survey_id, g.question_key, department, '', n);
      for (const option of (g.value ?? '').split(',').filter(Boolean)) add(g.survey_id, g.question_key, department, option, n);
    }
    const rows = [...tallies.values()];
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      await queryRunner.query(
        `INSERT INTO survey_answer_tallies (survey_id, question_key, department_key, option_id, n) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flat(),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('survey_answers', 'idx_survey_answers_person');
    await queryRunner.dropTable('survey_department_tallies');
    await queryRunner.dropTable('survey_answer_tallies');
  }
}

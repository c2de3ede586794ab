import ExcelJS from 'exceljs';
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { PersonEntity } from '../../db/entities/org.entity';
import { SurveyAnswerEntity, type Survey } from '../../db/entities/survey.entity';
import type { FactServices, SurveyFact } from '../../domain/facts';
import { optionsOf, type SurveyTemplate } from './survey-template';

/**
 * 问卷 导出: an .xlsx. Anonymous questionnaires: aggregates only (the same suppressed results as in
 * chat). Named ones add a sheet with one row per person.
 */
export async function exportSurveyXlsx(em: EntityManager, services: FactServices, survey: Survey, template: SurveyTemplate, fact: SurveyFact): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  const summary = book.addWorksheet('汇总');
  summary.addRow(['问卷', `${survey.number} ${survey.title}`]);
  summary.addRow(['方式', survey.anonymous ? '匿名' : '实名']);
  summary.addRow(['发送人数', fact.recipients]);
  summary.addRow(['答卷人数', fact.respondents]);
  summary.addRow(['参与率', Math.round(fact.responseRate * 1000) / 10 + '%']);
  summary.addRow([]);
  if (fact.respondents >= services.minGroupSize) {
    summary.addRow(['题目', '选项', '人数', '百分比']);
    for (const q of fact.questions) {
      if (q.type === 'text') {
        if (q.comments) for (const c of q.comments) summary.addRow([q.text, c]);
        else summary.addRow([q.text, '文字意见仅在答卷人数较多时导出']);
        continue;
      }
      for (const o of q.options ?? []) summary.addRow([q.text, o.label, o.count, `${o.percent}%`]);
      if (q.type === 'rating') summary.addRow([q.text, '平均分', q.ratingMean ?? '']);
    }
  } else {
    summary.addRow([`答卷人数少于 ${services.minGroupSize} 人，不导出各题结果。`]);
  }
  const departments = book.addWorksheet('按部门');
  departments.addRow(['部门', '发送人数', '答卷人数']);
  for (const d of fact.byDepartment) departments.addRow([d.name, d.recipients, d.respondents]);
  if (!survey.anonymous) {
    const people = book.addWorksheet('答卷明细');
    people.addRow(['姓名', ...template.questions.map((q) => q.text)]);
    const answers = await em.findBy(SurveyAnswerEntity, { surveyId: survey.id });
    const byPerson = new Map<string, Map<string, string>>();
    for (const a of answers) {
      if (!a.personId) continue;
      const question = template.questions.find((q) => q.key === a.questionKey);
      const labels = question ? new Map(optionsOf(question).map((o) => [o.id, o.label])) : new Map<string, string>();
      const shown = a.textEnc ? services.cipher.decrypt(a.textEnc) : (a.value ?? '').split(',').map((id) => labels.get(id) ?? id).join('、');
      const row = byPerson.get(a.personId) ?? new Map<string, string>();
      row.set(a.questionKey, shown);
      byPerson.set(a.personId, row);
    }
    const names = new Map((await em.findBy(PersonEntity, { id: In([...byPerson.keys()]) })).map((p) => [p.id, p.name]));
    for (const [personId, row] of byPerson) people.addRow([names.get(personId) ?? personId, ...template.questions.map((q) => row.get(q.key) ?? '')]);
  }
  return Buffer.from(await book.xlsx.writeBuffer());
}

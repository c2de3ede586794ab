import type { EntityManager } from 'typeorm';
import { SurveyEntity } from '../../db/entities/survey.entity';
import type { FactRange, FactServices, SurveyFact } from '../../domain/facts';
import { loaded } from './survey-service';
import { SmallGroupError, surveyResults } from './survey-results';

/**
 * Questionnaires closed within the range, suppression applied (the facts provider of
 * src/domain/facts.ts). With a department: that department's results only where it is big enough
 * to be shown; otherwise the questionnaire is left out for it.
 */
export async function surveyFacts(em: EntityManager, services: FactServices, range: FactRange, options: { departmentId?: string } = {}): Promise<SurveyFact[]> {
  const closed = await em
    .getRepository(SurveyEntity)
    .createQueryBuilder('s')
    .where('s.status = :status AND s.closed_at >= :start AND s.closed_at < :end', { status: 'closed', start: range.start, end: range.end })
    .orderBy('s.closed_at', 'ASC')
    .getMany();
  const facts: SurveyFact[] = [];
  for (const survey of closed) {
    try {
      facts.push(await surveyResults(em, services, survey, loaded(survey).template, options.departmentId));
    } catch (error) {
      if (!(error instanceof SmallGroupError)) throw error;
    }
  }
  return facts;
}

/** The 汇总 section 问卷调查: closed questionnaires of the period with their response rates. */
export async function surveySummarySection(em: EntityManager, services: FactServices, range: FactRange, departmentId?: string): Promise<string | null> {
  const facts = await surveyFacts(em, services, range, { departmentId });
  if (facts.length === 0) return null;
  const lines = facts.map((f) => `- ${f.number}「${f.title}」：答卷 ${f.respondents}/${f.recipients}，参与率 ${Math.round(f.responseRate * 1000) / 10}%`);
  return ['### 问卷调查', ...lines].join('\n');
}

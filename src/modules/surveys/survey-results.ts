import { randomInt } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { SurveyAnswerEntity, type Survey } from '../../db/entities/survey.entity';
import { DepartmentEntity } from '../../db/entities/org.entity';
import type { FactServices, SurveyFact, SurveyQuestionFact } from '../../domain/facts';
import { optionsOf, type SurveyTemplate } from './survey-template';
import { answerTallies, departmentTallies } from './survey-tallies';

/*
 * Results that cannot single anyone out (issue §5), the same in chat, export, 汇总 and facts:
 *  - per department only where at least MIN_GROUP_SIZE answered; smaller groups merge into 其他部门;
 *    when exactly one group would be suppressed, the next-smallest goes too (complementary
 *    suppression), so no subtraction from the total reveals it;
 *  - free text only for a group of at least MIN_COMMENT_GROUP_SIZE, in random order.
 */

export const OTHER_DEPARTMENTS = '其他部门';

export interface DepartmentGroup {
  departmentId: string | null;
  name: string;
  recipients: number;
  respondents: number;
}

/** Which department groups may be shown: the suppressed ones merged into one 其他部门 line. */
export function suppressGroups(groups: DepartmentGroup[], minGroupSize: number): { shown: DepartmentGroup[]; merged: DepartmentGroup | null } {
  const small = groups.filter((g) => g.respondents < minGroupSize);
  const large = groups.filter((g) => g.respondents >= minGroupSize).sort((a, b) => a.respondents - b.respondents);
  if (small.length === 1 && large.length > 0) small.push(large.shift()!);
  if (small.length === 0) return { shown: sortByName(large), merged: null };
  const merged: DepartmentGroup = {
    departmentId: null,
    name: OTHER_DEPARTMENTS,
    recipients: small.reduce((sum, g) => sum + g.recipients, 0),
    respondents: small.reduce((sum, g) => sum + g.respondents, 0),
  };
  return { shown: sortByName(large), merged };
}

function sortByName(groups: DepartmentGroup[]): DepartmentGroup[] {
  return [...groups].sort((a, b) => a.name.localeCompare(b.name, 'zh'));
}

/** Department groups of the questionnaire: recipients and respondents per department (participation only, from its tallies). */
export async function departmentGroups(em: EntityManager, survey: Survey): Promise<DepartmentGroup[]> {
  const rows = await departmentTallies(em, survey.id);
  const ids = rows.map((r) => r.departmentId).filter((id): id is string => id !== null);
  const names = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const d of await em.findBy(DepartmentEntity, { id: In(ids.slice(i, i + 500)) })) names.set(d.id, d.name);
  }
  return rows.map((r) => ({
    departmentId: r.departmentId,
    name: r.departmentId ? (names.get(r.departmentId) ?? r.departmentId) : '未归属部门',
    recipients: r.recipients,
    respondents: r.respondents,
  }));
}

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/**
 * Per-question results over the answers of the given departments (all when null). Counts are read
 * from the questionnaire's tallies (kept as answers arrive), free text from the answers themselves.
 */
export async function questionResults(
  em: EntityManager,
  services: FactServices,
  survey: Survey,
  template: SurveyTemplate,
  departmentIds: (string | null)[] | null,
  respondents: number,
  commentLimit?: number,
): Promise<SurveyQuestionFact[]> {
  const scoped = (qb: ReturnType<ReturnType<EntityManager['getRepository']>['createQueryBuilder']>) => {
    qb.where('a.survey_id = :id', { id: survey.id });
    if (departmentIds) {
      const ids = departmentIds.filter((d): d is string => d !== null);
      const withNull = departmentIds.includes(null);
      if (ids.length && withNull) qb.andWhere('(a.department_id IN (:...ids) OR a.department_id IS NULL)', { ids });
      else if (ids.length) qb.andWhere('a.department_id IN (:...ids)', { ids });
      else qb.andWhere('a.department_id IS NULL');
    }
    return qb;
  };
  const tallies = await answerTallies(em, survey.id, departmentIds);

  const results: SurveyQuestionFact[] = [];
  for (const question of template.questions) {
    const counted = tallies.get(question.key) ?? new Map<string, number>();
    // Option '' counts the people who answered the question.
    const answered = counted.get('') ?? 0;
    if (question.type === 'text') {
      const fact: SurveyQuestionFact = { key: question.key, text: question.text, type: 'text', answered };
      if (respondents >= services.minCommentGroupSize) {
        const query = scoped(em.getRepository(SurveyAnswerEntity).createQueryBuilder('a'))
          .select('a.text_enc', 'textEnc')
          .andWhere('a.question_key = :key AND a.text_enc IS NOT NULL', { key: question.key });
        // Keys are random, so the first rows by key are a random sample (chat shows a few).
        if (commentLimit !== undefined) query.orderBy('a.id').limit(commentLimit);
        const texts: { textEnc: string }[] = await query.getRawMany();
        fact.comments = shuffle(texts.map((t) => services.cipher.decrypt(t.textEnc)));
      }
      results.push(fact);
      continue;
    }
    const people = answered;
    const options = optionsOf(question).map((o) => {
      const count = counted.get(o.id) ?? 0;
      return { id: o.id, label: o.label, count, percent: people ? Math.round((count / people) * 1000) / 10 : 0 };
    });
    const fact: SurveyQuestionFact = { key: question.key, text: question.text, type: question.type, answered: people, options };
    if (question.type === 'rating') {
      fact.ratingDistribution = options.map((o) => o.count);
      const total = options.reduce((sum, o) => sum + Number(o.id) * o.count, 0);
      fact.ratingMean = people ? Math.round((total / people) * 100) / 100 : null;
    }
    results.push(fact);
  }
  return results;
}

/** The whole questionnaire's results, suppression applied (SurveyFact as src/domain/facts.ts types it). */
export async function surveyResults(
  em: EntityManager,
  services: FactServices,
  survey: Survey,
  template: SurveyTemplate,
  departmentId?: string,
  options: { commentLimit?: number } = {},
): Promise<SurveyFact> {
  const groups = await departmentGroups(em, survey);
  const { shown, merged } = suppressGroups(groups, services.minGroupSize);
  let recipients = groups.reduce((s, g) => s + g.recipients, 0);
  let respondents = groups.reduce((s, g) => s + g.respondents, 0);
  let departmentIds: (string | null)[] | null = null;
  if (departmentId !== undefined) {
    const group = shown.find((g) => g.departmentId === departmentId);
    if (!group) throw new SmallGroupError();
    recipients = group.recipients;
    respondents = group.respondents;
    departmentIds = [departmentId];
  }
  const byDepartment = departmentId !== undefined ? shown.filter((g) => g.departmentId === departmentId) : [...shown, ...(merged ? [merged] : [])];
  return {
    number: survey.number,
    title: survey.title,
    anonymous: survey.anonymous,
    closedAt: survey.closedAt ?? 0,
    recipients,
    respondents,
    responseRate: recipients ? respondents / recipients : 0,
    questions: await questionResults(em, services, survey, template, departmentIds, respondents, options.commentLimit),
    byDepartment,
  };
}

/** The department asked for has fewer respondents than MIN_GROUP_SIZE (or is suppressed with one that has). */
export class SmallGroupError extends Error {}

const percent = (value: number) => `${Math.round(value * 1000) / 10}%`;

/** Results as chat markdown. */
export function resultsMarkdown(fact: SurveyFact, options: { minGroupSize: number; heading?: string }): string {
  const lines = [`**${options.heading ?? `问卷结果 ${fact.number}`}**`, `${fact.title}（${fact.anonymous ? '匿名' : '实名'}）`];
  lines.push(`> 发送 ${fact.recipients} 人，答卷 ${fact.respondents} 人，参与率 ${percent(fact.responseRate)}`);
  if (fact.respondents < options.minGroupSize) {
    lines.push(`答卷人数少于 ${options.minGroupSize} 人，不显示各题结果。`);
    return lines.join('\n');
  }
  fact.questions.forEach((q, i) => {
    lines.push('', `**${i + 1}. ${q.text}**（${q.answered} 人作答）`);
    if (q.type === 'text') {
      if (q.comments === undefined) lines.push('> 文字意见仅在答卷人数较多时显示。');
      else if (q.comments.length === 0) lines.push('> （无）');
      else for (const c of q.comments.slice(0, 20)) lines.push(`> ${c.replace(/\s+/g, ' ').slice(0, 200)}`);
      return;
    }
    if (q.type === 'rating') lines.push(`> 平均 ${q.ratingMean ?? '—'} 分；分布 1–5 分：${(q.ratingDistribution ?? []).join(' / ')}`);
    else for (const o of q.options ?? []) lines.push(`> ${o.label}：${o.count}（${o.percent}%）`);
  });
  if (fact.byDepartment.length > 1) {
    lines.push('', '**按部门参与情况**');
    for (const d of fact.byDepartment) {
      const small = d.respondents < options.minGroupSize ? '（人数较少，合并显示）' : '';
      lines.push(`> ${d.name}：${d.respondents}/${d.recipients}${small}`);
    }
  }
  return lines.join('\n');
}

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CardInput } from '../../core/messages';

/*
 * Questionnaire templates are data (bot-cards/surveys/*.json), checked here when loaded. A bad file
 * is refused with its path and field; the others still load, and the bot says which it skipped.
 *
 * Paging: every page must fit every platform. WeCom's multiple_interaction takes at most 3
 * single-choice selects of at most 10 options; vote_interaction one question of at most 20 options.
 * So single-choice and rating questions go up to three a page, a multiple-choice question alone,
 * and free-text questions (which no card can take) are asked as messages after the choice pages.
 */

export const MAX_SELECTS_PER_PAGE = 3;
export const MAX_SINGLE_OPTIONS = 10;
export const MAX_MULTI_OPTIONS = 20;
/** WeCom's select option text (16 字) and vote option text (17 字). */
const MAX_SINGLE_LABEL = 16;
const MAX_MULTI_LABEL = 17;

const OptionSchema = z.object({
  id: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'option id: 1–32 of a-z 0-9 _ -'),
  label: z.string().min(1).max(MAX_MULTI_LABEL),
});

const BaseQuestion = {
  key: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'key: a lower-case letter, then up to 31 of a-z 0-9 _'),
  text: z.string().min(1).max(200),
  optional: z.boolean().default(false),
  /** The Art. 8 area the question covers (政治思想 …), for reading the results. */
  area: z.string().max(20).optional(),
};

const QuestionSchema = z.discriminatedUnion('type', [
  z.object({
    ...BaseQuestion,
    type: z.literal('single'),
    options: z
      .array(OptionSchema.extend({ label: z.string().min(1).max(MAX_SINGLE_LABEL) }))
      .min(2)
      .max(MAX_SINGLE_OPTIONS),
  }),
  z.object({ ...BaseQuestion, type: z.literal('multi'), options: z.array(OptionSchema).min(2).max(MAX_MULTI_OPTIONS) }),
  z.object({ ...BaseQuestion, type: z.literal('rating') }),
  z.object({ ...BaseQuestion, type: z.literal('text') }),
]);

export const SurveyTemplateSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,40}$/, 'id: 1–40 of a-z 0-9 -'),
    title: z.string().min(1).max(30),
    intro: z.string().max(500).default(''),
    questions: z.array(QuestionSchema).min(1).max(40),
  })
  .superRefine((template, ctx) => {
    const seen = new Set<string>();
    template.questions.forEach((question, index) => {
      if (seen.has(question.key)) ctx.addIssue({ code: 'custom', path: ['questions', index, 'key'], message: `duplicate key "${question.key}"` });
      seen.add(question.key);
      if ('options' in question) {
        const ids = new Set<string>();
        question.options.forEach((option, o) => {
          if (ids.has(option.id)) ctx.addIssue({ code: 'custom', path: ['questions', index, 'options', o, 'id'], message: `duplicate option id "${option.id}"` });
          ids.add(option.id);
        });
      }
    });
  });

export type SurveyTemplate = z.infer<typeof SurveyTemplateSchema>;
export type SurveyQuestion = SurveyTemplate['questions'][number];
export type QuestionType = SurveyQuestion['type'];

export const QUESTION_TYPE_LABELS: Record<QuestionType, string> = { single: '单选', multi: '多选', rating: '评分 1–5', text: '文字' };

export const RATING_OPTIONS = [
  { id: '1', label: '1 分（很低）' },
  { id: '2', label: '2 分' },
  { id: '3', label: '3 分' },
  { id: '4', label: '4 分' },
  { id: '5', label: '5 分（很高）' },
];

/** The options a question offers on a card (rating: 1–5); none for free text. */
export function optionsOf(question: SurveyQuestion): { id: string; label: string }[] {
  if (question.type === 'rating') return RATING_OPTIONS;
  if (question.type === 'text') return [];
  return question.options;
}

/** Checks one template's JSON text; the error names the field (`questions.2.options.0.label: …`). */
export function parseSurveyTemplate(json: string, source: string): { template: SurveyTemplate } | { error: string } {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return { error: `${source}: not valid JSON (${(error as Error).message})` };
  }
  const result = SurveyTemplateSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { error: `${source}: ${issue.path.join('.') || '(file)'}: ${issue.message}` };
  }
  return { template: result.data };
}

export function checkSurveyTemplateFile(file: string): { template: SurveyTemplate } | { error: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    return { error: `${file}: cannot be read (${(error as Error).message})` };
  }
  const parsed = parseSurveyTemplate(text, file);
  if ('template' in parsed && `${parsed.template.id}.json` !== path.basename(file)) {
    return { error: `${file}: id: must be "${path.basename(file, '.json')}" (the file name)` };
  }
  return parsed;
}

export interface SurveyTemplateLibrary {
  templates: SurveyTemplate[];
  /** Files refused, each with its path and field. */
  skipped: string[];
  find(id: string): SurveyTemplate | undefined;
}

/** Reads every template of the folder; a bad file is skipped (and listed), not fatal. */
export function loadSurveyTemplates(directory: string): SurveyTemplateLibrary {
  const templates: SurveyTemplate[] = [];
  const skipped: string[] = [];
  const files = fs.existsSync(directory) ? fs.readdirSync(directory).filter((f) => f.endsWith('.json')).sort() : [];
  for (const file of files) {
    const parsed = checkSurveyTemplateFile(path.join(directory, file));
    if ('error' in parsed) skipped.push(parsed.error);
    else templates.push(parsed.template);
  }
  return { templates, skipped, find: (id) => templates.find((t) => t.id === id || t.title === id) };
}

/** A page: the choice questions one card carries. */
export interface SurveyPage {
  index: number;
  questions: SurveyQuestion[];
}

export function choicePages(template: SurveyTemplate): SurveyPage[] {
  const pages: SurveyQuestion[][] = [];
  let current: SurveyQuestion[] = [];
  const flush = () => {
    if (current.length) pages.push(current);
    current = [];
  };
  for (const question of template.questions) {
    if (question.type === 'text') continue;
    if (question.type === 'multi') {
      flush();
      pages.push([question]);
      continue;
    }
    current.push(question);
    if (current.length === MAX_SELECTS_PER_PAGE) flush();
  }
  flush();
  return pages.map((questions, index) => ({ index, questions }));
}

export function textQuestions(template: SurveyTemplate): SurveyQuestion[] {
  return template.questions.filter((q) => q.type === 'text');
}

/** The card inputs of a page (neutral form; every platform renders them). */
export function pageInputs(page: SurveyPage): CardInput[] {
  return page.questions.map((question) => ({ key: question.key, label: question.text, multi: question.type === 'multi', options: optionsOf(question) }));
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSurveyTemplateFile, choicePages, loadSurveyTemplates, MAX_SELECTS_PER_PAGE } from '../../src/modules/surveys/survey-template';

const SHIPPED = path.join(__dirname, '../../bot-cards/surveys');

describe('questionnaire templates as data', () => {
  it('ships two valid templates: the quarterly pulse over the five Art. 8 areas, and a special topic', () => {
    const library = loadSurveyTemplates(SHIPPED);
    expect(library.skipped).toEqual([]);
    const pulse = library.find('quarterly-pulse')!;
    expect(new Set(pulse.questions.map((q) => q.area))).toEqual(new Set(['政治思想', '工作状态', '利益诉求', '社会心理', '其他']));
    expect(new Set(pulse.questions.map((q) => q.type))).toEqual(new Set(['single', 'multi', 'rating', 'text']));
    expect(library.find('special-topic')!.intro).toContain('第十条第（二）项');
  });

  it('pages: at most three single/rating questions, a multiple-choice question alone, free text left to messages', () => {
    for (const template of loadSurveyTemplates(SHIPPED).templates) {
      for (const page of choicePages(template)) {
        expect(page.questions.length).toBeLessThanOrEqual(MAX_SELECTS_PER_PAGE);
        if (page.questions.some((q) => q.type === 'multi')) expect(page.questions).toHaveLength(1);
        expect(page.questions.some((q) => q.type === 'text')).toBe(false);
      }
    }
  });

  it('refuses a bad file with its path and field, and the others still load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'surveys-'));
    fs.copyFileSync(path.join(SHIPPED, 'special-topic.json'), path.join(dir, 'special-topic.json'));
    const bad = { id: 'bad', title: '坏模板', questions: [{ key: 'q1', type: 'single', text: '题', options: Array.from({ length: 11 }, (_, i) => ({ id: `o${i}`, label: `选项${i}` })) }] };
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
    fs.writeFileSync(path.join(dir, 'broken.json'), '{ not json');
    fs.writeFileSync(path.join(dir, 'misnamed.json'), JSON.stringify({ ...bad, id: 'other', questions: [{ key: 'q1', type: 'rating', text: '题' }] }));
    const library = loadSurveyTemplates(dir);
    expect(library.templates.map((t) => t.id)).toEqual(['special-topic']);
    expect(library.skipped).toHaveLength(3);
    expect(library.skipped.find((s) => s.includes('bad.json'))).toMatch(/bad\.json: questions\.0\.options: /);
    expect(library.skipped.find((s) => s.includes('broken.json'))).toContain('not valid JSON');
    expect(library.skipped.find((s) => s.includes('misnamed.json'))).toContain('id: must be "misnamed"');
    expect(checkSurveyTemplateFile(path.join(dir, 'bad.json'))).toEqual({ error: expect.stringContaining('questions.0.options') });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses duplicate question keys and option ids', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'surveys-'));
    const dup = { id: 'dup', title: '重复', questions: [{ key: 'a', type: 'rating', text: '一' }, { key: 'a', type: 'multi', text: '二', options: [{ id: 'x', label: '甲' }, { id: 'x', label: '乙' }] }] };
    fs.writeFileSync(path.join(dir, 'dup.json'), JSON.stringify(dup));
    expect(loadSurveyTemplates(dir).skipped[0]).toContain('questions.1.key: duplicate key "a"');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

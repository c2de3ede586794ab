import { importSampleOrg, SAMPLE_ORG } from '../helpers/org-fixture';
import type { TestApp } from '../helpers/test-app';
import type { ConsoleMessage } from '../../src/platforms/console/console-routes';
import type { Card } from '../../src/core/messages';

/** SAMPLE_ORG plus 技术处 (d3, 6 people), 后勤处 (d4, 6 people) and 档案室 (d5, 2 people). */
export const SURVEY_ORG = {
  departments: [...SAMPLE_ORG.departments, { id: 'd3', name: '技术处', parentId: 'root' }, { id: 'd4', name: '后勤处', parentId: 'root' }, { id: 'd5', name: '档案室', parentId: 'root' }],
  people: [
    ...SAMPLE_ORG.people,
    ...Array.from({ length: 6 }, (_, i) => ({ id: `tech${i}`, name: `技术${i}`, departmentIds: ['d3'] })),
    ...Array.from({ length: 6 }, (_, i) => ({ id: `log${i}`, name: `后勤${i}`, departmentIds: ['d4'] })),
    ...Array.from({ length: 2 }, (_, i) => ({ id: `arc${i}`, name: `档案${i}`, departmentIds: ['d5'] })),
  ],
};

export async function importSurveyOrg(t: TestApp): Promise<void> {
  await importSampleOrg(t, SURVEY_ORG);
}

export function cardsIn(messages: ConsoleMessage[]): Card[] {
  return messages.filter((m): m is Extract<ConsoleMessage, { card: Card }> => 'card' in m).map((m) => m.card);
}

export function pageCards(messages: ConsoleMessage[]): Card[] {
  return cardsIn(messages).filter((c) => c.template === 'survey-page');
}

/** A page card's values with the first option of every question chosen. */
export function firstOptions(card: Card): Record<string, string | string[]> {
  return Object.fromEntries(card.inputs.map((i) => [i.key, i.multi ? [i.options[0].id] : i.options[0].id]));
}

/** The four sections of a department report (Art. 11), code names and the seed's words. */
export const SECTION_KEYS = ['overall', 'performance', 'causes', 'suggestions'] as const;
export type SectionKey = (typeof SECTION_KEYS)[number];
export type Sections = Record<SectionKey, string>;

export const SECTION_LABELS: Record<SectionKey, string> = {
  overall: '总体情况',
  performance: '主要表现',
  causes: '原因分析',
  suggestions: '对策建议',
};

export const SECTION_BY_WORD: Record<string, SectionKey> = Object.fromEntries(Object.entries(SECTION_LABELS).map(([k, v]) => [v, k as SectionKey]));

export function emptySections(): Sections {
  return { overall: '', performance: '', causes: '', suggestions: '' };
}

export function missingSections(sections: Sections): string[] {
  return SECTION_KEYS.filter((k) => !sections[k].trim()).map((k) => SECTION_LABELS[k]);
}

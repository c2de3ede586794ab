import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../lib/project-root';

/**
 * The repository's word lists for 研判 (bot-cards/analysis/): the unit's own terms, each with the
 * variants that mean the same (归并为行首的词), and the stop words that never make a theme.
 */
export interface WordLists {
  /** Every variant (the term itself included) → its canonical term. */
  canonical: Map<string, string>;
  stopWords: Set<string>;
}

const DIRECTORY = () => path.join(projectRoot(), 'bot-cards', 'analysis');

function dataLines(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
}

export function loadWordLists(directory = DIRECTORY()): WordLists {
  const canonical = new Map<string, string>();
  for (const [term, ...variants] of dataLines(path.join(directory, 'domain-terms.txt'))) {
    for (const word of [term, ...variants]) canonical.set(word, term);
  }
  const stopWords = new Set(dataLines(path.join(directory, 'stopwords.txt')).flat());
  return { canonical, stopWords };
}

/** A word the office may add with `研判 词典 添加`: 2–12 Chinese characters, letters or digits, no spaces. */
export function checkTerm(word: string): string | null {
  if (!/^[\p{Script=Han}A-Za-z0-9]{2,12}$/u.test(word)) return '词条须为 2–12 个汉字、字母或数字，不含空格和标点，例如：研判 词典 添加 职工书屋';
  return null;
}

import { Jieba, TfIdf } from '@node-rs/jieba';
import { loadWordLists, type WordLists } from './dictionary';

/**
 * Keywords of one text: jieba's segmentation (its default dictionary plus the unit's terms) and
 * TF-IDF ranking (its default IDF table), filtered by part of speech and the stop-word list, with
 * variants folded into their canonical term. About 40 µs of CPU per insight once loaded (BENCHMARKS.md).
 */
export interface KeywordExtractor {
  /** The text's leading keywords, best first, each once. */
  keywords(text: string): string[];
  /** Teaches the segmenter words the office added (idempotent). */
  addTerms(words: string[]): void;
}

/** Nouns, verbal nouns, idioms and set phrases: what a theme is made of (jieba's tag set; verbs and adjectives such as 倾斜, 下班 are how people speak of a theme, not the theme). The unit's terms always count. */
const THEME_POS = new Set(['n', 'nz', 'vn', 'nt', 'ns', 'l', 'i', 'an']);
/** Kept per insight: enough for its themes, few enough that counts stay cheap. */
export const KEYWORDS_PER_INSIGHT = 5;
/** Frequency and IDF given to the unit's terms: segmented whole, ranked above ordinary words. */
const TERM_FREQUENCY = 300000;
const TERM_IDF = 12;

interface Loaded {
  jieba: Jieba;
  tfidf: TfIdf;
  lists: WordLists;
  known: Set<string>;
}

let shared: Loaded | null = null;

/**
 * The dictionaries take ~0.5 s and ~100 MB to load, so one copy serves the whole process, loaded
 * at first use (never at import time). Words the office adds are added to that copy; a segmenter
 * knowing an extra word only keeps it whole, so sharing it between apps in one process is harmless.
 */
function load(): Loaded {
  if (shared) return shared;
  // Required here, not imported above: the dictionaries are read when this module is loaded.
  const { dict, idf } = require('@node-rs/jieba/dict') as { dict: Uint8Array; idf: Uint8Array };
  const lists = loadWordLists();
  const jieba = Jieba.withDict(dict);
  const tfidf = TfIdf.withDict(idf);
  const loaded: Loaded = { jieba, tfidf, lists, known: new Set() };
  teach(loaded, [...lists.canonical.keys()]);
  shared = loaded;
  return loaded;
}

function teach(loaded: Loaded, words: string[]): void {
  const fresh = words.filter((w) => !loaded.known.has(w));
  if (fresh.length === 0) return;
  loaded.jieba.loadDict(Buffer.from(fresh.map((w) => `${w} ${TERM_FREQUENCY} n`).join('\n') + '\n'));
  loaded.tfidf.loadDict(Buffer.from(fresh.map((w) => `${w} ${TERM_IDF}`).join('\n') + '\n'));
  for (const w of fresh) loaded.known.add(w);
}

const NOT_A_THEME = /^[\d\p{P}\p{S}a-zA-Z]*$/u;

export function createKeywordExtractor(): KeywordExtractor {
  return {
    keywords(text) {
      const loaded = load();
      // More candidates than kept: variants fold together and stop words drop out (filtered here:
      // TfIdf.setConfig does not accept a stop-word set in this binding).
      const ranked = loaded.tfidf.extractKeywords(loaded.jieba, text, KEYWORDS_PER_INSIGHT * 3);
      // The unit's terms count whatever jieba's own dictionary tags them (加班 is a verb there).
      const tags = new Map(loaded.jieba.tag(text, true).map((t) => [t.word, t.tag]));
      const chosen: string[] = [];
      for (const { keyword } of ranked) {
        const term = loaded.lists.canonical.get(keyword);
        const word = term ?? keyword;
        if (!term && !loaded.known.has(word) && !THEME_POS.has(tags.get(keyword) ?? '')) continue;
        if (loaded.lists.stopWords.has(word) || NOT_A_THEME.test(word) || chosen.includes(word)) continue;
        chosen.push(word);
        if (chosen.length === KEYWORDS_PER_INSIGHT) break;
      }
      return chosen;
    },
    addTerms(words) {
      teach(load(), words);
    },
  };
}

import type { Jieba } from '@node-rs/jieba';

let jieba: Jieba | null = null;

/** The segmenter, loaded on first use (about 0.3 s for its dictionary), never at import time. */
function segmenter(): Jieba {
  if (!jieba) {
    const { Jieba: JiebaClass } = require('@node-rs/jieba') as typeof import('@node-rs/jieba');
    const { dict } = require('@node-rs/jieba/dict') as { dict: Uint8Array };
    jieba = JiebaClass.withDict(dict);
  }
  return jieba;
}

const HAN = /\p{Script=Han}/u;

/**
 * Whether a Chinese word ends after the first `length` characters of `text` (jieba segmentation),
 * e.g. true for 上报|近期有同志…, false for 意见|箱在哪里 (意见箱 is one word). A non-Han character
 * after the cut (a digit, `#`, a Latin letter, punctuation) always makes a boundary.
 */
export function endsAtWordBoundary(text: string, length: number): boolean {
  if (length <= 0 || length >= text.length) return length === text.length;
  if (!HAN.test(text[length]) || !HAN.test(text[length - 1])) return true;
  let end = 0;
  for (const token of segmenter().cut(text.slice(0, length + 16), false)) {
    end += token.length;
    if (end === length) return true;
    if (end > length) return false;
  }
  return false;
}

/** Normalises chat input: full-width spaces and `＃` become their half-width forms; ends trimmed. */
export function normalizeInput(text: string): string {
  return text.replace(/\u3000/g, ' ').replace(/＃/g, '#').replace(/\r\n?/g, '\n').trim();
}

/** Splits off the first word (the command) from the rest of a message. */
export function splitCommand(text: string): { word: string; rest: string } {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  if (!match) return { word: '', rest: '' };
  return { word: match[1], rest: match[2].trim() };
}

export interface CommandWord {
  /** The command word as typed (or the message's first word when none is known). */
  word: string;
  rest: string;
  /** Whether `word` is a known command word. */
  known: boolean;
  /** Whether the known word was found without a space after it. */
  glued?: boolean;
  /**
   * For an unknown word: the longest known word it begins with (意见 for 意见箱…), which was not taken
   * because it does not end at a word boundary; the reply can say to put a space after it.
   */
  near?: string;
}

const ASCII = /^[\x00-\x7f]+$/;

/**
 * Finds the command word of a message. The first word (up to a space) when it is a known word;
 * otherwise the longest known Chinese word the message begins with, without a space
 * (`上报近期有同志…`, and `匿名意见…` before `意见`), when a word ends there
 * (`endsAtWordBoundary`): `即时通讯…` and `意见箱…` are words of their own, not commands.
 * English aliases always need the space (`reporting` is not `report`).
 */
export function findCommandWord(text: string, known: ReadonlySet<string>, endsAtWordBoundary: (text: string, length: number) => boolean): CommandWord {
  const first = splitCommand(text);
  if (known.has(first.word.toLowerCase())) return { ...first, known: true };
  const glued = [...known].filter((w) => !ASCII.test(w) && text.startsWith(w)).sort((a, b) => b.length - a.length);
  for (const word of glued) {
    if (endsAtWordBoundary(text, word.length)) return { word, rest: text.slice(word.length).trim(), known: true, glued: true };
  }
  return { ...first, known: false, near: glued[0] };
}

/** Splits arguments on any run of whitespace. */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

export const MAX_TEXT_LENGTH = 4000;

export function excerpt(text: string, length = 40): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > length ? `${flat.slice(0, length)}…` : flat;
}

/** At most `maxChars` characters, the last one an ellipsis when cut; never splits a character (emoji included). */
export function clip(text: string, maxChars: number): string {
  const chars = [...text];
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}

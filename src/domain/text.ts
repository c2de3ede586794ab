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

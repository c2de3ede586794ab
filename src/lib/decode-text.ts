import chardet from 'chardet';
import iconv from 'iconv-lite';

export type DecodedText = { ok: true; text: string; encoding: 'UTF-8' | 'GB18030' | 'UTF-16LE' | 'UTF-16BE' } | { ok: false; guess: string | null };

const OTHER_CJK = new Set(['Big5', 'Shift_JIS', 'EUC-JP', 'EUC-KR']);

/**
 * Decodes a text file as office computers write it: UTF-8 with or without BOM (Excel's
 * "CSV UTF-8"), UTF-16 with BOM, or GBK/GB18030 (Excel's plain "CSV" on Chinese Windows).
 * UTF-8 is tried first and strictly (GBK text is practically never valid UTF-8). GB18030 is taken
 * only when chardet finds the bytes a valid GB18030 sequence and no other CJK encoding fits them
 * better, and the result has no replacement or control characters; anything else is not decoded.
 */
export function decodeText(bytes: Buffer): DecodedText {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { ok: true, text: iconv.decode(bytes.subarray(2), 'utf-16le'), encoding: 'UTF-16LE' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { ok: true, text: iconv.decode(bytes.subarray(2), 'utf-16be'), encoding: 'UTF-16BE' };
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(body), encoding: 'UTF-8' };
  } catch {
    // not UTF-8: try GB18030 below
  }
  const matches = chardet.analyse(bytes);
  const gb = matches.find((m) => m.name === 'GB18030');
  const rival = Math.max(0, ...matches.filter((m) => OTHER_CJK.has(m.name)).map((m) => m.confidence));
  if (gb && gb.confidence >= rival) {
    const text = iconv.decode(bytes, 'gb18030');
    // eslint-disable-next-line no-control-regex
    if (!/[\uFFFD\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text)) return { ok: true, text, encoding: 'GB18030' };
  }
  return { ok: false, guess: matches[0]?.name ?? null };
}

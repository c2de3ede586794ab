import chardet from 'chardet';
import iconv from 'iconv-lite';

export type DecodedText = { ok: true; text: string; encoding: 'UTF-8' | 'GB18030' | 'UTF-16LE' | 'UTF-16BE' } | { ok: false };

/** Encodings whose text GB18030 would also decode, into wrong characters. */
const RIVALS = new Set(['Big5', 'Shift_JIS']);

/**
 * Decodes a text file as office computers write it: UTF-8 with or without BOM (Excel's
 * "CSV UTF-8"), UTF-16 with BOM, or GBK/GB18030 (Excel's plain "CSV" on Chinese Windows).
 * UTF-8 is tried first and strictly (GBK text is practically never valid UTF-8). GB18030 is taken
 * when the bytes are valid GB18030 without control characters and chardet rates GB18030 above Big5
 * and Shift_JIS, whose text GB18030 would also decode, into wrong names. On a short file chardet
 * cannot tell them apart (all score its floor); then only plain GB2312 text (what simplified names
 * nearly always are, and a Big5 file rarely is) is taken. Anything else is refused. Known limit:
 * EUC-KR and EUC-JP use GB2312's byte ranges and cannot be told from it.
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
  const text = iconv.decode(bytes, 'gb18030');
  const valid = !/[\uFFFD\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text);
  const gb = matches.find((m) => m.name === 'GB18030')?.confidence ?? 0;
  const rival = Math.max(0, ...matches.filter((m) => RIVALS.has(m.name)).map((m) => m.confidence));
  if (valid && gb > 0 && (gb > rival || (gb === rival && isPlainGb2312(bytes)))) return { ok: true, text, encoding: 'GB18030' };
  return { ok: false };
}

/** Every non-ASCII character is a two-byte GB2312 one (lead A1–F7, trail A1–FE). */
function isPlainGb2312(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] < 0x80) continue;
    const lead = bytes[i];
    const trail = bytes[i + 1] ?? 0;
    if (lead < 0xa1 || lead > 0xf7 || trail < 0xa1 || trail > 0xfe) return false;
    i++;
  }
  return true;
}

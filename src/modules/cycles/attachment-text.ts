import JSZip from 'jszip';

/*
 * Text of a department report sent as a file, kept for the unit report. A .docx is a zip whose
 * word/document.xml holds the text in <w:t> runs, paragraphs in <w:p>; jszip (already installed,
 * exceljs depends on it) opens it. A .pdf is kept as a file only: no PDF text extractor is installed.
 */

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" };

function decodeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&(lt|gt|amp|quot|apos);/g, (e) => ENTITIES[e]);
}

/** The paragraphs of a .docx as plain text; null when the file is not a readable Word document. */
export async function docxText(data: Buffer): Promise<string | null> {
  try {
    const zip = await JSZip.loadAsync(data);
    const document = zip.file('word/document.xml');
    if (!document) return null;
    const xml = await document.async('string');
    const paragraphs = xml.split(/<\/w:p>/).map((p) =>
      [...p.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>|<w:tab\/>|<w:br\/>/g)].map((m) => (m[1] === undefined ? (m[0] === '<w:tab/>' ? '\t' : '\n') : decodeXml(m[1]))).join(''),
    );
    return paragraphs.map((p) => p.trim()).filter(Boolean).join('\n');
  } catch {
    return null;
  }
}

/** Text to keep for a file: .docx text, or null (.pdf is kept as the file only). */
export async function attachmentText(name: string, data: Buffer): Promise<string | null> {
  return /\.docx$/i.test(name) ? docxText(data) : null;
}

/**
 * WeCom app messages (`msgtype: markdown`) render a small markdown subset (spec §5.1): headings,
 * **bold**, *italic*, links, inline code, `> quote` and <font color>. No tables, no lists, no rules:
 * those arrive as raw `|---|` and `- ` text. This turns the neutral markdown the bot writes (tables
 * included, which DingTalk and the console show as they are) into what WeCom shows:
 *
 * - a table becomes one quote line per row, its first cell bold and the other cells named by their
 *   column: `> **利益诉求**：本期 2，上期 1，变化 +1`;
 * - a list item (`- `, `* `, `1. ` kept as is) becomes a `• ` line, which reads as the same list;
 * - a line in `_underscores_` becomes `*italic*`; a rule (`---`) becomes an empty line.
 */
export function toWecomMarkdown(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (isTableRow(lines[i]) && isSeparatorRow(lines[i + 1] ?? '')) {
      const header = cells(lines[i]);
      i += 2;
      for (; i < lines.length && isTableRow(lines[i]); i++) out.push(tableRowAsQuote(header, cells(lines[i])));
      i--;
      continue;
    }
    out.push(inlineLine(lines[i]));
  }
  return out.join('\n');
}

function isTableRow(line: string): boolean {
  return /^\s*\|.*\|\s*$/.test(line);
}

function isSeparatorRow(line: string): boolean {
  return isTableRow(line) && cells(line).every((cell) => /^:?-{3,}:?$/.test(cell));
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
}

function tableRowAsQuote(header: string[], row: string[]): string {
  const [first, ...rest] = row;
  const named = rest.map((value, index) => (header[index + 1] ? `${header[index + 1]} ${value}` : value));
  return `> **${first}**${named.length ? `：${named.join('，')}` : ''}`;
}

function inlineLine(line: string): string {
  if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) return '';
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1]}• ${bullet[2]}`;
  const italic = /^_(.+)_$/.exec(line.trim());
  if (italic) return `*${italic[1]}*`;
  return line;
}

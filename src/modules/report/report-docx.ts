import {
  AlignmentType,
  BorderStyle,
  Document,
  DocumentGridType,
  Footer,
  LineRuleType,
  Packer,
  PageNumber,
  Paragraph,
  Table,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
  type IRunOptions,
  type ParagraphChild,
} from 'docx';
import { ChartRun, type ChartRunOptions } from 'docx/charts';
import { CATEGORIES, METHODS } from '../../db/entities/insight.entity';
import { ISSUE_KINDS } from '../../db/entities/case.entity';
import { CATEGORY_LABELS, METHOD_LABELS } from '../../domain/glossary';
import { zonedDate } from '../../lib/zoned-time';
import { ISSUE_KIND_GUIDANCE, ISSUE_KIND_LABELS } from '../cases/case-service';
import type { CountRow } from '../summary/summary-queries';
import { isEmptyReport, type Excerpt, type ReportData } from './report-data';

/*
 * The unit report as a Word file in the official document layout (党政机关公文格式, GB/T 9704-2012):
 * A4, margins 37/35/28/26 mm, a 22 × 28 document grid, 2号 小标宋 title, 3号 仿宋_GB2312 body,
 * 一、 in 黑体 and （一） in 楷体, page numbers "— 1 —" in 4号 宋体 on the outer side. Every run names
 * its East Asian font (w:eastAsia), so Word and WPS show Chinese fonts; fonts missing on a machine fall
 * back to the w:altName written into the font table (华文中宋 / 仿宋 / 楷体).
 */

export const FONTS = {
  title: '方正小标宋简体',
  body: '仿宋_GB2312',
  heading1: '黑体',
  heading2: '楷体_GB2312',
  pageNumber: '宋体',
  latin: 'Times New Roman',
} as const;

/** Fonts offices lack without the 方正 / GB2312 packs, and what Word and WPS use instead. */
export const FONT_FALLBACKS: Record<string, string> = {
  方正小标宋简体: '华文中宋',
  仿宋_GB2312: '仿宋',
  楷体_GB2312: '楷体',
};

/** Half-points: 2号 22 pt, 3号 16 pt, 4号 14 pt, 5号 10.5 pt. */
export const SIZES = { title: 44, body: 32, table: 28, annexTable: 21, pageNumber: 28 } as const;

const mm = (value: number) => Math.round((value / 25.4) * 1440);
export const PAGE = {
  width: 11906,
  height: 16838,
  margins: { top: mm(37), bottom: mm(35), left: mm(28), right: mm(26) },
};
const TEXT_WIDTH = PAGE.width - PAGE.margins.left - PAGE.margins.right;
const TEXT_HEIGHT = PAGE.height - PAGE.margins.top - PAGE.margins.bottom;
/** 22 lines a page: the line pitch in twips. */
export const LINE_PITCH = Math.floor(TEXT_HEIGHT / 22);
/** 28 characters a line: w:charSpace is the pitch's difference from the 16 pt body size, in 1/4096 pt. */
export const CHAR_SPACE = Math.round((TEXT_WIDTH / 28 / 20 - SIZES.body / 2) * 4096);

type RunStyle = Omit<IRunOptions, 'font' | 'text'>;

/** A run larger than the body (the title) does not snap to the character grid, or each glyph would take two cells. */
function gridFit(size: number): Pick<IRunOptions, 'snapToGrid'> {
  return size > SIZES.body ? { snapToGrid: false } : {};
}

/** Official documents set numbers without spaces around them (共5条, not 共 5 条). */
function officialSpacing(text: string): string {
  return text.replace(/([\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ ]+(?=[\dA-Za-z+-])/g, '$1').replace(/([\dA-Za-z%)])[ ]+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])/g, '$1');
}

function run(raw: string, font: string, style: RunStyle = {}): TextRun {
  const text = officialSpacing(raw);
  const size = typeof style.size === 'number' ? style.size : SIZES.body;
  return new TextRun({ text, size: SIZES.body, ...gridFit(size), ...style, font: { ascii: FONTS.latin, hAnsi: FONTS.latin, eastAsia: font, cs: FONTS.latin } });
}

const exact = { line: LINE_PITCH, lineRule: LineRuleType.EXACT };

function body(children: string | ParagraphChild[], indent = true): Paragraph {
  const runs = typeof children === 'string' ? [run(children, FONTS.body)] : children;
  return new Paragraph({ children: runs, spacing: exact, indent: indent ? { firstLine: 640 } : undefined, alignment: AlignmentType.JUSTIFIED });
}

function heading1(text: string): Paragraph {
  return new Paragraph({ children: [run(text, FONTS.heading1)], spacing: exact, indent: { firstLine: 640 } });
}

function heading2(text: string): Paragraph {
  return new Paragraph({ children: [run(text, FONTS.heading2)], spacing: exact, indent: { firstLine: 640 } });
}

function blank(): Paragraph {
  return new Paragraph({ children: [run('', FONTS.body)], spacing: exact });
}

const CHINESE_NUMERALS = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '十一', '十二', '十三', '十四', '十五'];
const numeral = (i: number) => CHINESE_NUMERALS[i] ?? String(i + 1);

const cellBorder = { style: BorderStyle.SINGLE, size: 4, color: '000000' };

/** Table text is 4号 (5号 in the annex's wide tables), one exact line per row instead of the grid's 579 twips. */
function table(header: string[], rows: (string | number)[][], options: { widths?: number[]; size?: number } = {}): Table {
  const size = options.size ?? SIZES.table;
  const line = { line: Math.round(size * 10 * 1.25), lineRule: LineRuleType.EXACT };
  const total = (options.widths ?? header.map(() => 1)).reduce((a, b) => a + b, 0);
  const widths = (options.widths ?? header.map(() => 1)).map((w) => Math.floor((w / total) * TEXT_WIDTH));
  const cell = (text: string | number, column: number, bold = false) =>
    new TableCell({
      width: { size: widths[column], type: WidthType.DXA },
      children: [new Paragraph({ alignment: AlignmentType.CENTER, spacing: line, children: [run(String(text), bold ? FONTS.heading1 : FONTS.body, { size })] })],
    });
  return new Table({
    width: { size: TEXT_WIDTH, type: WidthType.DXA },
    columnWidths: widths,
    borders: { top: cellBorder, bottom: cellBorder, left: cellBorder, right: cellBorder, insideHorizontal: cellBorder, insideVertical: cellBorder },
    rows: [
      new TableRow({ tableHeader: true, children: header.map((h, i) => cell(h, i, true)) }),
      ...rows.map((r) => new TableRow({ children: r.map((v, i) => cell(v, i)) })),
    ],
  });
}

function chart(options: ChartRunOptions): Paragraph {
  const font = { name: FONTS.body };
  return new Paragraph({ alignment: AlignmentType.CENTER, children: [new ChartRun({ ...options, font, transformation: { width: 560, height: 300 } } as ChartRunOptions)] });
}

function change(current: number, before: number | null): string {
  if (before === null) return '无可比数据';
  if (before === 0) return current === 0 ? '持平' : `新增 ${current} 条`;
  const d = current - before;
  const pct = Math.round((Math.abs(d) / before) * 1000) / 10;
  return d === 0 ? '持平' : `${d > 0 ? '增加' : '减少'} ${Math.abs(d)} 条（${d > 0 ? '+' : '-'}${pct}%）`;
}

function rowFor(rows: CountRow[], key: string): CountRow {
  return rows.find((r) => r.key === key) ?? { key, label: null, current: 0, previous: 0 };
}

function chineseDate(timeZone: string, at: number): string {
  const d = zonedDate(timeZone, at);
  return `${d.year}年${d.month}月${d.day}日`;
}

function overall(data: ReportData): (Paragraph | Table)[] {
  const out: (Paragraph | Table)[] = [heading1('一、总体情况')];
  const t = data.total;
  const top = [...data.byCategory].sort((a, b) => b.current - a.current)[0];
  const share = top && t.current ? `，其中「${CATEGORY_LABELS[top.key as keyof typeof CATEGORY_LABELS] ?? top.key}」方面最多（${top.current} 条，占 ${Math.round((top.current / t.current) * 1000) / 10}%）` : '';
  out.push(
    body(
      `${data.target.label}，全单位共收集思想动态信息 ${t.current} 条${share}。与上期（${data.target.bounds.previous.label}，${t.previous} 条）相比${change(t.current, t.previous)}；与上年同期（${data.yearAgoTotal} 条）相比${change(t.current, data.yearAgoTotal)}。`,
    ),
  );
  out.push(heading2('（一）按类别'));
  out.push(
    table(
      ['类别', '本期', '上期', '上年同期'],
      CATEGORIES.map((c) => {
        const r = rowFor(data.byCategory, c);
        return [CATEGORY_LABELS[c], r.current, r.previous, data.yearAgoByCategory.get(c) ?? 0];
      }),
    ),
  );
  if (t.current > 0) {
    out.push(
      chart({
        type: 'column',
        title: '信息类别分布',
        categories: CATEGORIES.map((c) => CATEGORY_LABELS[c]),
        series: [
          { name: '本期', values: CATEGORIES.map((c) => rowFor(data.byCategory, c).current) },
          { name: '上期', values: CATEGORIES.map((c) => rowFor(data.byCategory, c).previous) },
        ],
      }),
    );
  }
  out.push(
    chart({
      type: 'line',
      title: '近四个季度信息数量趋势',
      markers: true,
      categories: data.trend.map((q) => q.label),
      series: CATEGORIES.map((c) => ({ name: CATEGORY_LABELS[c], values: data.trend.map((q) => q.counts[c] ?? 0) })),
    }),
  );
  out.push(heading2('（二）按收集方式和部门'));
  out.push(table(['收集方式', '本期', '上期'], METHODS.map((m) => [METHOD_LABELS[m], rowFor(data.byMethod, m).current, rowFor(data.byMethod, m).previous])));
  const departments = data.byDepartment.filter((r) => r.current > 0 || r.previous > 0);
  if (departments.length) out.push(blank(), table(['部门', '本期', '上期'], departments.map((r) => [r.label ?? r.key, r.current, r.previous])));
  out.push(body(`人数少于 ${data.minGroupSize} 人的部门合并为「其他部门」。`));
  out.push(heading2('（三）报送情况'));
  const reporting = data.departmentsWithLiaison - data.departmentsSilent;
  const rate = data.departmentsWithLiaison ? `，报送率 ${Math.round((reporting / data.departmentsWithLiaison) * 1000) / 10}%` : '';
  const lines = [`已指定联络员的部门 ${data.departmentsWithLiaison} 个，本期有 ${reporting} 个部门报送了信息${rate}。`];
  if (data.departmentReports.length) {
    const count = (s: string) => data.departmentReports.filter((r) => r.status === s).length;
    lines.push(`部门定期（专题）报告应报 ${data.departmentReports.length} 份：按时 ${count('on_time')} 份，逾期 ${count('late')} 份，零报告 ${count('nil')} 份，未报 ${count('missing')} 份。`);
  }
  const im = data.immediate;
  lines.push(
    im.reports === 0
      ? '本期无即时报告。'
      : `本期即时报告 ${im.reports} 条，领导已确认 ${im.acknowledged} 条${im.medianAckMinutes !== null ? `，从报告到确认用时中位数 ${im.medianAckMinutes} 分钟，最长 ${im.maxAckMinutes} 分钟` : ''}。`,
  );
  out.push(...lines.map((l) => body(l)));
  if (data.surveys.length) {
    out.push(heading2('（四）问卷调查'));
    for (const s of data.surveys) {
      out.push(body(`问卷 ${s.number}「${s.title}」发放 ${s.recipients} 人，回收 ${s.respondents} 份，回收率 ${Math.round(s.responseRate * 1000) / 10}%。`));
      const question = s.questions.find((q) => q.options && q.options.length > 0 && q.answered > 0);
      if (question?.options) {
        out.push(
          chart({
            type: 'bar',
            title: clipTitle(question.text),
            legend: false,
            categories: question.options.map((o) => o.label),
            series: [{ name: '人数', values: question.options.map((o) => o.count) }],
          }),
        );
      }
    }
  }
  if (data.themes.length) {
    out.push(heading2(`（${numeral(data.surveys.length ? 4 : 3)}）集中反映的主题`));
    out.push(
      body(
        data.themes
          .slice(0, 8)
          .map((t) => `「${t.word}」${t.insights} 条（${t.departments} 个部门${t.spread ? '，具有倾向性' : ''}）`)
          .join('；') + '。',
      ),
    );
  }
  return out;
}

function clipTitle(text: string): string {
  return [...text].length > 30 ? `${[...text].slice(0, 30).join('')}…` : text;
}

function quoted(excerpts: Excerpt[]): string {
  return excerpts.map((e) => `“${e.text}”（${e.where}）`).join('；');
}

function performance(data: ReportData): Paragraph[] {
  const out = [heading1('二、主要表现')];
  data.areas.forEach((area, i) => {
    out.push(heading2(`（${numeral(i)}）${area.label}方面`));
    const parts = [`本期 ${area.count} 条。`];
    parts.push(area.positive.length ? `积极向上的表现：${quoted(area.positive)}。` : '未收集到积极表现的具体反映。');
    parts.push(area.concern.length ? `需要关注的问题倾向：${quoted(area.concern)}。` : '未发现需要关注的问题倾向。');
    out.push(body(parts.join('')));
  });
  out.push(body('以上摘录不含人员姓名；人数较少部门的信息不注明部门。'));
  return out;
}

/** The department reports' sections of one kind, grouped by department, names of people stripped. */
function fromDepartments(data: ReportData, section: 'causes' | 'suggestions', scrub: (text: string) => string): Paragraph[] {
  const written = data.departmentReports.filter((r) => r.sections && r.sections[section].trim());
  if (written.length === 0) return [body(`本期${data.departmentReports.length ? '各部门报告未涉及此项' : '尚无部门报告'}。`)];
  return written.map((r) => body([run(`${r.departmentName}：`, FONTS.heading2), run(scrub(r.sections![section].trim()), FONTS.body)]));
}


function measures(data: ReportData): (Paragraph | Table)[] {
  const out: (Paragraph | Table)[] = [heading2('（二）已采取的措施（第十四条）')];
  const count = (kind: string, status: string) => data.measures.find((m) => m.issueKind === kind && m.status === status)?.count ?? 0;
  const any = data.measures.length > 0;
  if (!any) return [...out, body('本期信息尚未定性，暂无分类处置情况。')];
  out.push(
    table(
      ['问题类型', '已定性待处置', '已处置', '已办结'],
      ISSUE_KINDS.map((k) => [ISSUE_KIND_LABELS[k], count(k, 'classified'), count(k, 'handled'), count(k, 'closed')]),
    ),
  );
  for (const k of ISSUE_KINDS) if (data.measures.some((m) => m.issueKind === k)) out.push(body(ISSUE_KIND_GUIDANCE[k]));
  return out;
}

function annexSources(data: ReportData): (Paragraph | Table)[] {
  return [
    new Paragraph({ pageBreakBefore: true, children: [run('附件1', FONTS.heading1)], spacing: exact }),
    new Paragraph({ alignment: AlignmentType.CENTER, spacing: exact, children: [run('数据来源', FONTS.title, { size: SIZES.title })] }),
    body(`下表每个数字均可按所列查询和时段从系统数据库重新计算。生成时工作台账最新条目：第 ${data.ledgerHead.id} 条，哈希 ${data.ledgerHead.hash}。`),
    table(
      ['序号', '数据项', '来源（查询）', '时段', '数值'],
      data.figures.map((f, i) => [i + 1, f.label, f.source, f.period, f.value]),
      { widths: [1, 4, 4, 3, 1.5], size: SIZES.annexTable },
    ),
    body(`工作台账哈希（生成时）：${data.ledgerHead.hash}`, false),
  ];
}

const STATUS_WORDS: Record<string, string> = { on_time: '按时', late: '逾期', missing: '未报', nil: '零报告' };

function annexDepartmentReports(data: ReportData, scrub: (text: string) => string): Paragraph[] {
  const out = [
    new Paragraph({ pageBreakBefore: true, children: [run('附件2', FONTS.heading1)], spacing: exact }),
    new Paragraph({ alignment: AlignmentType.CENTER, spacing: exact, children: [run('部门报告', FONTS.title, { size: SIZES.title })] }),
  ];
  if (data.departmentReports.length === 0) return [...out, body('本期无部门报告。')];
  data.departmentReports.forEach((r, i) => {
    out.push(heading1(`${numeral(i)}、${r.departmentName}（${STATUS_WORDS[r.status] ?? r.status}${r.lateDays ? `，逾期 ${r.lateDays} 天` : ''}）`));
    if (!r.sections) {
      out.push(body(r.status === 'nil' ? '零报告：本期无需报告的思想动态。' : '未提交。'));
      return;
    }
    const titles = { overall: '总体情况', performance: '主要表现', causes: '原因分析', suggestions: '对策建议' } as const;
    for (const key of ['overall', 'performance', 'causes', 'suggestions'] as const) {
      out.push(body([run(`${titles[key]}：`, FONTS.heading2), run(scrub(r.sections[key].trim()) || '（无）', FONTS.body)]));
    }
  });
  return out;
}

function footer(align: 'odd' | 'even'): Footer {
  const style = { size: SIZES.pageNumber, font: { ascii: FONTS.pageNumber, hAnsi: FONTS.pageNumber, eastAsia: FONTS.pageNumber } };
  return new Footer({
    children: [
      new Paragraph({
        alignment: align === 'odd' ? AlignmentType.RIGHT : AlignmentType.LEFT,
        // One character in from the text block's outer edge (GB/T 9704-2012, 7.5).
        indent: align === 'odd' ? { right: 280 } : { left: 280 },
        children: [new TextRun({ ...style, children: ['— ', PageNumber.CURRENT, ' —'] })],
      }),
    ],
  });
}

export interface DocxInput {
  data: ReportData;
  timeZone: string;
  /** Takes the names of people (the directory) out of department texts. */
  scrubPeople: (text: string) => string;
  draft: boolean;
}

export async function buildReportDocx(input: DocxInput): Promise<Buffer> {
  const { data, scrubPeople: names } = input;
  const title = `${data.unitName}${data.target.label}思想动态${data.target.cycleNumber ? '专题' : ''}分析报告`;
  const children: (Paragraph | Table)[] = [
    new Paragraph({ children: [run('内部资料　注意保密', FONTS.heading1)], spacing: exact }),
    blank(),
    new Paragraph({ alignment: AlignmentType.CENTER, spacing: { line: 700, lineRule: LineRuleType.EXACT }, children: [run(title, FONTS.title, { size: SIZES.title })] }),
  ];
  if (input.draft) children.push(new Paragraph({ alignment: AlignmentType.CENTER, spacing: exact, children: [run('（草稿）', FONTS.heading2)] }));
  children.push(blank());
  if (isEmptyReport(data)) {
    children.push(
      heading1('一、总体情况'),
      body(`${data.target.label}，全单位未收集到思想动态信息，也没有部门报告和问卷结果，本期不形成分析内容。上期（${data.target.bounds.previous.label}）共 ${data.total.previous} 条。`),
      heading1('二、主要表现'),
      body('本期无信息。'),
      heading1('三、原因分析'),
      body('本期无信息。'),
      heading1('四、对策建议'),
      body('建议督促各部门联络员按办法第十条及时报送思想动态信息。'),
    );
  } else {
    children.push(
      ...overall(data),
      ...performance(data),
      heading1('三、原因分析'),
      heading2('（一）各部门分析'),
      ...fromDepartments(data, 'causes', names),
      heading1('四、对策建议'),
      heading2('（一）各部门建议'),
      ...fromDepartments(data, 'suggestions', names),
      ...measures(data),
    );
  }
  children.push(
    blank(),
    blank(),
    new Paragraph({ alignment: AlignmentType.RIGHT, indent: { right: 1280 }, spacing: exact, children: [run(data.unitName, FONTS.body)] }),
    new Paragraph({ alignment: AlignmentType.RIGHT, indent: { right: 960 }, spacing: exact, children: [run(chineseDate(input.timeZone, data.generatedAt), FONTS.body)] }),
    ...annexSources(data),
    ...annexDepartmentReports(data, names),
  );
  const doc = new Document({
    creator: data.unitName,
    title,
    evenAndOddHeaderAndFooters: true,
    styles: {
      default: { document: { run: { size: SIZES.body, font: { ascii: FONTS.latin, hAnsi: FONTS.latin, eastAsia: FONTS.body } } } },
      // The grid's character pitch is counted from the Normal style's size (LibreOffice reads it there).
      paragraphStyles: [{ id: 'Normal', name: 'Normal', run: { size: SIZES.body, font: { ascii: FONTS.latin, hAnsi: FONTS.latin, eastAsia: FONTS.body } } }],
    },
    sections: [
      {
        properties: {
          page: { size: { width: PAGE.width, height: PAGE.height }, margin: { ...PAGE.margins, header: mm(15), footer: mm(28) - 280 } },
          grid: { type: DocumentGridType.LINES_AND_CHARS, linePitch: LINE_PITCH, charSpace: CHAR_SPACE },
        },
        footers: { default: footer('odd'), even: footer('even') },
        children,
      },
    ],
  });
  return Packer.toBuffer(doc, false, [{ path: 'word/fontTable.xml', data: fontTableXml() }]);
}

/**
 * The font table, with w:altName for the fonts offices may lack: Word and WPS use the fallback on a
 * machine without 方正小标宋简体 or the GB2312 fonts. Written over docx's (empty) font table.
 */
export function fontTableXml(): string {
  const fonts = Object.entries(FONT_FALLBACKS)
    .map(([name, alt]) => `<w:font w:name="${name}"><w:altName w:val="${alt}"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">${fonts}</w:fonts>`;
}

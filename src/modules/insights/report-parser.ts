import type { Category, Method } from '../../db/entities/insight.entity';
import { CATEGORY_TAGS, METHOD_TAGS } from '../../domain/glossary';

export type ParsedReport =
  | { ok: true; method?: Method; category?: Category; text: string }
  | { ok: false; problem: string };

/**
 * Reads `[#方式] [#类别] 内容`: tags come first, in any order, separated by spaces; the rest is the
 * text. A leading `#word` that is neither a method nor a category is refused rather than guessed,
 * and so are two different methods or two different categories.
 */
export function parseReport(args: string): ParsedReport {
  let rest = args.trim();
  let method: Method | undefined;
  let category: Category | undefined;
  const seen: { method?: string; category?: string } = {};
  for (let match = /^#(\S+)\s*/.exec(rest); match; match = /^#(\S+)\s*/.exec(rest)) {
    const tag = match[1];
    if (METHOD_TAGS[tag]) {
      // Two different methods (#谈心 #座谈) are refused, never one of them silently kept.
      if (method && method !== METHOD_TAGS[tag]) return { ok: false, problem: `「#${seen.method}」和「#${tag}」都是收集方式，一条信息只能标注一种，请只保留一个后重新发送。` };
      method = METHOD_TAGS[tag];
      seen.method = tag;
    } else if (CATEGORY_TAGS[tag]) {
      if (category && category !== CATEGORY_TAGS[tag]) return { ok: false, problem: `「#${seen.category}」和「#${tag}」都是信息类别，一条信息只能标注一种，请只保留一个后重新发送。` };
      category = CATEGORY_TAGS[tag];
      seen.category = tag;
    } else return { ok: false, problem: `不认识的标签「#${tag}」。方式可用：#谈心谈话 #问卷调查 #座谈交流 #走访了解 #日常观察 #信息渠道（或简写 #谈心 #问卷 #座谈 #走访 #观察 #信箱）；类别可用：#政治思想 #工作状态 #利益诉求 #社会心理 #其他。` };
    rest = rest.slice(match[0].length);
  }
  return { ok: true, method, category, text: rest.trim() };
}

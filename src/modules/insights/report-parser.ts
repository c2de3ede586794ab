import type { Category, Method } from '../../db/entities/insight.entity';
import { CATEGORY_TAGS, METHOD_TAGS } from '../../domain/glossary';

export type ParsedReport =
  | { ok: true; method?: Method; category?: Category; text: string }
  | { ok: false; problem: string };

/**
 * Reads `[#方式] [#类别] 内容`: tags come first, in any order, separated by spaces; the rest is the
 * text. A leading `#word` that is neither a method nor a category is refused rather than guessed.
 */
export function parseReport(args: string): ParsedReport {
  let rest = args.trim();
  let method: Method | undefined;
  let category: Category | undefined;
  for (let match = /^#(\S+)\s*/.exec(rest); match; match = /^#(\S+)\s*/.exec(rest)) {
    const tag = match[1];
    if (METHOD_TAGS[tag]) method = METHOD_TAGS[tag];
    else if (CATEGORY_TAGS[tag]) category = CATEGORY_TAGS[tag];
    else return { ok: false, problem: `不认识的标签「#${tag}」。方式可用：#谈心谈话 #问卷调查 #座谈交流 #走访了解 #日常观察 #信息渠道（或简写 #谈心 #问卷 #座谈 #走访 #观察 #信箱）；类别可用：#政治思想 #工作状态 #利益诉求 #社会心理 #其他。` };
    rest = rest.slice(match[0].length);
  }
  return { ok: true, method, category, text: rest.trim() };
}

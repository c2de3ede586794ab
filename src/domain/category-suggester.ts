import type { Category } from '../db/entities/insight.entity';

/**
 * Plain keyword rules that suggest a category when 上报 names none (seed Art. 8). The first rule
 * with the most matching keywords wins; no match suggests 其他. The README lists these words.
 */
export const CATEGORY_KEYWORDS: { category: Category; words: string[] }[] = [
  {
    category: 'political',
    words: ['政治', '理论', '路线', '方针', '政策', '决策部署', '党的', '立场', '纪律', '意识形态', '学习贯彻', '信仰', '党性'],
  },
  {
    category: 'interests',
    words: ['工资', '薪酬', '待遇', '奖金', '绩效', '福利', '晋升', '提拔', '职务', '职级', '职称', '评定', '培训', '住房', '补贴', '工作环境', '食堂', '编制'],
  },
  {
    category: 'wellbeing',
    words: ['心理', '焦虑', '抑郁', '失眠', '压力大', '情绪', '家庭', '婚姻', '子女', '孩子', '老人', '生病', '健康', '舆情', '热点', '网络', '社会'],
  },
  {
    category: 'work',
    words: ['工作积极', '积极性', '主动', '精神面貌', '担当', '团结', '协作', '作风', '加班', '懈怠', '敷衍', '推诿', '干劲', '效率', '状态', '责任心'],
  },
];

export function suggestCategory(text: string): Category {
  let best: { category: Category; hits: number } = { category: 'other', hits: 0 };
  for (const rule of CATEGORY_KEYWORDS) {
    const hits = rule.words.filter((word) => text.includes(word)).length;
    if (hits > best.hits) best = { category: rule.category, hits };
  }
  return best.category;
}

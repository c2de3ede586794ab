import type { Category, InsightStatus, Method } from '../db/entities/insight.entity';
import type { Role } from '../db/entities/org.entity';

/** Chinese UI words for the code names (PRODUCT.md §1). */
export const METHOD_LABELS: Record<Method, string> = {
  talk: '谈心谈话',
  survey: '问卷调查',
  forum: '座谈交流',
  visit: '走访了解',
  observation: '日常观察',
  channel: '信息渠道',
};

/** Where an insight stands in its follow-up (定性 → 处置 → 办结). */
export const STATUS_LABELS: Record<InsightStatus, string> = { new: '待定性', classified: '已定性', handled: '已处置', closed: '已办结' };

export const CATEGORY_LABELS: Record<Category, string> = {
  political: '政治思想',
  work: '工作状态',
  interests: '利益诉求',
  wellbeing: '社会心理',
  other: '其他',
};

export const ROLE_LABELS: Record<Role, string> = {
  staff: '干部职工',
  liaison: '联络员',
  office: '机关党委',
  deputy: '分管领导',
  secretary: '党组(党委)书记',
};

/** `#tag` words accepted by 上报 for a method: full names, the short forms of PRODUCT.md §3, code names. */
export const METHOD_TAGS: Record<string, Method> = {
  谈心谈话: 'talk', 谈心: 'talk', 谈话: 'talk', talk: 'talk',
  问卷调查: 'survey', 问卷: 'survey', survey: 'survey',
  座谈交流: 'forum', 座谈: 'forum', forum: 'forum',
  走访了解: 'visit', 走访: 'visit', visit: 'visit',
  日常观察: 'observation', 观察: 'observation', observation: 'observation',
  信息渠道: 'channel', 信箱: 'channel', 意见信箱: 'channel', 渠道: 'channel', channel: 'channel',
};

export const CATEGORY_TAGS: Record<string, Category> = {
  政治思想: 'political', 政治: 'political', political: 'political',
  工作状态: 'work', 工作: 'work', work: 'work',
  利益诉求: 'interests', 诉求: 'interests', interests: 'interests',
  社会心理: 'wellbeing', 心理: 'wellbeing', wellbeing: 'wellbeing',
  其他: 'other', other: 'other',
};

/** Words that name a grantable role in `角色` and `xinsheng role`. */
export const ROLE_WORDS: Record<string, Role> = {
  机关党委: 'office', office: 'office',
  分管领导: 'deputy', deputy: 'deputy',
  书记: 'secretary', 党组书记: 'secretary', 党委书记: 'secretary', '党组(党委)书记': 'secretary', secretary: 'secretary',
  联络员: 'liaison', liaison: 'liaison',
};

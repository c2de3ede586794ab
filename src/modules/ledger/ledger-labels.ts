import type { Category, InsightStatus, Method } from '../../db/entities/insight.entity';
import type { Role } from '../../db/entities/org.entity';
import { CATEGORY_LABELS, METHOD_LABELS, ROLE_LABELS, STATUS_LABELS } from '../../domain/glossary';
import { ISSUE_KIND_LABELS } from '../cases/case-service';
import { ACK_LABELS } from '../escalation/escalation-service';
import { formatZoned } from '../../lib/zoned-time';

/** Chinese names of ledger entry kinds, for the office's export (工作台账). Unknown kinds show their code. */
export const LEDGER_KIND_LABELS: Record<string, string> = {
  'insight.created': '上报思想动态信息',
  'insight.immediate': '即时报告',
  'insight.corrected': '更正方式和类别',
  'insight.classified': '定性',
  'insight.action': '处置措施',
  'insight.closed': '办结',
  'insight.read': '查看个人信息（思想动态）',
  'suggestion.received': '意见信箱收到意见',
  'suggestion.answered': '答复意见',
  'suggestion.unsealed': '解封意见提交人身份',
  'suggestion.read': '查看意见',
  'summary.viewed': '查看汇总',
  'survey.drafted': '发起问卷（预览）',
  'survey.confirmed': '确认发布问卷',
  'survey.reminded': '问卷催办（人数）',
  'survey.closed': '问卷截止',
  'survey.results_read': '查看问卷结果',
  'survey.exported': '导出问卷结果',
  'survey.results_published': '公布问卷结果',
  'ledger.exported': '导出工作台账',
  'role.liaison': '指定联络员',
  'role.granted': '授予角色',
  'role.revoked': '撤销角色',
  'org.imported': '导入组织架构',
  'org.synced': '同步通讯录',
  'analysis.viewed': '查看分析研判',
  'analysis.warning': '分析研判预警',
  'analysis.warning.read': '预警已阅',
  'analysis.warning.classified': '预警定性',
  'analysis.term.added': '研判词典添加词条',
  'report.generated': '生成思想动态分析报告草稿',
  'report.archived': '存档思想动态分析报告',
  'report.downloaded': '接收存档报告',
  'review.reminded': '提醒召开分析研判会议',
  'review.scheduled': '安排分析研判会议',
  'review.minutes': '记录研判会议纪要',
  'review.prompted': '提示召开专题研判会议',
  'key.rotated': '轮换数据密钥',
  'retention.erased': '按保存期限删除个人信息文字',
};

export const SUBJECT_TYPE_LABELS: Record<string, string> = {
  insight: '思想动态信息',
  suggestion: '意见',
  person: '人员',
  department: '部门',
  platform: '平台',
  file: '文件',
  summary: '汇总',
  survey: '问卷',
  ledger: '工作台账',
  escalation: '即时报告预警',
  analysis: '分析研判',
  'analysis-warning': '分析研判预警',
  'analysis-term': '研判词典',
  report: '思想动态分析报告',
  review: '分析研判会议',
  data_key: '数据密钥',
  retention: '保存期限',
};

/** The steps of an immediate report's alert chain (escalation.<event>). */
const ESCALATION_EVENT_LABELS: Record<string, string> = {
  created: '即时报告预警：开始',
  sent: '即时报告预警：已发出',
  delivered: '即时报告预警：已送达',
  escalated: '即时报告预警：逐级提醒',
  acknowledged: '即时报告预警：领导已确认',
  instructed: '即时报告预警：领导部署处置',
  forwarded: '即时报告预警：转分管领导',
  no_recipient: '即时报告预警：无人可提醒',
  exhausted: '即时报告预警：提醒完毕仍无人确认',
};

/** 事项 in Chinese only; the code itself is in its own column (事项代码). */
export function ledgerKindLabel(kind: string): string {
  if (LEDGER_KIND_LABELS[kind]) return LEDGER_KIND_LABELS[kind];
  const [prefix, event] = kind.split('.', 2);
  if (prefix === 'escalation' || prefix === 'alert') return ESCALATION_EVENT_LABELS[event] ?? '即时报告预警';
  return '其他事项';
}

/** Names to show instead of ids in 详情. */
export interface LedgerNames {
  people: Map<string, string>;
  departments: Map<string, string>;
  timeZone: string;
}

const PLATFORM_LABELS: Record<string, string> = { wecom: '企业微信', dingtalk: '钉钉', console: '本地控制台' };
const SUGGESTION_KIND_LABELS: Record<string, string> = { confidential: '实名保密意见', anonymous: '匿名意见' };
const DETAIL_LABELS: Record<string, string> = { ...PLATFORM_LABELS, ...ACK_LABELS };

type Value = unknown;
type Describe = (value: Value, context: { kind: string; person(id: string): string; department(id: string): string; timeZone: string }) => string | null;

const yesNo = (v: Value) => (v ? '是' : '否');
const listOf = (v: Value, name: (id: string) => string) => (Array.isArray(v) ? v.map((id) => name(String(id))).join('、') || '无' : name(String(v)));
const methodAndCategory = (v: Value) => {
  const { method, category } = v as { method?: Method; category?: Category };
  return `${(method && METHOD_LABELS[method]) ?? ''}、${(category && CATEGORY_LABELS[category]) ?? ''}`;
};
const issueKind = (v: Value) => ISSUE_KIND_LABELS[v as keyof typeof ISSUE_KIND_LABELS] ?? String(v);

/** Each data key of a ledger entry in words (PRODUCT.md glossary); null leaves the key out. */
const DATA_DESCRIPTIONS: Record<string, Describe> = {
  method: (v) => `收集方式：${METHOD_LABELS[v as Method] ?? v}`,
  category: (v) => `类别：${CATEGORY_LABELS[v as Category] ?? v}`,
  categorySuggested: (v) => (v ? '类别：系统根据内容建议' : null),
  departmentId: (v, c) => `部门：${c.department(String(v))}`,
  from: (v) => (typeof v === 'object' ? `更正前：${methodAndCategory(v)}` : `起始日期：${v}`),
  to: (v) => (typeof v === 'object' ? `更正后：${methodAndCategory(v)}` : `截止日期：${v}`),
  entries: (v) => `记录条数：${v}`,
  issueKind: (v) => `定性：${issueKind(v)}`,
  previous: (v) => `原定性：${issueKind(v)}`,
  actionId: (v) => `处置措施序号：${v}`,
  status: (v) => `状态：${STATUS_LABELS[v as InsightStatus] ?? v}`,
  withNote: (v) => `附说明：${yesNo(v)}`,
  again: (v) => `再次答复：${yesNo(v)}`,
  kind: (v) => `意见类型：${SUGGESTION_KIND_LABELS[String(v)] ?? v}`,
  reason: (v) => `理由：${v}`,
  role: (v) => `角色：${ROLE_LABELS[v as Role] ?? v}`,
  via: (v) => `途径：${v === 'cli' ? '命令行' : v}`,
  personId: (v, c) => `人员：${c.person(String(v))}`,
  replaced: (v, c) => `原联络员：${listOf(v, c.person)}`,
  scope: (v, c) => `范围：${v === 'unit' ? '全单位' : listOf(v, c.department)}`,
  at: (v, c) => (typeof v === 'number' ? `时间：${formatZoned(c.timeZone, v)}` : null),
  step: (v) => `第 ${v} 步`,
  detail: (v, c) => `${c.kind === 'escalation.sent' || c.kind === 'escalation.delivered' ? '平台' : '方式'}：${DETAIL_LABELS[String(v)] ?? v}`,
  departments: (v) => `部门：${v} 个`,
  people: (v) => `人员：${v} 人`,
  created: (v) => `新增人员：${v} 人`,
  deactivated: (v) => `停用：${v} 人`,
  rolesGranted: (v) => `授予角色：${v} 项`,
  rolesRevoked: (v) => `撤销角色：${v} 项`,
  rotated: (v) => `改用新密钥加密：${v} 个密文`,
  rekeyed: (v) => `重新计算的研判关键词散列：${v} 个`,
  retired: (v) => `不再需要的密钥：${Array.isArray(v) && v.length ? v.join('、') : '无'}`,
  resumed: (v) => (v ? '继续了中断的轮换' : null),
};

/**
 * 详情 as readable Chinese (`收集方式：谈心谈话；类别：利益诉求；部门：财务处`), never raw JSON: each
 * key of an entry's data in words, with codes and ids turned into labels and names.
 */
export function describeLedgerData(kind: string, json: string, names: LedgerNames): string {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return '';
  }
  if (!data || typeof data !== 'object') return '';
  const context = {
    kind,
    timeZone: names.timeZone,
    person: (id: string) => (names.people.has(id) ? `${names.people.get(id)}（${id}）` : id),
    department: (id: string) => names.departments.get(id) ?? id,
  };
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data as Record<string, Value>)) {
    if (value === null || value === undefined) continue;
    const describe = DATA_DESCRIPTIONS[key];
    const text = describe ? describe(value, context) : `${key}：${typeof value === 'object' ? JSON.stringify(value) : value}`;
    if (text) parts.push(text);
  }
  return parts.join('；');
}

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
};

export function ledgerKindLabel(kind: string): string {
  if (LEDGER_KIND_LABELS[kind]) return LEDGER_KIND_LABELS[kind];
  if (kind.startsWith('escalation.') || kind.startsWith('alert.')) return `即时报告预警（${kind.split('.').slice(1).join('.')}）`;
  return kind;
}

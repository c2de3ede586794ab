import { parseDuration } from '../../lib/duration';

/**
 * Who a step alerts. `secretary`, `deputy` and `office` get the alert card (the office's is its
 * copy); `office-notice` tells the office, in text, that the report is still unacknowledged.
 */
export type StepTarget = 'secretary' | 'deputy' | 'office' | 'office-notice';
const TARGETS: readonly StepTarget[] = ['secretary', 'deputy', 'office', 'office-notice'];

export interface EscalationStep {
  /** Wait after the previous step (0 for the first, which runs as the report is stored). */
  afterMs: number;
  targets: StepTarget[];
}

/** PRODUCT.md §4: secretary (+ office copy) → timeout → secretary again + deputy → timeout → office told. */
export const DEFAULT_STEPS = 'secretary,office | secretary,deputy | office-notice';

/**
 * Reads ESCALATION_STEPS: steps separated by `|`, each a comma list of targets, optionally preceded
 * by its own wait (`secretary,office | 10m secretary,deputy | 30m office-notice`). A step without a
 * wait waits ESCALATION_ACK_TIMEOUT. The first step runs at once and takes no wait.
 */
export function parseEscalationSteps(text: string | undefined, ackTimeoutMs: number): { steps: EscalationStep[] } | { problem: string } {
  const source = text?.trim() ? text : DEFAULT_STEPS;
  const steps: EscalationStep[] = [];
  for (const [index, part] of source.split('|').map((p) => p.trim().replace(/\s*,\s*/g, ',')).entries()) {
    const match = /^(?:(\S+)\s+)?(\S+)$/.exec(part);
    if (!match) return { problem: `第 ${index + 1} 步「${part}」应为等待时长加逗号分隔的接收人，如「15m secretary,deputy」` };
    const [, waitText, targetText] = match;
    const wait = waitText === undefined ? null : parseDuration(waitText);
    if (waitText !== undefined && (wait === null || wait <= 0)) return { problem: `第 ${index + 1} 步：「${waitText}」不是时长，应如 30s 或 15m` };
    if (index === 0 && wait !== null) return { problem: '第 1 步在报告保存后立即执行，不能写等待时长' };
    const targets = targetText.split(',').map((t) => t.trim());
    const unknown = targets.find((t) => !TARGETS.includes(t as StepTarget));
    if (unknown !== undefined) return { problem: `第 ${index + 1} 步：不认识的接收人「${unknown}」（可用：${TARGETS.join('、')}）` };
    steps.push({ afterMs: index === 0 ? 0 : (wait ?? ackTimeoutMs), targets: [...new Set(targets as StepTarget[])] });
  }
  if (!steps[0].targets.includes('secretary')) return { problem: '第 1 步必须提醒书记 secretary（第十条（三）：第一时间向党组(党委)报告）' };
  return { steps };
}

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
    if (!match) return { problem: `step ${index + 1} ("${part}") should be a wait and a comma list of targets, e.g. "15m secretary,deputy"` };
    const [, waitText, targetText] = match;
    const wait = waitText === undefined ? null : parseDuration(waitText);
    if (waitText !== undefined && (wait === null || wait <= 0)) return { problem: `step ${index + 1}: "${waitText}" is not a duration such as 30s or 15m` };
    if (index === 0 && wait !== null) return { problem: 'the first step runs as soon as the report is stored and takes no wait' };
    const targets = targetText.split(',').map((t) => t.trim());
    const unknown = targets.find((t) => !TARGETS.includes(t as StepTarget));
    if (unknown !== undefined) return { problem: `step ${index + 1}: unknown target "${unknown}" (use ${TARGETS.join(', ')})` };
    steps.push({ afterMs: index === 0 ? 0 : (wait ?? ackTimeoutMs), targets: [...new Set(targets as StepTarget[])] });
  }
  if (!steps[0].targets.includes('secretary')) return { problem: 'the first step must alert the secretary (Art. 10(三): 第一时间向党组(党委)报告)' };
  return { steps };
}

import type { BotServices } from '../../bot/turn-context';
import { enqueueOutbound } from '../../core/outbox';
import type { Transact } from '../../db/data-source';
import { CardEntity, type OutboundMessageRow } from '../../db/entities/messaging.entity';
import { PersonEntity } from '../../db/entities/org.entity';
import type { Logger } from '../../lib/logger';
import { peopleWithRole } from '../org/org-service';
import { ALERT_SUBJECT } from './escalation-service';

/** Marks the office's dead-letter alerts, so that a dead alert is not alerted about in turn. */
const DEAD_LETTER_EVENT = 'dead-letter:';

const PLATFORM_LABELS: Record<string, string> = { wecom: '企业微信', dingtalk: '钉钉', console: '控制台' };

/**
 * The outbox's onDeadLetter: tells the office (机关党委) that a message could not be delivered — to
 * whom, on which platform, why — never its text. An undelivered immediate-report alert says so.
 */
export function createDeadLetterAlert(deps: { transact: Transact; services: BotServices; log: Logger; now?: () => number; afterCommit?: () => void }) {
  const now = deps.now ?? Date.now;
  return async (row: OutboundMessageRow): Promise<void> => {
    if (row.eventId?.startsWith(DEAD_LETTER_EVENT)) {
      deps.log.error({ outboundId: row.id }, 'a dead-letter alert itself could not be delivered; see the outbox table');
      return;
    }
    await deps.transact(async (em) => {
      const office = await peopleWithRole(em, 'office');
      if (office.length === 0) {
        deps.log.error({ outboundId: row.id }, 'dead letter and no office to tell');
        return;
      }
      const userId = row.recipient.startsWith('user:') ? row.recipient.slice(5) : null;
      const person = userId ? await em.findOneBy(PersonEntity, { id: userId }) : null;
      const to = person ? `${person.name}（${person.id}）` : row.recipient.startsWith('group:') ? `群聊 ${row.recipient.slice(6)}` : row.recipient;
      const card = row.cardId ? await em.findOneBy(CardEntity, { id: row.cardId }) : null;
      const what = card?.subjectType === ALERT_SUBJECT ? `即时报告 ${card.subjectId} 的提醒卡片` : row.kind === 'card_update' ? '一条卡片状态更新' : '一条消息';
      const text =
        `【消息未送达】发给 ${to} 的${what}（${PLATFORM_LABELS[row.platform] ?? row.platform}，第 ${row.id} 号）重试 ${row.attempts} 次后仍未送达。` +
        `原因：${row.lastError ?? '未知'}。请核实对方账号或平台配置，必要时电话联系本人。`;
      const at = now();
      for (const member of office) {
        const platform = deps.services.platformFor(member);
        await enqueueOutbound(em, deps.services.cipher, { platform, recipients: [{ kind: 'user', userId: member.id }], content: { kind: 'text', text }, eventId: `${DEAD_LETTER_EVENT}${row.id}` }, at);
      }
    });
    deps.afterCommit?.();
  };
}

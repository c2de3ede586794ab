import type { EntityManager } from 'typeorm';
import type { BotServices } from '../../bot/turn-context';
import { enqueueOutbound } from '../../core/outbox';
import type { Transact } from '../../db/data-source';
import { CardEntity, type OutboundMessageRow } from '../../db/entities/messaging.entity';
import { PersonEntity } from '../../db/entities/org.entity';
import { SealedReplyEntity } from '../../db/entities/suggestion.entity';
import type { Logger } from '../../lib/logger';
import { peopleWithRole } from '../../core/actor';
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
      const platform = PLATFORM_LABELS[row.platform] ?? row.platform;
      const reason = `原因：${row.lastError ?? '未知'}。`;
      // A reply to 匿名意见 or 查询 must forget its recipient like the turn did: neither name nor
      // row number (which sits beside the notice of the new suggestion) may reach the office.
      const sealed = row.eventId ? await em.findOneBy(SealedReplyEntity, { eventId: row.eventId }) : null;
      const text = sealed
        ? `【消息未送达】一条匿名意见的回复（${platform}）重试 ${row.attempts} 次后仍未送达。${reason}为保护匿名，收件人不予显示；发送人可凭回执码「查询」答复。请核实平台配置。`
        : `【消息未送达】发给 ${await recipientLabel(em, row.recipient)} 的${await whatWasSent(em, row)}（${platform}，第 ${row.id} 号）重试 ${row.attempts} 次后仍未送达。` +
          `${reason}请核实对方账号或平台配置，必要时电话联系本人。`;
      const at = now();
      for (const member of office) {
        const platform = deps.services.platformFor(member);
        await enqueueOutbound(em, deps.services.cipher, { platform, recipients: [{ kind: 'user', userId: member.id }], content: { kind: 'text', text }, eventId: `${DEAD_LETTER_EVENT}${row.id}` }, at);
      }
    });
    deps.afterCommit?.();
  };
}

async function recipientLabel(em: EntityManager, recipient: string): Promise<string> {
  const userId = recipient.startsWith('user:') ? recipient.slice(5) : null;
  const person = userId ? await em.findOneBy(PersonEntity, { id: userId }) : null;
  if (person) return `${person.name}（${person.id}）`;
  if (recipient.startsWith('group:')) return `群聊 ${recipient.slice(6)}`;
  return recipient.startsWith('batch:') ? '一批共同送达的人员' : recipient;
}

async function whatWasSent(em: EntityManager, row: OutboundMessageRow): Promise<string> {
  const card = row.cardId ? await em.findOneBy(CardEntity, { id: row.cardId }) : null;
  if (card?.subjectType === ALERT_SUBJECT) return `即时报告 ${card.subjectId} 的提醒卡片`;
  return row.kind === 'send' ? '一条消息' : '一条卡片状态更新';
}

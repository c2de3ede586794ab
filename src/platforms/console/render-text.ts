import type { Card } from '../../core/messages';
import type { ConsoleMessage } from './console-routes';

/** A card as terminal text: title, body, fields, inputs with numbered options, numbered actions. */
export function renderCardText(card: Card): string {
  const lines = [`┌ ${card.title}`];
  if (card.body) lines.push(`│ ${card.body}`);
  for (const field of card.fields) lines.push(`│ ${field.label}：${field.value}`);
  if (card.state) lines.push(`│ 【${card.state}】`);
  for (const input of card.inputs) {
    const selected = ([] as string[]).concat(input.selected ?? []);
    const options = input.options.map((o, i) => `${i + 1}.${o.label}${selected.includes(o.id) ? '✓' : ''}`).join(' ');
    lines.push(`│ ${input.label}${input.multi ? '（可多选）' : ''}：${options}`);
  }
  card.actions.forEach((action, i) => lines.push(`│ [${i + 1}] ${action.label}`));
  lines.push('└');
  return lines.join('\n');
}

export function renderMessageText(message: ConsoleMessage): string {
  if ('card' in message) return renderCardText(message.card);
  if ('file' in message) return `[文件] ${message.file.name}（${message.file.size} 字节）下载：${message.file.url}`;
  return message.text;
}

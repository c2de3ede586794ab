import type { Card, CardInput } from '../../core/messages';
import { clip } from '../../domain/text';

/*
 * How a neutral Card (bot-cards/*.json rendered by the catalog) looks on DingTalk, two ways:
 *  1. an interactive card from the deployer's template (DINGTALK_CARD_TEMPLATE_ID): `cardParamMap`
 *     holds every variable the template may bind (README "DingTalk (钉钉)" lists them);
 *  2. with no template, an action-card message whose buttons and links are
 *     `dtmd://dingtalkclient/sendMessage?content=…` links: a click makes the user send
 *     "<label> /card <cardId> <action> key=value…" to the bot, which the adapter turns back into a
 *     card action. So every card flow works on a bare robot.
 */

export type CardValues = Record<string, string | string[]>;

/** Robot message keys and their JSON parameters (spec §4.4). */
export interface RobotMessage {
  msgKey: string;
  msgParam: Record<string, string>;
}

const ACTION_MARKER = '/card';
const MAX_BUTTONS = 5;

// ---------------------------------------------------------------------------------------------
// The text a fallback button sends back.

/** "已阅知悉 /card alert-7 ack" or "谈心谈话 /card c-1 correct method=talk category=work tags[]=a,b". */
export function encodeCardActionText(label: string, cardId: string, action: string, values: CardValues): string {
  const pairs = Object.entries(values).map(([key, value]) =>
    Array.isArray(value) ? `${enc(key)}[]=${value.map(enc).join(',')}` : `${enc(key)}=${enc(value)}`,
  );
  const label1 = label.replace(/\s+/g, ' ').replace(ACTION_MARKER, '').trim();
  return [label1, ACTION_MARKER, enc(cardId), enc(action), ...pairs].filter(Boolean).join(' ');
}

// Ids as the catalog makes them (uuids, [a-z0-9_] actions), so ordinary text is not mistaken for a click.
const ACTION_TEXT = /(?:^|\s)\/card\s+([\w.:%-]+)\s+([a-z0-9_]+)((?:\s+[\w%-]+(?:\[\])?=\S*)*)\s*$/;

/** Recognises the text a fallback button sent; null for an ordinary message. */
export function parseCardActionText(text: string): { cardId: string; action: string; values: CardValues } | null {
  const match = ACTION_TEXT.exec(text.trim());
  if (!match) return null;
  try {
    const values: CardValues = {};
    for (const pair of match[3]!.trim().split(/\s+/).filter(Boolean)) {
      const [rawKey, rawValue = ''] = splitOnce(pair, '=');
      if (rawKey.endsWith('[]')) values[dec(rawKey.slice(0, -2))] = rawValue ? rawValue.split(',').map(dec) : [];
      else values[dec(rawKey)] = dec(rawValue);
    }
    return { cardId: dec(match[1]!), action: dec(match[2]!), values };
  } catch {
    return null; // malformed percent-encoding: treat as an ordinary message
  }
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

// Spaces, "=", "," and "%" would break the format; everything else stays readable.
const enc = (text: string): string => text.replace(/[%\s=,]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const dec = (text: string): string => decodeURIComponent(text);

export function sendMessageLink(content: string): string {
  return `dtmd://dingtalkclient/sendMessage?content=${encodeURIComponent(content)}`;
}

// ---------------------------------------------------------------------------------------------
// Fallback: action-card message.

/** What the inputs currently hold: every input's selection, so a click submits a complete set. */
export function currentValues(card: Card): CardValues {
  const values: CardValues = {};
  for (const input of card.inputs) {
    const selected = input.selected ?? (input.multi ? [] : '');
    values[input.key] = input.multi ? toArray(selected) : Array.isArray(selected) ? (selected[0] ?? '') : selected;
  }
  return values;
}

function toArray(value: string | string[]): string[] {
  if (Array.isArray(value)) return value;
  return value ? [value] : [];
}

/** The values a click on `optionId` of `input` submits: that choice changed, the others kept. */
function valuesWithChoice(card: Card, input: CardInput, optionId: string): CardValues {
  const values = currentValues(card);
  if (input.multi) {
    const chosen = toArray(values[input.key] ?? []);
    values[input.key] = chosen.includes(optionId) ? chosen.filter((id) => id !== optionId) : [...chosen, optionId];
  } else {
    values[input.key] = optionId;
  }
  return values;
}

function isChosen(card: Card, input: CardInput, optionId: string): boolean {
  const selected = currentValues(card)[input.key];
  return Array.isArray(selected) ? selected.includes(optionId) : selected === optionId;
}

/** Title, body, fields and state as DingTalk markdown. */
export function cardMarkdown(card: Card): string {
  const lines = [`### ${card.title}`];
  if (card.body) lines.push('', card.body);
  if (card.fields.length > 0) lines.push('', ...card.fields.map((f) => `- **${f.label}**：${f.value}`));
  if (card.state) lines.push('', `**状态**：${card.state}`);
  return lines.join('\n');
}

/**
 * Each input becomes a line of option links (the chosen one in bold); a click submits the card's
 * first action with that option chosen and the other inputs as they are.
 */
function inputLinesMarkdown(card: Card): string {
  const submit = card.actions[0]?.action;
  if (!submit || card.inputs.length === 0) return '';
  const lines = card.inputs.map((input) => {
    const links = input.options.map((option) => {
      const label = isChosen(card, input, option.id) ? `**✓${option.label}**` : option.label;
      const text = encodeCardActionText(`${input.label}：${option.label}`, card.cardId, submit, valuesWithChoice(card, input, option.id));
      return `[${label}](${sendMessageLink(text)})`;
    });
    return `**${input.label}**${input.multi ? '（可多选）' : ''}：${links.join(' · ')}`;
  });
  return ['', '---', ...lines].join('\n\n');
}

/** The action-card (or markdown) robot message standing in for an interactive card. */
export function renderActionCardMessage(card: Card): RobotMessage {
  // Action-card titles are cut by DingTalk beyond 20 characters; markdown titles are not.
  const title = clip(card.title, 20);
  const text = cardMarkdown(card) + inputLinesMarkdown(card);
  // With inputs, the option links already submit the first action; buttons are for the others.
  const actions = card.inputs.length > 0 ? card.actions.slice(1) : card.actions;
  const buttons = actions.slice(0, MAX_BUTTONS).map((a) => ({
    title: a.label,
    url: sendMessageLink(encodeCardActionText(a.label, card.cardId, a.action, currentValues(card))),
  }));
  const extraLinks = actions
    .slice(MAX_BUTTONS)
    .map((a) => `[${a.label}](${sendMessageLink(encodeCardActionText(a.label, card.cardId, a.action, currentValues(card)))})`);
  const fullText = extraLinks.length > 0 ? `${text}\n\n${extraLinks.join(' · ')}` : text;

  if (buttons.length === 0) return { msgKey: 'sampleMarkdown', msgParam: { title: card.title, text: fullText } };
  if (buttons.length === 1) {
    return { msgKey: 'sampleActionCard', msgParam: { title, text: fullText, singleTitle: buttons[0]!.title, singleURL: buttons[0]!.url } };
  }
  const msgParam: Record<string, string> = { title, text: fullText };
  buttons.forEach((button, index) => {
    msgParam[`actionTitle${index + 1}`] = button.title;
    msgParam[`actionURL${index + 1}`] = button.url;
  });
  return { msgKey: `sampleActionCard${buttons.length}`, msgParam };
}

/** A fallback card cannot be edited once sent: its new state goes out as a short message. */
export function renderCardStateMessage(card: Card): RobotMessage {
  const state = card.state ? `**状态**：${card.state}` : '卡片已更新';
  return { msgKey: 'sampleMarkdown', msgParam: { title: card.title, text: `### ${card.title}\n\n${state}` } };
}


// ---------------------------------------------------------------------------------------------
// Interactive card from the deployer's template.

/**
 * Every variable a template may bind, all strings (DingTalk requires string values; lists and
 * objects are JSON text, which list/object-typed template variables accept).
 */
export function renderCardParamMap(card: Card): Record<string, string> {
  const map: Record<string, string> = {
    cardId: card.cardId,
    template: card.template,
    title: card.title,
    body: card.body,
    markdown: cardMarkdown(card),
    fields: JSON.stringify(card.fields),
    fieldsMarkdown: card.fields.map((f) => `**${f.label}**：${f.value}`).join('\n'),
    state: card.state ?? '',
    hasState: card.state ? 'true' : 'false',
    actions: JSON.stringify(card.actions),
    inputs: JSON.stringify(
      card.inputs.map((input) => ({
        key: input.key,
        label: input.label,
        multi: input.multi,
        options: input.options.map((o) => ({ value: o.id, text: o.label })),
        selected: currentValues(card)[input.key],
      })),
    ),
  };
  card.actions.slice(0, MAX_BUTTONS).forEach((action, index) => {
    map[`action${index + 1}`] = action.action;
    map[`action${index + 1}Label`] = action.label;
  });
  for (const [key, value] of Object.entries(currentValues(card))) {
    map[`input_${key}`] = Array.isArray(value) ? JSON.stringify(value) : value;
  }
  return map;
}

/** outTrackId (≤ 64 chars, unique per card copy): "<cardId>.<recipient hash>" when it fits. */
export function outTrackIdFor(cardId: string, recipientHash: string): string {
  const suffix = recipientHash.slice(0, 12);
  return cardId.length + 1 + suffix.length <= 64 && !cardId.includes('.') ? `${cardId}.${suffix}` : `xs.${recipientHash.slice(0, 40)}`;
}

/** The cardId of an outTrackId made by outTrackIdFor, when it can be read back. */
export function cardIdFromOutTrackId(outTrackId: string): string | undefined {
  if (outTrackId.startsWith('xs.')) return undefined;
  const at = outTrackId.lastIndexOf('.');
  return at > 0 ? outTrackId.slice(0, at) : undefined;
}

import type { Card, CardAction, CardInput } from '../../core/messages';
import { clip } from '../../domain/text';
import { STATE_ONLY_KEY } from './to-bot-event';

/**
 * Neutral Card → WeCom template_card (spec §5.1, §5.2). The card type follows the inputs:
 *   no inputs                                 → button_interaction (buttons)
 *   one single-select input, several actions  → button_interaction (button_selection + buttons)
 *   one multi-select input                    → vote_interaction (checkbox, mode 1)
 *   otherwise, up to three single selects     → multiple_interaction (select_list + submit)
 * A card with a state shows it and can no longer be acted on: inputs disabled and, in an update,
 * `replace_text` turns the buttons into one grey button.
 * WeCom limits are in characters (字); longer text is cut with an ellipsis.
 */
export type WecomCardType = 'button_interaction' | 'vote_interaction' | 'multiple_interaction';

export interface RenderedTemplateCard {
  template_card: Record<string, unknown> & { card_type: WecomCardType; task_id: string };
  /** Only for update_template_card: the grey, non-clickable button text. */
  replace_text?: string;
}

const LIMITS = {
  title: 36,
  titleDesc: 44,
  subTitle: 160,
  fieldLabel: 5,
  fieldValue: 30,
  fields: 6,
  buttonText: 10,
  buttons: 6,
  selectOptionText: 16,
  selectOptions: 10,
  voteOptionText: 17,
  voteOptions: 20,
  selects: 3,
  replaceText: 10,
};

const SOURCE = { desc: '心声', desc_color: 1 };

/** Whether WeCom can show this card as an interactive template card (else it goes as markdown). */
export function isInteractive(card: Card): boolean {
  return card.actions.length > 0 || card.inputs.length > 0;
}

export function chooseCardType(card: Card): WecomCardType {
  const [first] = card.inputs;
  if (!first) return 'button_interaction';
  if (card.inputs.length === 1 && first.multi) return 'vote_interaction';
  if (card.inputs.length === 1 && card.actions.length > 1) return 'button_interaction';
  return 'multiple_interaction';
}

export function renderTemplateCard(card: Card, taskId: string, mode: 'send' | 'update'): RenderedTemplateCard {
  const type = chooseCardType(card);
  const done = card.state !== null && card.state !== '';
  const body =
    type === 'button_interaction' ? buttonCard(card, done) : type === 'vote_interaction' ? voteCard(card, done) : multipleCard(card, done);
  const rendered: RenderedTemplateCard = { template_card: { card_type: type, task_id: taskId, source: SOURCE, ...body } };
  if (done && mode === 'update') rendered.replace_text = clip(card.state!, LIMITS.replaceText);
  return rendered;
}

function mainTitle(card: Card, desc?: string) {
  const title = { title: clip(card.title, LIMITS.title) };
  return desc ? { ...title, desc: clip(desc, LIMITS.titleDesc) } : title;
}

function fieldRows(card: Card, done: boolean) {
  const rows = card.fields.map((f) => ({ keyname: clip(f.label, LIMITS.fieldLabel), value: clip(f.value, LIMITS.fieldValue) }));
  if (done) rows.unshift({ keyname: '状态', value: clip(card.state!, LIMITS.fieldValue) });
  return rows.slice(0, LIMITS.fields);
}

/** Buttons while the card is open; one inert button showing the state once it is done. */
function buttonList(actions: CardAction[], state: string | null) {
  if (state) return [{ type: 0, text: clip(state, LIMITS.buttonText), style: 2, key: STATE_ONLY_KEY }];
  return actions.slice(0, LIMITS.buttons).map((a, i) => ({ type: 0, text: clip(a.label, LIMITS.buttonText), style: i === 0 ? 1 : 2, key: a.action }));
}

function submitButton(card: Card, done: boolean) {
  if (done) return { text: clip(card.state!, LIMITS.buttonText), key: STATE_ONLY_KEY };
  const [action] = card.actions;
  return { text: clip(action?.label ?? '提交', LIMITS.buttonText), key: action?.action ?? 'submit' };
}

function selectedIds(input: CardInput): string[] {
  if (input.selected === undefined) return [];
  return Array.isArray(input.selected) ? input.selected : [input.selected];
}

function selectOptions(input: CardInput) {
  return input.options.slice(0, LIMITS.selectOptions).map((o) => ({ id: o.id, text: clip(o.label, LIMITS.selectOptionText) }));
}

function buttonCard(card: Card, done: boolean) {
  const [input] = card.inputs;
  const content: Record<string, unknown> = {
    main_title: mainTitle(card),
    button_list: buttonList(card.actions, done ? card.state : null),
  };
  if (card.body) content.sub_title_text = clip(card.body, LIMITS.subTitle);
  const rows = fieldRows(card, done);
  if (rows.length > 0) content.horizontal_content_list = rows;
  if (input) {
    const [selected] = selectedIds(input);
    content.button_selection = {
      question_key: input.key,
      title: clip(input.label, LIMITS.selectOptionText),
      option_list: selectOptions(input),
      ...(selected ? { selected_id: selected } : {}),
      ...(done ? { disable: true } : {}),
    };
  }
  return content;
}

function voteCard(card: Card, done: boolean) {
  const input = card.inputs[0];
  const chosen = new Set(selectedIds(input));
  return {
    // The vote card has no body or field rows: the body's start goes under the title.
    main_title: mainTitle(card, card.body || input.label),
    checkbox: {
      question_key: input.key,
      mode: 1,
      option_list: input.options
        .slice(0, LIMITS.voteOptions)
        .map((o) => ({ id: o.id, text: clip(o.label, LIMITS.voteOptionText), is_checked: chosen.has(o.id) })),
      ...(done ? { disable: true } : {}),
    },
    submit_button: submitButton(card, done),
  };
}

function multipleCard(card: Card, done: boolean) {
  return {
    main_title: mainTitle(card, card.body),
    select_list: card.inputs.slice(0, LIMITS.selects).map((input) => {
      const [selected] = selectedIds(input);
      return {
        question_key: input.key,
        title: clip(input.label, LIMITS.selectOptionText),
        option_list: selectOptions(input),
        ...(selected ? { selected_id: selected } : {}),
        ...(done ? { disable: true } : {}),
      };
    }),
    submit_button: submitButton(card, done),
  };
}

/** For places a template card cannot go (group chats, cards with nothing to click). */
export function renderCardAsMarkdown(card: Card): string {
  const lines = [`**${card.title}**`];
  if (card.body) lines.push(card.body);
  for (const field of card.fields) lines.push(`> ${field.label}：${field.value}`);
  if (card.state) lines.push(`> 状态：${card.state}`);
  return lines.join('\n');
}

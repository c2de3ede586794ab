import type { Card } from '../../src/core/messages';
import {
  encodeCardActionText,
  parseCardActionText,
  renderActionCardMessage,
  renderCardParamMap,
} from '../../src/platforms/dingtalk/dingtalk-cards';

const survey: Card = {
  cardId: '0b9f3c1e-1111-4222-8333-944445555666',
  template: 'survey',
  title: '问卷：近期工作状态',
  body: '请选择',
  fields: [{ label: '截止', value: '11-30' }],
  inputs: [{ key: 'topics', label: '关心的话题', multi: true, options: [{ id: 'pay', label: '待遇' }, { id: 'growth', label: '成长' }], selected: ['pay'] }],
  actions: [
    { action: 'submit', label: '提交' },
    { action: 'later', label: '稍后' },
  ],
  state: null,
};

function linkTexts(text: string): string[] {
  return [...text.matchAll(/\]\((dtmd:[^)]+)\)/g)].map((m) => new URL(m[1]!).searchParams.get('content')!);
}

describe('DingTalk card rendering', () => {
  it('round-trips card actions with awkward values through the message a button sends', () => {
    const text = encodeCardActionText('已阅 知悉', 'card:1', 'ack', { note: 'a=b, c%d', list: ['x y', 'z'], empty: [] });
    expect(parseCardActionText(text)).toEqual({ cardId: 'card:1', action: 'ack', values: { note: 'a=b, c%d', list: ['x y', 'z'], empty: [] } });
  });

  it('does not mistake ordinary messages for card actions', () => {
    for (const text of ['帮助', '上报 /card 有问题', '上报 我们讨论了 /card 你 好', '/card']) expect(parseCardActionText(text)).toBeNull();
  });

  it('a multi-select option link toggles that option and keeps the rest', () => {
    const message = renderActionCardMessage(survey);
    const actions = linkTexts(message.msgParam.text!).map((t) => parseCardActionText(t));
    expect(actions).toEqual([
      { cardId: survey.cardId, action: 'submit', values: { topics: [] } },
      { cardId: survey.cardId, action: 'submit', values: { topics: ['pay', 'growth'] } },
    ]);
    // The remaining action is a button.
    expect(message.msgKey).toBe('sampleActionCard');
    expect(parseCardActionText(new URL(message.msgParam.singleURL!).searchParams.get('content')!)).toMatchObject({ action: 'later' });
  });

  it('shows the state once a card has been acted on', () => {
    const message = renderActionCardMessage({ ...survey, inputs: [], actions: [], state: '已提交' });
    expect(message.msgKey).toBe('sampleMarkdown');
    expect(message.msgParam.text).toContain('已提交');
  });

  it('puts more than five actions as links after five buttons', () => {
    const actions = Array.from({ length: 7 }, (_, i) => ({ action: `a${i}`, label: `操作${i}` }));
    const message = renderActionCardMessage({ ...survey, inputs: [], actions });
    expect(message.msgKey).toBe('sampleActionCard5');
    expect(linkTexts(message.msgParam.text!).map((t) => parseCardActionText(t)!.action)).toEqual(['a5', 'a6']);
  });

  it('fills every template variable with a string', () => {
    const map = renderCardParamMap(survey);
    expect(Object.values(map).every((v) => typeof v === 'string')).toBe(true);
    expect(map).toMatchObject({ cardId: survey.cardId, title: survey.title, hasState: 'false', action1: 'submit', action2Label: '稍后', input_topics: '["pay"]' });
    expect(JSON.parse(map.inputs!)[0].options).toEqual([{ value: 'pay', text: '待遇' }, { value: 'growth', text: '成长' }]);
  });
});

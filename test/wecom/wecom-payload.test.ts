import { PayloadError } from '../../src/core/errors';
import { splitByBytes } from '../../src/platforms/wecom/wecom-adapter';
import { cardIdFromTaskId, taskIdForCard } from '../../src/platforms/wecom/task-id';
import { toBotEvent } from '../../src/platforms/wecom/to-bot-event';
import { extractEncrypt, parseMessageXml } from '../../src/platforms/wecom/wecom-xml';

const cardEvent = (selected: string, cardType = 'vote_interaction', taskId = 'card-1@ff00') =>
  `<xml><ToUserName>ww1</ToUserName><FromUserName>zhang</FromUserName><CreateTime>1764000000</CreateTime><MsgType>event</MsgType>` +
  `<Event>template_card_event</Event><EventKey>submit</EventKey><TaskId>${taskId}</TaskId><CardType>${cardType}</CardType>` +
  `<ResponseCode>RC</ResponseCode><SelectedItems>${selected}</SelectedItems></xml>`;

describe('WeCom message XML', () => {
  it('keeps a 64-bit MsgId exactly (a JS number would round it)', () => {
    const message = parseMessageXml(
      '<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>18446744073709551615</MsgId></xml>',
    );
    expect(message.MsgId).toBe('18446744073709551615');
  });

  it('decodes the predefined entities of plain text but leaves CDATA as written', () => {
    const message = parseMessageXml(
      '<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>a &amp; b &lt;c&gt; &#20320;</Content><MsgId>1</MsgId><Event><![CDATA[x &amp; y]]></Event></xml>',
    );
    expect(message.Content).toBe('a & b <c> 你');
    expect(message.Event).toBe('x &amp; y');
  });

  it('gives a single selection as an array, so one chosen option is not lost', () => {
    const event = toBotEvent(
      parseMessageXml(cardEvent('<SelectedItem><QuestionKey>topics</QuestionKey><OptionIds><OptionId>pay</OptionId></OptionIds></SelectedItem>')),
      0,
    );
    expect(event).toMatchObject({ type: 'card_action', cardId: 'card-1', values: { topics: ['pay'] } });
  });

  it('gives single-select answers as plain option ids, and keeps "__proto__" a plain key', () => {
    const event = toBotEvent(
      parseMessageXml(
        cardEvent(
          '<SelectedItem><QuestionKey>__proto__</QuestionKey><OptionIds><OptionId>a</OptionId></OptionIds></SelectedItem>' +
            '<SelectedItem><QuestionKey>method</QuestionKey><OptionIds><OptionId>talk</OptionId></OptionIds></SelectedItem>',
          'multiple_interaction',
        ),
      ),
      0,
    );
    expect(event?.type === 'card_action' && Object.getPrototypeOf(event.values)).toBe(Object.prototype);
    expect(event).toMatchObject({ values: { method: 'talk' } });
    expect(Object.keys((event as { values: object }).values)).toEqual(['__proto__', 'method']);
  });

  it('ignores clicks on cards this bot did not send', () => {
    expect(toBotEvent(parseMessageXml(cardEvent('', 'button_interaction', 'someone-elses-task')), 0)).toBeNull();
  });

  it('answers a picture with the help reply (an empty message) rather than silence', () => {
    const event = toBotEvent(
      parseMessageXml('<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>image</MsgType><PicUrl>http://x</PicUrl><MsgId>77</MsgId></xml>'),
      0,
    );
    expect(event).toMatchObject({ type: 'message', text: '', id: 'wecom:msg:77' });
  });

  it.each([
    ['truncated', '<xml><ToUserName>ww1</ToUserName><FromUserName>u</From'],
    ['not XML', 'hello'],
    ['no root', '<a>1</a>'],
    ['missing sender', '<xml><ToUserName>ww1</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>'],
    ['internal entities', '<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><ToUserName>&a;</ToUserName></xml>'],
  ])('refuses %s XML', (_name, xml) => {
    expect(() => parseMessageXml(xml)).toThrow(PayloadError);
  });

  it('finds Encrypt in an envelope with or without CDATA', () => {
    expect(extractEncrypt('<xml><AgentID>1</AgentID><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>')).toBe('abc+/=');
    expect(extractEncrypt('<xml><Encrypt>abc</Encrypt></xml>')).toBe('abc');
    expect(extractEncrypt('<xml></xml>')).toBe('');
  });
});

describe('WeCom task ids', () => {
  it('keep the card id recoverable, in the characters WeCom allows', () => {
    for (const cardId of ['0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6b', 'alert:S-2026-0042', '_lead', '问卷/1']) {
      const taskId = taskIdForCard(cardId);
      expect(taskId).toMatch(/^[0-9A-Za-z_\-@]{1,128}$/);
      expect(cardIdFromTaskId(taskId)).toBe(cardId);
    }
    expect(taskIdForCard('c1')).not.toBe(taskIdForCard('c1'));
  });
});

describe('splitByBytes', () => {
  it('never cuts a character in half', () => {
    const text = '心'.repeat(1000); // 3,000 bytes, no line breaks
    const parts = splitByBytes(text, 2048);
    expect(parts.join('')).toBe(text);
    expect(parts.every((p) => Buffer.byteLength(p) <= 2048)).toBe(true);
  });
});

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PayloadError } from '../../src/core/errors';
import { parseMessageXml, WecomMessageSchema, type WecomMessage } from '../../src/platforms/wecom/wecom-xml';

/**
 * The callback route reads WeCom's decrypted messages with a strict reader of its own. These tests
 * hold it to a general-purpose parser (fast-xml-parser, configured as the route used it before)
 * on generated messages, and check that it refuses every truncation and every hostile shape.
 */

// ---------------------------------------------------------------------------------------------
// The reference: fast-xml-parser with entities off, then the five predefined entities decoded.

const reference = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  cdataPropName: '#cdata',
  isArray: (name) => name === 'SelectedItem' || name === 'OptionId',
});

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_whole, name: string) =>
    name.startsWith('#x')
      ? String.fromCodePoint(parseInt(name.slice(2), 16))
      : name.startsWith('#')
        ? String.fromCodePoint(parseInt(name.slice(1), 10))
        : ENTITIES[name],
  );
}

function normalise(node: unknown): unknown {
  if (typeof node === 'string') return decode(node);
  if (Array.isArray(node)) return node.map(normalise);
  if (node && typeof node === 'object') {
    const entries = Object.entries(node);
    if (entries.length === 1 && entries[0][0] === '#cdata') return String(entries[0][1]);
    return Object.fromEntries(entries.map(([key, value]) => [key, normalise(value)]));
  }
  return node;
}

function referenceParse(xml: string): WecomMessage {
  expect(XMLValidator.validate(xml)).toBe(true);
  return WecomMessageSchema.parse((normalise(reference.parse(xml)) as { xml: unknown }).xml);
}

// ---------------------------------------------------------------------------------------------
// Generated messages, from a seeded generator so a failure can be replayed.

function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXT_PIECES = ['上报', ' ', '张三', '#家庭困难', 'a', 'Z', '9', '&', '<', '>', '"', "'", ']]', '\n', '\t', '🙂', '即时', '；', '　'];

function generator(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const space = () => pick(['', '', '', ' ', '\n  ', '\r\n\t']);

  function content(): string {
    let text = '';
    const length = Math.floor(random() * 12);
    for (let i = 0; i < length; i++) text += pick(TEXT_PIECES);
    return text;
  }

  /** Text as WeCom writes it (CDATA) or escaped, with or without character references. */
  function textValue(text: string): string {
    if (random() < 0.5 && !text.includes(']]>')) return `<![CDATA[${text}]]>`;
    // Surrounding whitespace of plain text is not content, so it is not generated there.
    text = text.trim();
    return [...text]
      .map((ch) => {
        if (ch === '&') return pick(['&amp;', '&#38;', '&#x26;']);
        if (ch === '<') return pick(['&lt;', '&#60;']);
        if (ch === '>') return pick(['&gt;', '>']);
        if (ch === '"') return pick(['&quot;', '"']);
        if (ch === "'") return pick(['&apos;', "'"]);
        if (random() < 0.1) return `&#x${ch.codePointAt(0)!.toString(16)};`;
        return ch;
      })
      .join('');
  }

  const element = (name: string, inner: string) => (inner === '' && random() < 0.3 ? `<${name}/>` : `<${name}>${inner}</${name}>`);
  const field = (name: string, text: string) => element(name, textValue(text));

  function selectedItems(): string {
    const items: string[] = [];
    const count = Math.floor(random() * 4);
    for (let i = 0; i < count; i++) {
      const options: string[] = [];
      const optionCount = Math.floor(random() * 4);
      for (let j = 0; j < optionCount; j++) options.push(space() + field('OptionId', `opt${j}${pick(['', '-x', '_y'])}`));
      items.push(space() + element('SelectedItem', `${field('QuestionKey', `q${i}`)}${space()}${element('OptionIds', options.join('') + space())}${space()}`));
    }
    return items.join('') + space();
  }

  return function message(): string {
    const common = [
      field('ToUserName', 'ww' + Math.floor(random() * 1e6)),
      field('FromUserName', pick(['zhangsan', 'li.si', 'wang_wu-2'])),
      element('CreateTime', String(1_700_000_000 + Math.floor(random() * 1e8))),
      element('AgentID', '1000002'),
    ];
    const kind = pick(['text', 'card', 'enter', 'image']);
    const fields =
      kind === 'text'
        ? [field('MsgType', 'text'), field('Content', content()), element('MsgId', (7_000_000_000_000_000_000n + BigInt(Math.floor(random() * 1e9))).toString())]
        : kind === 'image'
          ? [field('MsgType', 'image'), field('PicUrl', 'https://wework.qpic.cn/x?a=1&b=2'), element('MsgId', '42')]
          : kind === 'enter'
            ? [field('MsgType', 'event'), field('Event', 'enter_agent'), field('EventKey', '')]
            : [
                field('MsgType', 'event'),
                field('Event', 'template_card_event'),
                field('EventKey', pick(['submit', 'ack', '确认'])),
                field('TaskId', `card-${Math.floor(random() * 1e6)}@ab12`),
                field('CardType', pick(['vote_interaction', 'multiple_interaction', 'button_interaction'])),
                field('ResponseCode', content()),
                element('SelectedItems', selectedItems()),
              ];
    const all = [...common, ...fields].sort(() => random() - 0.5);
    const declaration = random() < 0.2 ? '<?xml version="1.0" encoding="UTF-8"?>' + space() : '';
    return `${declaration}<xml>${all.map((f) => space() + f).join('')}${space()}</xml>${space()}`;
  };
}

// ---------------------------------------------------------------------------------------------

describe('the WeCom message reader', () => {
  it('reads 2,000 generated messages exactly as a general-purpose parser does', () => {
    const message = generator(20261125);
    for (let i = 0; i < 2000; i++) {
      const xml = message();
      let ours: WecomMessage;
      try {
        ours = parseMessageXml(xml);
      } catch (error) {
        throw new Error(`message ${i} was refused (${(error as Error).message}):\n${xml}`);
      }
      // Compared as plain data: the reader builds its objects without a prototype.
      expect({ xml, parsed: JSON.parse(JSON.stringify(ours)) }).toEqual({ xml, parsed: referenceParse(xml) });
    }
  });

  it('refuses every truncation of a message, at every character', () => {
    const message = generator(7);
    for (let n = 0; n < 20; n++) {
      const xml = message().trimEnd();
      for (let cut = 0; cut < xml.length; cut++) {
        const prefix = xml.slice(0, cut);
        expect(() => parseMessageXml(prefix)).toThrow(PayloadError);
      }
    }
  });

  const TEXT_MESSAGE = (body: string) =>
    `<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>${body}</xml>`;

  it.each([
    ['an internal DTD', '<!DOCTYPE xml [<!ENTITY a "aaaa">]>' + TEXT_MESSAGE('<Content>&a;</Content>')],
    ['an external entity', '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + TEXT_MESSAGE('<Content>&x;</Content>')],
    ['a DTD inside the root', TEXT_MESSAGE('<!DOCTYPE x><Content>a</Content>')],
    ['an entity declaration inside the root', TEXT_MESSAGE('<!ENTITY a "b"><Content>a</Content>')],
    ['an undefined entity reference', TEXT_MESSAGE('<Content>&lol;</Content>')],
    ['a bare ampersand', TEXT_MESSAGE('<Content>a & b</Content>')],
    ['a character reference out of range', TEXT_MESSAGE('<Content>&#x110000;</Content>')],
    ['a NUL character reference', TEXT_MESSAGE('<Content>&#0;</Content>')],
    ['a comment', TEXT_MESSAGE('<!-- hi --><Content>a</Content>')],
    ['a processing instruction inside', TEXT_MESSAGE('<?php echo 1 ?><Content>a</Content>')],
    ['a mismatched closing tag', TEXT_MESSAGE('<Content>a</Contents>')],
    ['an element given twice', TEXT_MESSAGE('<Content>a</Content><Content>b</Content>')],
    ['text mixed with elements', TEXT_MESSAGE('stray<Content>a</Content>')],
    ['CDATA mixed with elements', TEXT_MESSAGE('<![CDATA[x]]><Content>a</Content>')],
    ['a second root', TEXT_MESSAGE('<Content>a</Content>') + '<xml></xml>'],
    ['text after the root', TEXT_MESSAGE('<Content>a</Content>') + 'tail'],
    ['another root element', '<message><FromUserName>u</FromUserName></message>'],
    ['a root holding only text', '<xml>hello</xml>'],
    ['an attribute value holding "<"', TEXT_MESSAGE('<Content a="<">x</Content>')],
    ['nesting too deep', TEXT_MESSAGE('<A>'.repeat(50) + '</A>'.repeat(50))],
    ['deep nesting that would overflow a recursive parser', TEXT_MESSAGE('<A>'.repeat(100_000))],
    ['an empty document', ''],
    ['ideographic spaces between elements', TEXT_MESSAGE('\u3000<Content>a</Content>')],
  ])('refuses %s', (_name, xml) => {
    expect(() => parseMessageXml(xml)).toThrow(PayloadError);
  });

  it('passes over attributes and reads empty elements as empty text', () => {
    const message = parseMessageXml(
      '<xml><ToUserName lang="zh">ww1</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>' +
        "<MsgType type='x'>event</MsgType><Event>enter_agent</Event><EventKey/><ChatId></ChatId></xml>",
    );
    expect(message).toMatchObject({ ToUserName: 'ww1', MsgType: 'event', EventKey: '', ChatId: '' });
  });

  it('keeps CDATA exactly, spaces and markup included, and trims the whitespace around plain text', () => {
    const message = parseMessageXml(TEXT_MESSAGE('<Content>  <![CDATA[ <b>上报</b> &amp; ]]>  </Content><MsgId>\n 12 \n</MsgId>'));
    expect(message.Content).toBe(' <b>上报</b> &amp; ');
    expect(message.MsgId).toBe('12');
  });
});

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { PayloadError } from '../../core/errors';

/**
 * The two XML documents of a callback: the outer envelope (only its `Encrypt` is needed, and it
 * is needed before the signature can be checked, so it is found without an XML parser), and the
 * decrypted message, parsed with entity processing off and DTDs refused.
 */

const ENCRYPT_ELEMENT = /<Encrypt>\s*(?:<!\[CDATA\[([^\]]*)\]\]>|([^<]*))\s*<\/Encrypt>/;

/** The `Encrypt` value of an envelope, or '' when there is none (the signature check then fails). */
export function extractEncrypt(envelope: string): string {
  const match = ENCRYPT_ELEMENT.exec(envelope);
  if (!match) return '';
  return (match[1] ?? match[2] ?? '').trim();
}

const CDATA = '#cdata';

const parser = new XMLParser({
  // No entity expansion at all: a DTD could otherwise define entities that blow up (billion laughs).
  processEntities: false,
  htmlEntities: false,
  // Every value stays a string: MsgId is a 64-bit integer that a JS number would round.
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: CDATA,
  maxNestedTags: 16,
  // isArray only looks at tag names; not building a path string per tag saves time on every callback.
  jPath: false,
  // A single selection must still come out as an array.
  isArray: (name) => name === 'SelectedItem' || name === 'OptionId',
});

const PREDEFINED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes only XML's five predefined entities and character references: nothing can expand. */
function decodeText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return safeCodePoint(parseInt(name.slice(2), 16), whole);
    if (name.startsWith('#')) return safeCodePoint(parseInt(name.slice(1), 10), whole);
    return PREDEFINED_ENTITIES[name];
  });
}

function safeCodePoint(code: number, fallback: string): string {
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : fallback;
}

/** Turns `{ '#cdata': 'x' }` into 'x' and decodes plain text, recursively. */
function normalise(node: unknown): unknown {
  if (typeof node === 'string') return decodeText(node);
  if (Array.isArray(node)) return node.map(normalise);
  if (node && typeof node === 'object') {
    const entries = Object.entries(node);
    if (entries.length === 1 && entries[0][0] === CDATA) return String(entries[0][1]);
    return Object.fromEntries(entries.map(([key, value]) => [key, normalise(value)]));
  }
  return node;
}

const text = z.string();
const optionalText = z.string().optional();

const SelectedItemSchema = z.object({
  QuestionKey: text,
  OptionIds: z.union([z.object({ OptionId: z.array(text).optional() }), z.literal('')]).optional(),
});

/** The decrypted message fields this bot reads (D96467, D90240). Everything is a string. */
export const WecomMessageSchema = z.object({
  ToUserName: text,
  FromUserName: text.min(1),
  CreateTime: text.regex(/^\d{1,12}$/),
  MsgType: text.min(1),
  AgentID: optionalText,
  Content: optionalText,
  MsgId: z.string().regex(/^\d{1,20}$/).optional(),
  Event: optionalText,
  EventKey: optionalText,
  TaskId: optionalText,
  CardType: optionalText,
  ResponseCode: optionalText,
  ChatId: optionalText,
  SelectedItems: z
    .union([z.object({ SelectedItem: z.array(SelectedItemSchema).optional() }), z.literal('')])
    .optional(),
});

export type WecomMessage = z.infer<typeof WecomMessageSchema>;

/** Parses the decrypted message XML. Throws PayloadError for anything malformed or hostile. */
export function parseMessageXml(xml: string): WecomMessage {
  // WeCom never sends a DTD; refusing one outright closes every entity-expansion trick.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new PayloadError('XML with a DTD is refused');
  if (XMLValidator.validate(xml) !== true) throw new PayloadError('malformed XML');
  let document: unknown;
  try {
    document = normalise(parser.parse(xml));
  } catch {
    throw new PayloadError('malformed XML');
  }
  const root = (document as { xml?: unknown } | undefined)?.xml;
  const result = WecomMessageSchema.safeParse(root);
  if (!result.success) throw new PayloadError('unexpected message fields');
  return result.data;
}

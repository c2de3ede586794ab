import type Router from '@koa/router';
import type Koa from 'koa';
import { createHttpServer } from '../../src/http/create-http-server';
import type { BotEvent } from '../../src/core/events';
import { createLogger } from '../../src/lib/logger';
import type { InboundSink } from '../../src/core/platform-adapter';
import { sealForCorp, signEncrypted, type WecomCipherKeys } from '../../src/platforms/wecom/wecom-crypto';

/** The official vectors of spec §3. */
export const VECTOR_A = {
  keys: { token: 'QDG6eK', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', corpId: 'wx5823bf96d3bd56c7' },
  agentId: '218',
  get: {
    timestamp: '1409659589',
    nonce: '263014780',
    echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
    signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
    echo: '1616140317555161061',
  },
  post: {
    timestamp: '1409659813',
    nonce: '1372623149',
    signature: '477715d11cdb4164915debcba66cb864d751f3e6',
    encrypt:
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
    plaintext:
      '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>',
  },
} as const;

export const VECTOR_B = {
  keys: { token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo', encodingAesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt', corpId: 'ww1436e0e65a779aee' },
  agentId: '1000002',
  get: {
    timestamp: '1476416373',
    nonce: '47744683',
    echostr: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==',
    signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb',
    echo: '1288432023552776189',
  },
  post: {
    timestamp: '1476422779',
    nonce: '1597212914',
    signature: '0c3914025cb4b4d68103f6bfc8db550f79dcf48e',
    encrypt:
      'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+',
    plaintext:
      '<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>',
    random: '694ce5a83ae07fe3',
  },
} as const;

export function envelope(encrypt: string, corpId = 'ww1436e0e65a779aee', agentId = '1000002'): string {
  return `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${agentId}]]></AgentID></xml>`;
}

let nonceCounter = 0;

/** A POST exactly as WeCom would send it: plaintext sealed for the corp, signed with the token. */
export function signedCallback(keys: WecomCipherKeys, plaintext: string, sealAs: Partial<WecomCipherKeys> = {}) {
  const encrypt = sealForCorp({ ...keys, ...sealAs }, plaintext);
  return signedEnvelope(keys.token, encrypt, keys.corpId);
}

export function signedEnvelope(token: string, encrypt: string, corpId: string) {
  const timestamp = '1764000000';
  const nonce = String(100000 + nonceCounter++);
  const signature = signEncrypted(token, timestamp, nonce, encrypt);
  return { path: `/wecom/callback?${new URLSearchParams({ msg_signature: signature, timestamp, nonce })}`, body: envelope(encrypt, corpId) };
}

export function textXml(fields: { from?: string; msgId: string; content: string; createTime?: string; corpId?: string }): string {
  return (
    `<xml><ToUserName><![CDATA[${fields.corpId ?? 'ww1436e0e65a779aee'}]]></ToUserName><FromUserName><![CDATA[${fields.from ?? 'zhangsan'}]]></FromUserName>` +
    `<CreateTime>${fields.createTime ?? '1764000000'}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
    `<Content><![CDATA[${fields.content}]]></Content><MsgId>${fields.msgId}</MsgId><AgentID>1000002</AgentID></xml>`
  );
}

/** An in-memory sink that de-duplicates by event id, like the real inbound store. */
export class FakeSink implements InboundSink {
  readonly events: BotEvent[] = [];
  async accept(event: BotEvent): Promise<boolean> {
    if (this.events.some((e) => e.id === event.id)) return false;
    this.events.push(event);
    return true;
  }
}

export const silentLog = createLogger('silent');

/** The router behind the app's own HTTP server (its error handler turns refusals into 401/400/413). */
export function koaWith(router: Router): Koa {
  return createHttpServer({ log: silentLog, routers: [router], readiness: async () => ({ ready: true, checks: {} }) });
}

export const wecomConfig = (vector: typeof VECTOR_A | typeof VECTOR_B, apiBase = 'https://qyapi.test') => ({
  corpId: vector.keys.corpId,
  agentId: vector.agentId,
  secret: 'app-secret',
  token: vector.keys.token,
  encodingAesKey: vector.keys.encodingAesKey,
  apiBase,
});

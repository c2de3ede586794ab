import request from 'supertest';
import { createWecomAdapter } from '../../src/platforms/wecom/wecom-adapter';
import { FakeSink, VECTOR_A, VECTOR_B, envelope, koaWith, signedCallback, signedEnvelope, silentLog, textXml, wecomConfig } from './wecom-fixtures';

/** The callback routes on a bare Koa app, recording into an in-memory sink. */
async function startCallback(vector: typeof VECTOR_A | typeof VECTOR_B = VECTOR_B) {
  const adapter = createWecomAdapter({ config: wecomConfig(vector), log: silentLog, now: () => 1_764_000_000_000 });
  const sink = new FakeSink();
  await adapter.start(sink);
  return { agent: request(koaWith(adapter.routes()).callback()), sink, adapter };
}

function post(agent: ReturnType<typeof request>, call: { path: string; body: string }) {
  return agent.post(call.path).set('content-type', 'text/xml').send(call.body);
}

describe('GET /wecom/callback (URL verification)', () => {
  it.each([
    ['A1', VECTOR_A],
    ['B1', VECTOR_B],
  ] as const)('%s: echoes the decrypted echostr as a bare body', async (_name, vector) => {
    const { agent } = await startCallback(vector);
    const { timestamp, nonce, echostr, signature, echo } = vector.get;
    const res = await agent.get('/wecom/callback').query({ msg_signature: signature, timestamp, nonce, echostr });
    expect(res.status).toBe(200);
    expect(res.text).toBe(echo);
  });

  it('refuses a wrong signature with 401 and echoes nothing', async () => {
    const { agent } = await startCallback(VECTOR_A);
    const { timestamp, nonce, echostr } = VECTOR_A.get;
    const res = await agent.get('/wecom/callback').query({ msg_signature: 'f'.repeat(40), timestamp, nonce, echostr });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(VECTOR_A.get.echo);
  });
});

describe('POST /wecom/callback', () => {
  it('A2: the official message becomes a text event keyed by its 64-bit MsgId, answered 200 with an empty body', async () => {
    const { agent, sink } = await startCallback(VECTOR_A);
    const { timestamp, nonce, signature, encrypt } = VECTOR_A.post;
    const res = await agent
      .post(`/wecom/callback?msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`)
      .set('content-type', 'text/xml')
      .send(envelope(encrypt, VECTOR_A.keys.corpId, '218'));
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    // A complete empty answer (not chunked), so WeCom's connection can carry the next callback.
    expect(res.headers['content-length']).toBe('0');
    expect(sink.events).toEqual([
      expect.objectContaining({
        id: 'wecom:msg:4561255354251345929',
        type: 'message',
        platform: 'wecom',
        text: 'hello',
        senderId: 'mycreate',
        conversation: { kind: 'direct', id: 'mycreate' },
      }),
    ]);
  });

  it('B2: the official Chinese text message is recorded', async () => {
    const { agent, sink } = await startCallback(VECTOR_B);
    const { timestamp, nonce, signature, encrypt } = VECTOR_B.post;
    const res = await agent
      .post(`/wecom/callback?msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`)
      .set('content-type', 'text/xml')
      .send(envelope(encrypt));
    expect(res.status).toBe(200);
    expect(sink.events).toEqual([expect.objectContaining({ id: 'wecom:msg:1456453720', text: '你好', senderId: 'ChenJiaShun' })]);
  });

  it('records a replayed MsgId once, and still answers 200 so WeCom stops retrying', async () => {
    const { agent, sink } = await startCallback();
    const call = signedCallback(VECTOR_B.keys, textXml({ msgId: '9007199254740993123', content: '帮助' }));
    expect((await post(agent, call)).status).toBe(200);
    const again = signedCallback(VECTOR_B.keys, textXml({ msgId: '9007199254740993123', content: '帮助' }));
    expect((await post(agent, again)).status).toBe(200);
    expect(sink.events.map((e) => e.id)).toEqual(['wecom:msg:9007199254740993123']);
  });

  it('refuses a wrong signature with 401 and records nothing', async () => {
    const { agent, sink } = await startCallback(VECTOR_A);
    const { timestamp, nonce, encrypt } = VECTOR_A.post;
    const res = await agent
      .post(`/wecom/callback?msg_signature=${'0'.repeat(40)}&timestamp=${timestamp}&nonce=${nonce}`)
      .send(envelope(encrypt));
    expect(res.status).toBe(401);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses a request without signature parameters or without Encrypt', async () => {
    const { agent, sink } = await startCallback();
    expect((await agent.post('/wecom/callback').send(envelope(VECTOR_B.post.encrypt))).status).toBe(401);
    const signedForReal = signedEnvelope(VECTOR_B.keys.token, VECTOR_B.post.encrypt, VECTOR_B.keys.corpId);
    expect((await agent.post(signedForReal.path).send('<xml><ToUserName>x</ToUserName></xml>')).status).toBe(401);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses a correctly signed message sealed for another corp with 401', async () => {
    const { agent, sink } = await startCallback();
    const call = signedCallback(VECTOR_B.keys, textXml({ msgId: '1', content: 'x' }), { corpId: 'wwsomeoneelse' });
    expect((await post(agent, call)).status).toBe(401);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses a correctly signed but undecodable ciphertext (bad base64) with 400', async () => {
    const { agent, sink } = await startCallback();
    const call = signedEnvelope(VECTOR_B.keys.token, 'this-is-not%base64', VECTOR_B.keys.corpId);
    expect((await post(agent, call)).status).toBe(400);
    const truncated = signedEnvelope(VECTOR_B.keys.token, VECTOR_B.post.encrypt.slice(0, 40), VECTOR_B.keys.corpId);
    expect((await post(agent, truncated)).status).toBe(400);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses truncated XML inside a valid envelope with 400', async () => {
    const { agent, sink } = await startCallback();
    const xml = textXml({ msgId: '2', content: '帮助' });
    const call = signedCallback(VECTOR_B.keys, xml.slice(0, xml.length - 20));
    expect((await post(agent, call)).status).toBe(400);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses XML with a DTD (entity expansion) with 400 and expands nothing', async () => {
    const { agent, sink } = await startCallback();
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' +
      textXml({ msgId: '3', content: 'x' }).replace('<![CDATA[x]]>', '&c;');
    expect((await post(agent, signedCallback(VECTOR_B.keys, laughs))).status).toBe(400);
    const external = '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + textXml({ msgId: '4', content: 'x' }).replace('<![CDATA[x]]>', '&xxe;');
    expect((await post(agent, signedCallback(VECTOR_B.keys, external))).status).toBe(400);
    expect(sink.events).toHaveLength(0);
  });

  it('refuses a 2 MB body with 413 before reading it whole', async () => {
    const { agent, sink } = await startCallback();
    const call = signedCallback(VECTOR_B.keys, textXml({ msgId: '5', content: 'x' }));
    const huge = call.body + ' '.repeat(2 * 1024 * 1024);
    const res = await agent.post(call.path).set('content-type', 'text/xml').send(huge);
    expect(res.status).toBe(413);
    expect(sink.events).toHaveLength(0);
  });

  it('answers 503 before the adapter is started, so WeCom retries later', async () => {
    const adapter = createWecomAdapter({ config: wecomConfig(VECTOR_B), log: silentLog });
    const agent = request(koaWith(adapter.routes()).callback());
    const res = await post(agent, signedCallback(VECTOR_B.keys, textXml({ msgId: '6', content: 'x' })));
    expect(res.status).toBe(503);
  });

  it('turns a template_card_event into a card action with its selections and fresh response code', async () => {
    const { agent, sink } = await startCallback();
    const xml =
      '<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>' +
      '<CreateTime>1764000100</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>' +
      '<EventKey><![CDATA[submit]]></EventKey><TaskId><![CDATA[0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6b@a1b2c3]]></TaskId>' +
      '<CardType><![CDATA[multiple_interaction]]></CardType><ResponseCode><![CDATA[RC-1]]></ResponseCode><AgentID>1000002</AgentID>' +
      '<SelectedItems><SelectedItem><QuestionKey><![CDATA[method]]></QuestionKey><OptionIds><OptionId><![CDATA[talk]]></OptionId></OptionIds></SelectedItem>' +
      '<SelectedItem><QuestionKey><![CDATA[category]]></QuestionKey><OptionIds><OptionId><![CDATA[work]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>';
    expect((await post(agent, signedCallback(VECTOR_B.keys, xml))).status).toBe(200);
    expect(sink.events).toEqual([
      expect.objectContaining({
        id: 'wecom:evt:lisi:1764000100:0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6b@a1b2c3:submit',
        type: 'card_action',
        cardId: '0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6b',
        action: 'submit',
        values: { method: 'talk', category: 'work' },
        cardRef: '0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6b@a1b2c3|RC-1',
      }),
    ]);
  });

  it('turns enter_agent into an enter event, and ignores events it has no use for', async () => {
    const { agent, sink } = await startCallback();
    const event = (name: string) =>
      `<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>wangwu</FromUserName><CreateTime>1764000200</CreateTime>` +
      `<MsgType>event</MsgType><Event>${name}</Event><EventKey></EventKey><AgentID>1000002</AgentID></xml>`;
    expect((await post(agent, signedCallback(VECTOR_B.keys, event('enter_agent')))).status).toBe(200);
    expect((await post(agent, signedCallback(VECTOR_B.keys, event('LOCATION')))).status).toBe(200);
    expect(sink.events).toEqual([expect.objectContaining({ type: 'enter', senderId: 'wangwu', id: 'wecom:evt:wangwu:1764000200:enter_agent' })]);
  });
});

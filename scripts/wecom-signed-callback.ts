/**
 * Prints a WeCom callback exactly as WeCom sends it (sealed with WECOM_ENCODING_AES_KEY for
 * WECOM_CORP_ID, signed with WECOM_TOKEN) as JSON {path, body, msgId}: for scripts/nginx-check.sh.
 */
import { sealForCorp, signEncrypted } from '../src/platforms/wecom/wecom-crypto';

const keys = { token: process.env.WECOM_TOKEN!, encodingAesKey: process.env.WECOM_ENCODING_AES_KEY!, corpId: process.env.WECOM_CORP_ID! };
const msgId = String(Date.now());
const timestamp = String(Math.floor(Date.now() / 1000));
const nonce = String(Math.floor(Math.random() * 1e9));
const plaintext =
  `<xml><ToUserName><![CDATA[${keys.corpId}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>` +
  `<CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content>` +
  `<MsgId>${msgId}</MsgId><AgentID>${process.env.WECOM_AGENT_ID}</AgentID></xml>`;
const encrypt = sealForCorp(keys, plaintext);
const signature = signEncrypted(keys.token, timestamp, nonce, encrypt);
const body = `<xml><ToUserName><![CDATA[${keys.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${process.env.WECOM_AGENT_ID}]]></AgentID></xml>`;
console.log(JSON.stringify({ path: `/wecom/callback?${new URLSearchParams({ msg_signature: signature, timestamp, nonce })}`, body, msgId }));

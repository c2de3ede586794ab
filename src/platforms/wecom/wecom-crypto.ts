import { timingSafeEqual } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import { PayloadError, SignatureError } from '../../core/errors';

/**
 * The WeCom callback cipher (加解密方案, spec §2). This is the only file that imports
 * @wecom/crypto. The library neither checks signatures nor the receive id, so both are done here.
 */
export interface WecomCipherKeys {
  token: string;
  encodingAesKey: string;
  /** The receive id every plaintext must carry: the corp id for a self-built app. */
  corpId: string;
}

export interface SignedParams {
  signature: string;
  timestamp: string;
  nonce: string;
}

const SHA1_HEX = /^[0-9a-f]{40}$/;
// Standard base64 whose decoded length is a whole number of AES blocks is checked after decoding.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Throws SignatureError unless `signature` is the sha1 over token, timestamp, nonce and `encrypted`. */
export function verifySignature(token: string, params: SignedParams, encrypted: string): void {
  const given = params.signature.toLowerCase();
  // A length/shape check first: timingSafeEqual needs equal lengths, and the shape leaks nothing secret.
  if (!SHA1_HEX.test(given)) throw new SignatureError();
  const expected = getSignature(token, params.timestamp, params.nonce, encrypted);
  if (!timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'))) throw new SignatureError();
}

/**
 * Decrypts an `Encrypt`/`echostr` value that has already passed verifySignature, and checks that it
 * was meant for this corp. A wrong key does not make the library throw (it yields garbage and an
 * empty id), so the receive-id check is what catches it.
 */
export function decryptVerified(keys: WecomCipherKeys, encrypted: string): string {
  if (!BASE64.test(encrypted)) throw new PayloadError('ciphertext is not base64');
  let opened: { message: string; id: string };
  try {
    opened = decrypt(keys.encodingAesKey, encrypted);
  } catch {
    throw new PayloadError('ciphertext cannot be decrypted');
  }
  if (opened.id !== keys.corpId) throw new SignatureError('receive id does not match WECOM_CORP_ID');
  return opened.message;
}

/** Verifies, then decrypts: the order the protocol requires. */
export function openSigned(keys: WecomCipherKeys, params: SignedParams, encrypted: string): string {
  verifySignature(keys.token, params, encrypted);
  return decryptVerified(keys, encrypted);
}

/** Builds what WeCom would send: used by tests, the benchmark and passive replies. */
export function sealForCorp(keys: WecomCipherKeys, plaintext: string, random?: Buffer): string {
  return encrypt(keys.encodingAesKey, plaintext, keys.corpId, random);
}

export function signEncrypted(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return getSignature(token, timestamp, nonce, encrypted);
}

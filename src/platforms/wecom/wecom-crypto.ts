import { createDecipheriv, hash, timingSafeEqual } from 'node:crypto';
import { encrypt } from '@wecom/crypto';
import { PayloadError, SignatureError } from '../../core/errors';

/**
 * The WeCom callback cipher (加解密方案, spec §2). This is the only file that imports
 * @wecom/crypto, whose encrypt seals what tests, the benchmark and passive replies send. Checking
 * and opening a callback is done here with node:crypto: the library checks neither the signature
 * nor the receive id, and decoded the key again for every callback.
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

/** sha1 over the four values sorted and joined (spec §2), as raw bytes. */
function signatureBytes(token: string, timestamp: string, nonce: string, encrypted: string): Buffer {
  return hash('sha1', [token, timestamp, nonce, encrypted].sort().join(''), 'buffer');
}

/** Throws SignatureError unless `signature` is the sha1 over token, timestamp, nonce and `encrypted`. */
export function verifySignature(token: string, params: SignedParams, encrypted: string): void {
  const given = params.signature.toLowerCase();
  // A length/shape check first: timingSafeEqual needs equal lengths, and the shape leaks nothing secret.
  if (!SHA1_HEX.test(given)) throw new SignatureError();
  const expected = signatureBytes(token, params.timestamp, params.nonce, encrypted);
  if (!timingSafeEqual(Buffer.from(given, 'hex'), expected)) throw new SignatureError();
}

/** The AES key and IV of an EncodingAESKey, decoded once per set of keys rather than per callback. */
const aesKeys = new WeakMap<WecomCipherKeys, { key: Buffer; iv: Buffer }>();

function aesKeyOf(keys: WecomCipherKeys): { key: Buffer; iv: Buffer } {
  let decoded = aesKeys.get(keys);
  if (!decoded) {
    // AESKey = Base64_Decode(EncodingAESKey + "="): 32 bytes; the IV is its first 16 (spec §2).
    const key = Buffer.from(`${keys.encodingAesKey}=`, 'base64');
    if (key.length !== 32) throw new PayloadError('WECOM_ENCODING_AES_KEY does not decode to 32 bytes: copy the 43 characters from the admin console');
    decoded = { key, iv: key.subarray(0, 16) };
    aesKeys.set(keys, decoded);
  }
  return decoded;
}

const BASE64_ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_ALPHABET[c.charCodeAt(0)] = 1;

/**
 * Standard base64 with its padding (Buffer.from would skip any other character silently). A loop
 * over the characters: the equivalent regular expression was the largest single cost of decryption.
 */
function isStrictBase64(value: string): boolean {
  const length = value.length;
  if (length === 0 || length % 4 !== 0) return false;
  let end = length;
  if (value.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (value.charCodeAt(end - 1) === 0x3d) end--;
  for (let i = 0; i < end; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128 || BASE64_ALPHABET[code] === 0) return false;
  }
  return true;
}

/** Bytes of the plaintext before the message: 16 random bytes, then the message length (uint32, big-endian). */
const RANDOM_BYTES = 16;
const HEADER_BYTES = RANDOM_BYTES + 4;
/** WeCom pads with PKCS#7 to a multiple of 32 bytes (not AES's 16). */
const MAX_PAD = 32;

/**
 * Decrypts an `Encrypt`/`echostr` value that has already passed verifySignature, and checks that it
 * was meant for this corp. AES-256-CBC with node:crypto directly (the key decoded once), the same
 * as @wecom/crypto's decrypt, which test/wecom/wecom-crypto.test.ts checks against the official
 * vectors. A wrong key yields garbage, not an error, so the receive-id check is what catches it.
 */
export function decryptVerified(keys: WecomCipherKeys, encrypted: string): string {
  if (!isStrictBase64(encrypted)) throw new PayloadError('ciphertext is not base64');
  const data = Buffer.from(encrypted, 'base64');
  if (data.length % 16 !== 0) throw new PayloadError('ciphertext cannot be decrypted');
  const { key, iv } = aesKeyOf(keys);
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  decipher.setAutoPadding(false);
  // Without padding, update() gives back every whole block; final() has nothing left.
  const padded = decipher.update(data);
  const padLength = padded.length > 0 ? padded[padded.length - 1] : 0;
  const plain = padLength >= 1 && padLength <= MAX_PAD ? padded.subarray(0, padded.length - padLength) : padded;
  if (plain.length < HEADER_BYTES) throw new PayloadError('ciphertext cannot be decrypted');
  const messageEnd = Math.min(HEADER_BYTES + plain.readUInt32BE(RANDOM_BYTES), plain.length);
  if (plain.toString('utf8', messageEnd) !== keys.corpId) throw new SignatureError('receive id does not match WECOM_CORP_ID');
  return plain.toString('utf8', HEADER_BYTES, messageEnd);
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
  return signatureBytes(token, timestamp, nonce, encrypted).toString('hex');
}

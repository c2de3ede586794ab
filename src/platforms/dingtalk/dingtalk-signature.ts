import crypto from 'node:crypto';
import { SignatureError } from '../../core/errors';

/** DingTalk refuses callbacks older than an hour; so do we, in both directions (clock skew). */
export const MAX_CALLBACK_AGE_MS = 3_600_000;

/** base64(HmacSHA256(key = appSecret, message = timestamp + "\n" + appSecret)) — spec §3. */
export function signCallback(timestamp: string, appSecret: string): string {
  return crypto.createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`).digest('base64');
}

/**
 * Checks the `timestamp` and `sign` headers of an HTTP-mode robot callback. Pure: `now` is passed
 * in. Throws SignatureError without saying which check failed.
 */
export function verifyCallbackSignature(
  headers: { timestamp?: string; sign?: string },
  appSecret: string,
  now: number,
): void {
  const timestamp = headers.timestamp ?? '';
  if (!/^\d{1,16}$/.test(timestamp)) throw new SignatureError('missing or malformed timestamp');
  if (Math.abs(now - Number(timestamp)) > MAX_CALLBACK_AGE_MS) throw new SignatureError('stale timestamp');
  const expected = Buffer.from(signCallback(timestamp, appSecret));
  const given = Buffer.from(headers.sign ?? '');
  // Length first: timingSafeEqual throws on different lengths; the length of a base64 HMAC is public.
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) throw new SignatureError();
}

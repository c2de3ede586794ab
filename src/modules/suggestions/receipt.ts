import { createHash, randomInt } from 'node:crypto';

/** No 0/O, 1/I/L: a code read aloud or copied by hand still matches. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const LENGTH = 12;

/** A fresh receipt code (回执码), e.g. `K7QM-4TZP-9XWA`: about 59 bits, so guessing one is hopeless. */
export function newReceiptCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code.match(/.{4}/g)!.join('-');
}

/** Upper-cased, dashes and spaces removed; null when it cannot be a receipt code. */
export function normalizeReceiptCode(text: string): string | null {
  const flat = text.replace(/[\s\-－—]/g, '').toUpperCase();
  return flat.length === LENGTH && [...flat].every((c) => ALPHABET.includes(c)) ? flat : null;
}

/** Only this hash is stored: the code itself exists nowhere but in the sender's hands. */
export function receiptHash(code: string): string {
  return createHash('sha256').update(`xinsheng-receipt:${normalizeReceiptCode(code) ?? code}`).digest('hex');
}

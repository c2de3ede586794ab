import type { Context } from 'koa';
import { PayloadError } from '../core/errors';

export class BodyTooLargeError extends PayloadError {
  readonly status = 413;
}

/**
 * Reads the request body as raw bytes, up to `limitBytes`. Signatures are verified over these
 * bytes, never over re-serialised JSON. A larger body is refused without being buffered whole.
 */
export async function readRawBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes) throw new BodyTooLargeError(`body larger than ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      ctx.req.destroy();
      throw new BodyTooLargeError(`body larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

import { PlatformApiError } from '../core/errors';
import type { Recipient } from '../core/messages';
import { mapLimited } from '../lib/map-limited';
import type { DeliveryOutcome } from '../core/platform-adapter';

/** What one call of a delivery reports about its own recipients; the rest got the message. */
export interface CallResult {
  invalid?: Recipient[];
  retryLater?: Recipient[];
}

/** One API call of a delivery and the recipients it concerns. */
export interface DeliveryCall {
  recipients: Recipient[];
  run(): Promise<CallResult | void>;
}

export interface RunCallsOptions {
  /** Calls in flight at once (default 1). */
  concurrency?: number;
  /** A failure that means every recipient of the call is unknown (WeCom 81013): invalid, not retried. */
  allRecipientsInvalid?(error: PlatformApiError): boolean;
  /** A failure after which the calls not yet started would fail too (a rate limit). */
  haltsDelivery?(error: PlatformApiError): boolean;
}

export type CallsOutcome = Required<Pick<DeliveryOutcome, 'invalid' | 'retryLater'>>;

/**
 * Runs the calls of one delivery. If none got through, the delivery failed as a whole and the
 * first error goes to the outbox (which retries it or gives it up). Otherwise the people already
 * reached must not be sent it again, so a failed call only concerns its own recipients: transient
 * failures are handed back to be retried later, others are reported invalid. A configuration error
 * (or `haltsDelivery`) stops the calls not yet started, rather than making calls bound to fail.
 */
export async function runDeliveryCalls(calls: DeliveryCall[], options: RunCallsOptions = {}): Promise<CallsOutcome> {
  const outcome: CallsOutcome = { invalid: [], retryLater: [] };
  const failures: { call: DeliveryCall; error: PlatformApiError }[] = [];
  let delivered = false;
  let halt: PlatformApiError | null = null;
  await mapLimited(calls, options.concurrency ?? 1, async (call) => {
    if (halt) {
      failures.push({ call, error: halt });
      return;
    }
    try {
      const result = await call.run();
      outcome.invalid.push(...(result?.invalid ?? []));
      outcome.retryLater.push(...(result?.retryLater ?? []));
      delivered = true;
    } catch (error) {
      if (!(error instanceof PlatformApiError)) throw error;
      if (options.allRecipientsInvalid?.(error)) {
        outcome.invalid.push(...call.recipients);
        return;
      }
      if (error.details.configuration || options.haltsDelivery?.(error)) halt = error;
      failures.push({ call, error });
    }
  });
  if (!delivered && failures.length > 0) throw failures[0].error;
  for (const { call, error } of failures) (error.details.retryable ? outcome.retryLater : outcome.invalid).push(...call.recipients);
  return outcome;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

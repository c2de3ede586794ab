/** Errors with a stable code; the HTTP layer and the CLI map them to statuses and messages. */
export enum ErrorCode {
  Config = 'config_error',
  Signature = 'signature_error',
  Payload = 'payload_error',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  PlatformApi = 'platform_api_error',
  Validation = 'validation_error',
}

export class BotError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends BotError {
  constructor(message: string) {
    super(ErrorCode.Config, message);
  }
}

export class SignatureError extends BotError {
  constructor(message = 'signature mismatch') {
    super(ErrorCode.Signature, message);
  }
}

export class PayloadError extends BotError {
  constructor(message: string) {
    super(ErrorCode.Payload, message);
  }
}

export class ValidationError extends BotError {
  constructor(message: string) {
    super(ErrorCode.Validation, message);
  }
}

/**
 * A platform API call failed. `retryable` tells the outbox whether to try again with backoff;
 * `configuration` marks errors a deployer must fix (bad secret, IP not allowed…), shown in /readyz.
 */
export class PlatformApiError extends BotError {
  constructor(
    public readonly platform: string,
    message: string,
    public readonly details: { status?: number; errcode?: number | string; retryable: boolean; configuration?: boolean },
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.PlatformApi, message, options);
  }
}

import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs. Message text, secrets and tokens must never be logged: the redaction list is a
 * safety net for fields that could carry them, not a licence to pass them in.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['text', 'content', 'body', 'secret', 'token', 'access_token', 'accessToken', '*.text', '*.content', '*.secret', '*.token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

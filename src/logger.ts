/**
 * pino JSON logs. Secrets are redacted by path, and nothing that logs a message may pass its
 * text or code: callers log ids and masked numbers only.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  'headers["x-twilio-signature"]',
  'body',
  'code',
  '*.authToken',
  '*.apiKey',
  '*.encryptionKey',
  '*.webhookSecret',
];

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'switchboard', ...bindings }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

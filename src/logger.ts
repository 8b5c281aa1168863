/**
 * pino JSON logs. Secrets are redacted by path, and nothing that logs a message may pass its
 * text or code: callers log ids and masked numbers only.
 */
import { pino, type Logger } from 'pino';
import { maskPhone } from './domain/mask.ts';

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

/** Fields that may hold a phone number: logged masked, never in full. */
export const PHONE_PATHS = ['to', 'e164', 'recipient', '*.to', '*.e164', '*.recipient'];

export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'switchboard', ...bindings },
    redact: {
      paths: [...REDACT_PATHS, ...PHONE_PATHS],
      censor: (value: unknown, path: string[]) =>
        PHONE_PATHS.some((p) => p.split('.').at(-1) === path.at(-1)) && typeof value === 'string' ? maskPhone(value) : '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Masks anything that looks like a phone number inside free text (carrier error messages). */
export function maskPhonesInText(text: string): string {
  return text.replace(/\+?\d[\d ()-]{6,18}\d/g, (m) => maskPhone(`+${m.replace(/\D/g, '')}`));
}

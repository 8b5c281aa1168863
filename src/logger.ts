/**
 * pino JSON logs. Secrets are redacted by path, and nothing that logs a message may pass its
 * text or code: callers log ids and masked numbers only.
 */
import { pino, type Logger } from 'pino';
import { providerRegistry } from '../providers/index.ts';
import { maskPhone, maskPhonesInText } from './domain/mask.ts';

export { maskPhonesInText };

export type { Logger };

export const REDACT_PATHS = [
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  // Carrier signature headers, as each provider's module names them.
  ...providerRegistry.modules.flatMap((m) => (m.signatureHeaders ?? []).map((h) => `headers["${h}"]`)),
  // Each provider's secret options (`secretPaths`), in a logged section or a whole `providers` object.
  ...new Set(providerRegistry.modules.flatMap((m) => m.secretPaths.flatMap((p) => [`*.${p}`, `providers.*.${p}`]))),
  'body',
  'code',
  '*.authToken',
  '*.apiKey',
  '*.encryptionKey',
  '*.webhookSecret',
];

/** Fields that may hold a phone number: logged masked, never in full. */
export const PHONE_PATHS = ['to', 'e164', 'recipient', '*.to', '*.e164', '*.recipient'];

/**
 * Free-text fields that may quote a number (carrier and SDK error messages, lookup failures, a
 * failed job's reason): every phone-like run of digits in them is masked before the line is written.
 */
export const TEXT_FIELDS = ['err', 'error', 'reason', 'lastError', 'failedReason'] as const;

function maskTextFields(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const field of TEXT_FIELDS) {
    const v = obj[field];
    if (typeof v === 'string') {
      out ??= { ...obj };
      out[field] = maskPhonesInText(v);
    } else if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string') {
      out ??= { ...obj };
      const e = v as { message: string; stack?: unknown };
      out[field] = {
        ...e,
        message: maskPhonesInText(e.message),
        ...(typeof e.stack === 'string' ? { stack: maskPhonesInText(e.stack) } : {}),
      };
    }
  }
  return out ?? obj;
}

export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'switchboard', ...bindings },
    formatters: { log: maskTextFields },
    redact: {
      paths: [...REDACT_PATHS, ...PHONE_PATHS],
      censor: (value: unknown, path: string[]) =>
        PHONE_PATHS.some((p) => p.split('.').at(-1) === path.at(-1)) && typeof value === 'string' ? maskPhone(value) : '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * `application/x-www-form-urlencoded` handling shared by carriers that speak it (Twilio's REST API
 * and its callbacks). Repeated keys become arrays, which is also what `twilio.validateRequest`
 * expects when it signs repeated parameters (unique values, sorted).
 */
import type { FastifyInstance } from 'fastify';

/** Decoded form fields; a key that appears more than once maps to all its values in order. */
export type FormFields = Record<string, string | string[]>;

/** Decodes a form body (`+` is a space, percent-escapes are UTF-8). Never throws. */
export function parseFormBody(text: string): FormFields {
  const out: FormFields = Object.create(null) as FormFields;
  for (const [key, value] of new URLSearchParams(text)) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

/** First value of a form field (a repeated field yields its first value). */
export function formField(fields: FormFields, key: string): string | undefined {
  const v = fields[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Registers a form-body parser on a Fastify instance unless one exists, so each emulator works on
 * its own (in tests) and several emulators can share one sandbox listener without a clash.
 */
export function ensureFormBodyParser(app: FastifyInstance): void {
  if (app.hasContentTypeParser('application/x-www-form-urlencoded')) return;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseFormBody(typeof body === 'string' ? body : body.toString('utf8')));
  });
}

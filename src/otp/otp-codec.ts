/**
 * One-time codes: generated with a CSPRNG in the worker, kept only AES-256-GCM encrypted on the
 * message (so every fallback step sends the same code), never in job payloads, logs or responses.
 */
import { keyObject } from '../security/key-object.ts';
import { createCipheriv, createDecipheriv, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { pooledRandomBytes } from '../security/random-pool.ts';

export function generateCode(length: number): string {
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(0, 10));
  return code;
}

/** Encrypts `code`, binding it to the message id (AAD) so a ciphertext cannot be moved between messages. */
export function encryptCode(key: Buffer, messageId: string, code: string): string {
  const iv = pooledRandomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), iv);
  cipher.setAAD(Buffer.from(messageId, 'utf8'));
  const ct = Buffer.concat([cipher.update(code, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url')).join('.');
}

export function decryptCode(key: Buffer, messageId: string, sealed: string): string {
  const [iv, tag, ct] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !ct) throw new Error('malformed sealed code');
  const decipher = createDecipheriv('aes-256-gcm', keyObject(key), iv);
  decipher.setAAD(Buffer.from(messageId, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
}

/**
 * HMAC-SHA256 of the code under the `otp-hmac` subkey, keyed by message id: what verification
 * compares, so the API can check a code without the encryption key and a leaked record does not
 * give the code away (a plain hash of 6 digits falls to a million guesses).
 */
export function codeHmac(key: Buffer, messageId: string, code: string): string {
  return createHmac('sha256', keyObject(key)).update(`${messageId}\u0000${code}`, 'utf8').digest('base64url');
}

/** Constant-time check of a presented code against the stored `codeHmac`. */
export function codeMatches(key: Buffer, messageId: string, presented: string, stored: string): boolean {
  const expected = Buffer.from(stored, 'base64url');
  const actual = Buffer.from(codeHmac(key, messageId, presented), 'base64url');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Puts the code into the text; the API guarantees `{{code}}` is present when `otp` is set. */
export function renderBody(template: string, code: string | undefined): string {
  return code === undefined ? template : template.replaceAll('{{code}}', code);
}

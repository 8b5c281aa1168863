/**
 * Standard Webhooks signing (CONTRACTS §4): `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`,
 * key = the base64-decoded bytes after `whsec_`. During a rotation every secret signs, space-separated,
 * so receivers holding either the old or the new secret keep verifying.
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/**
 * Signing keys prepared once per secret: Node imports a raw key again on every `createHmac`, which
 * was a twentieth of the worker's CPU in lifecycle mode (each event signed with the same few secrets).
 * Bounded: secrets come from config and rotations, a handful per deployment.
 */
const preparedKeys = new Map<string, KeyObject>();
const MAX_PREPARED_KEYS = 64;

function signingKey(secret: string): KeyObject {
  let key = preparedKeys.get(secret);
  if (key === undefined) {
    if (preparedKeys.size >= MAX_PREPARED_KEYS) preparedKeys.clear();
    key = createSecretKey(secretKeyBytes(secret));
    preparedKeys.set(secret, key);
  }
  return key;
}

export function signWebhook(secrets: readonly string[], id: string, timestampSec: number, body: string): string {
  return secrets.map((s) => `v1,${createHmac('sha256', signingKey(s)).update(`${id}.${timestampSec}.${body}`).digest('base64')}`).join(' ');
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Splits `SWITCHBOARD_WEBHOOK_SECRET` (one secret, or several separated by spaces or commas). */
export function parseWebhookSecrets(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

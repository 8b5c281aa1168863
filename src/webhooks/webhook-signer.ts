/**
 * Standard Webhooks signing (CONTRACTS §4): `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`,
 * key = the base64-decoded bytes after `whsec_`. During a rotation every secret signs, space-separated,
 * so receivers holding either the old or the new secret keep verifying.
 */
import { createHmac, randomBytes } from 'node:crypto';

export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

export function signWebhook(secrets: readonly string[], id: string, timestampSec: number, body: string): string {
  return secrets
    .map((s) => `v1,${createHmac('sha256', secretKeyBytes(s)).update(`${id}.${timestampSec}.${body}`).digest('base64')}`)
    .join(' ');
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Splits `SWITCHBOARD_WEBHOOK_SECRET` (one secret, or several separated by spaces or commas). */
export function parseWebhookSecrets(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

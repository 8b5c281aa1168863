/**
 * Push acknowledgement tokens (DESIGN §6.3): `base64url(HMAC(ackKey, id.expiry)).expiry`. The
 * device gets one in the FCM data and posts it back to `/v1/push/ack` without an API key, so the
 * token alone must prove it came from this push: bound to the message id and short-lived
 * (`ackTimeoutMs` + 1 h, so a late ack can still be recorded as `late_ack`).
 */
import { keyObject } from './key-object.ts';
import { createHmac, timingSafeEqual } from 'node:crypto';

export const ACK_GRACE_MS = 3_600_000;

export function createAckToken(key: Buffer, messageId: string, expiresAtMs: number): string {
  const expiry = String(Math.floor(expiresAtMs));
  const mac = createHmac('sha256', keyObject(key)).update(`${messageId}.${expiry}`).digest('base64url');
  return `${mac}.${expiry}`;
}

export type AckTokenCheck = { ok: true } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export function verifyAckToken(key: Buffer, messageId: string, token: string, nowMs: number): AckTokenCheck {
  const m = /^([A-Za-z0-9_-]{43})\.(\d{10,16})$/.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, mac, expiry] = m as unknown as [string, string, string];
  const expected = createHmac('sha256', keyObject(key)).update(`${messageId}.${expiry}`).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  if (Number(expiry) < nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}

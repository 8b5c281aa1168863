import { ConversationCallbackWebhooks } from '@sinch/sdk-core';
import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../provider.ts';
import {
  SINCH_WEBHOOK_SIGNATURE_HEADERS as H,
  mapSinchConversationStatus,
  parseSinchConversationWebhook,
  signSinchConversationWebhook,
  sinchConversationSignatureHeaders,
  verifySinchConversationWebhook,
} from './sinch.conversation-webhook.ts';

const SECRET = 'sandbox-conversation-secret';
const NOW = new Date('2024-06-06T09:22:15Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

/** The reference's delivery receipt (§2.5), verbatim but for the ids. */
const RECEIPT = {
  app_id: 'APP_ID',
  project_id: 'PRJ',
  accepted_time: '2024-06-06T09:22:14.304Z',
  event_time: '2024-06-06T09:22:15Z',
  message_metadata: 'msg-42',
  correlation_id: 'msg-42',
  message_delivery_report: {
    message_id: '01HXYZ',
    conversation_id: '…',
    contact_id: '…',
    processing_mode: 'DISPATCH',
    status: 'DELIVERED',
    channel_identity: { channel: 'RCS', identity: '46701234567', app_id: '' },
    reason: { code: 'RECIPIENT_NOT_REACHABLE', description: '…', sub_code: 'UNSPECIFIED_SUB_CODE' },
    metadata: 'msg-42',
  },
};

function signed(body: unknown, opts: { secret?: string; timestamp?: number; nonce?: string; url?: string } = {}): WebhookRequest {
  const raw = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = sinchConversationSignatureHeaders(
    opts.secret ?? SECRET,
    raw,
    opts.nonce ?? '01FJA8B466Y0R2GNXD78MD9SM1',
    opts.timestamp ?? NOW_S,
  );
  const url = opts.url ?? 'https://gw.example.com/webhooks/sinch/conversation?sb=msg-42';
  return {
    method: 'POST',
    publicUrl: url,
    headers: { 'content-type': 'application/json', ...headers },
    query: Object.fromEntries(new URL(url).searchParams),
    rawBody: raw,
  };
}

function report(patch: Record<string, unknown>, top: Record<string, unknown> = {}): WebhookRequest {
  const body = { ...RECEIPT, ...top, message_delivery_report: { ...RECEIPT.message_delivery_report, ...patch } };
  return signed(body);
}

describe('verifySinchConversationWebhook', () => {
  it('accepts a callback signed per reference §2.3 with the secret', () => {
    expect(verifySinchConversationWebhook(SECRET, signed(RECEIPT), NOW)).toBe(true);
  });

  it('computes the same signature as the Sinch SDK over the same raw body', () => {
    const raw = signed(RECEIPT);
    const sdk = new ConversationCallbackWebhooks(SECRET);
    expect(sdk.validateAuthenticationHeader(raw.headers, raw.rawBody.toString('utf8'))).toBe(true);
    const expected = signSinchConversationWebhook(SECRET, raw.rawBody, raw.headers[H.nonce] ?? '', raw.headers[H.timestamp] ?? '');
    expect(raw.headers[H.signature]).toBe(expected);
  });

  it('signs the raw bytes: a re-serialised body with the same content fails', () => {
    const raw = signed(JSON.stringify(RECEIPT, null, 2));
    expect(verifySinchConversationWebhook(SECRET, raw, NOW)).toBe(true);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, rawBody: Buffer.from(JSON.stringify(RECEIPT)) }, NOW)).toBe(false);
  });

  it('rejects a tampered body', () => {
    const raw = signed(RECEIPT);
    const tampered = Buffer.from(raw.rawBody.toString('utf8').replace('"DELIVERED"', '"FAILED"'));
    expect(verifySinchConversationWebhook(SECRET, { ...raw, rawBody: tampered }, NOW)).toBe(false);
  });

  it('rejects a tampered nonce or timestamp (both are signed)', () => {
    const raw = signed(RECEIPT);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers: { ...raw.headers, [H.nonce]: 'other' } }, NOW)).toBe(false);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers: { ...raw.headers, [H.timestamp]: String(NOW_S - 1) } }, NOW)).toBe(
      false,
    );
  });

  it('rejects a signature made with another secret', () => {
    expect(verifySinchConversationWebhook(SECRET, signed(RECEIPT, { secret: 'guessed' }), NOW)).toBe(false);
    expect(verifySinchConversationWebhook('another-secret', signed(RECEIPT), NOW)).toBe(false);
    expect(verifySinchConversationWebhook('', signed(RECEIPT, { secret: '' }), NOW)).toBe(false);
  });

  it.each([
    ['more than 5 minutes old', -301, false],
    ['more than 5 minutes ahead', 301, false],
    ['exactly 5 minutes old', -300, true],
    ['4 minutes ahead', 240, true],
  ])('treats a timestamp %s as %s', (_name, offset, ok) => {
    expect(verifySinchConversationWebhook(SECRET, signed(RECEIPT, { timestamp: NOW_S + offset }), NOW)).toBe(ok);
  });

  it.each(Object.values(H).filter((h) => h !== H.algorithm))('rejects a callback without %s', (header) => {
    const raw = signed(RECEIPT);
    const headers = { ...raw.headers };
    delete headers[header];
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers }, NOW)).toBe(false);
  });

  it('accepts a missing algorithm header but rejects another algorithm', () => {
    const raw = signed(RECEIPT);
    const headers = { ...raw.headers };
    delete headers[H.algorithm];
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers }, NOW)).toBe(true);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers: { ...raw.headers, [H.algorithm]: 'HmacSHA1' } }, NOW)).toBe(false);
  });

  it('rejects a timestamp in milliseconds or not a number, and a signature that is not base64 of an HMAC', () => {
    const raw = signed(RECEIPT);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers: { ...raw.headers, [H.timestamp]: 'soon' } }, NOW)).toBe(false);
    expect(verifySinchConversationWebhook(SECRET, signed(RECEIPT, { timestamp: NOW.getTime() }), NOW)).toBe(false);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers: { ...raw.headers, [H.signature]: 'AAAA' } }, NOW)).toBe(false);
    expect(verifySinchConversationWebhook(SECRET, { ...raw, headers: { ...raw.headers, [H.signature]: '' } }, NOW)).toBe(false);
  });
});

describe('parseSinchConversationWebhook', () => {
  it('maps the reference receipt to one delivered event with our message id and the event time', () => {
    expect(parseSinchConversationWebhook(signed(RECEIPT))).toEqual([
      {
        provider: 'sinch',
        providerMessageId: '01HXYZ',
        messageId: 'msg-42',
        status: 'delivered',
        rawStatus: 'DELIVERED',
        occurredAt: new Date('2024-06-06T09:22:15Z'),
      },
    ]);
  });

  it.each([
    ['QUEUED_ON_CHANNEL', undefined, 'sent'],
    ['DELIVERED', undefined, 'delivered'],
    ['READ', undefined, 'delivered'],
    ['SWITCHING_CHANNEL', 'RECIPIENT_NOT_REACHABLE', 'queued'],
    ['FAILED', 'CHANNEL_FAILURE', 'undelivered'],
    ['FAILED', 'DELIVERY_TIMED_OUT', 'undelivered'],
    ['FAILED', 'NO_CHANNELS_LEFT', 'undelivered'],
    ['FAILED', undefined, 'undelivered'],
    ['FAILED', 'RECIPIENT_NOT_REACHABLE', 'failed'],
    ['FAILED', 'RECIPIENT_INVALID_CHANNEL_IDENTITY', 'failed'],
    ['FAILED', 'RECIPIENT_NOT_OPTED_IN', 'failed'],
    ['FAILED', 'CHANNEL_BAD_CONFIGURATION', 'failed'],
    ['SOMETHING_NEW', undefined, 'unknown'],
  ] as const)('maps %s (reason %s) to %s', (status, reason, expected) => {
    expect(mapSinchConversationStatus(status, reason)).toBe(expected);
    const patch: Record<string, unknown> = {
      status,
      reason: reason === undefined ? undefined : { code: reason, description: '', sub_code: 'UNSPECIFIED_SUB_CODE' },
    };
    expect(parseSinchConversationWebhook(report(patch))[0]).toMatchObject({ status: expected, rawStatus: status });
  });

  it('keeps the reason code of a failure as the error code, marking channel failures transient', () => {
    expect(parseSinchConversationWebhook(report({ status: 'FAILED', reason: { code: 'CHANNEL_FAILURE' } }))[0]).toMatchObject({
      errorCode: 'CHANNEL_FAILURE',
      transient: true,
    });
    expect(parseSinchConversationWebhook(report({ status: 'FAILED', reason: { code: 'DELIVERY_TIMED_OUT' } }))[0]).toMatchObject({
      errorCode: 'DELIVERY_TIMED_OUT',
      transient: false,
    });
    expect(
      parseSinchConversationWebhook(report({ status: 'SWITCHING_CHANNEL', reason: { code: 'RECIPIENT_NOT_REACHABLE' } }))[0],
    ).toMatchObject({ errorCode: 'RECIPIENT_NOT_REACHABLE' });
  });

  it('ignores the reason of a delivered receipt', () => {
    const [event] = parseSinchConversationWebhook(signed(RECEIPT));
    expect(event?.errorCode).toBeUndefined();
    expect(event?.transient).toBeUndefined();
  });

  it('flags RECIPIENT_NOT_REACHABLE on RCS as a handset without RCS', () => {
    expect(parseSinchConversationWebhook(report({ status: 'FAILED', reason: { code: 'RECIPIENT_NOT_REACHABLE' } }))[0]).toMatchObject({
      status: 'failed',
      recipientNotCapable: true,
      transient: false,
    });
    const sms = parseSinchConversationWebhook(
      report({ status: 'FAILED', reason: { code: 'RECIPIENT_NOT_REACHABLE' }, channel_identity: { channel: 'SMS', identity: '1' } }),
    )[0];
    expect(sms?.recipientNotCapable).toBeUndefined();
  });

  it('finds our message id in message_metadata, the report metadata, correlation_id, then the URL', () => {
    expect(parseSinchConversationWebhook(report({}, { message_metadata: 'm1', correlation_id: 'm2' }))[0]?.messageId).toBe('m1');
    expect(
      parseSinchConversationWebhook(report({ metadata: 'm3' }, { message_metadata: undefined, correlation_id: 'm2' }))[0]?.messageId,
    ).toBe('m3');
    expect(
      parseSinchConversationWebhook(report({ metadata: undefined }, { message_metadata: undefined, correlation_id: 'm2' }))[0]?.messageId,
    ).toBe('m2');
    const bare = {
      ...RECEIPT,
      message_metadata: undefined,
      correlation_id: undefined,
      message_delivery_report: { ...RECEIPT.message_delivery_report, metadata: undefined },
    };
    expect(
      parseSinchConversationWebhook(signed(bare, { url: 'https://gw.example.com/webhooks/sinch/conversation?sb=msg_from_url' }))[0]
        ?.messageId,
    ).toBe('msg_from_url');
  });

  it('uses the receive time when event_time is missing or unparsable', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    expect(parseSinchConversationWebhook(report({}, { event_time: 'yesterday' }), now)[0]?.occurredAt).toEqual(now);
  });

  it.each([
    ['an inbound message', { app_id: 'A', message: { id: 'x', contact_message: { text_message: { text: 'hi' } } } }],
    ['a capability notification', { app_id: 'A', capability_notification: { channel: 'RCS', capability_status: 'CAPABILITY_FULL' } }],
    ['a report without message_id', { message_delivery_report: { status: 'DELIVERED' } }],
    ['a JSON array', []],
    ['not JSON', 'definitely not json'],
  ])('yields nothing for %s', (_name, body) => {
    expect(parseSinchConversationWebhook(signed(body))).toEqual([]);
  });
});

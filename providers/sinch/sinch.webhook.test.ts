import { describe, expect, it } from 'vitest';
import type { CarrierStatus, WebhookRequest } from '../provider.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';
import { mapSinchStatus, parseSinchWebhook, verifySinchWebhook } from './sinch.webhook.ts';

const CREDS = SINCH_SANDBOX_CREDENTIALS;
const URL_WITH_REF = 'http://127.0.0.1:3000/webhooks/sinch?sb=msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9';
const BATCH = '01FC66621XXXXX119Z8PMV1QPQ';

const basic = (user: string, pass: string): string => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

/** The reference's recipient report (§2.2), with overrides. */
function report(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'recipient_delivery_report_sms',
    batch_id: BATCH,
    recipient: '46701234567',
    code: 0,
    status: 'Delivered',
    at: '2024-06-06T09:22:14.304Z',
    operator_status_at: '2024-06-06T09:22:00Z',
    client_reference: 'msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9',
    applied_originator: '+46700000000',
    encoding: 'GSM',
    number_of_message_parts: 1,
    operator: '24001',
    ...overrides,
  };
}

function request(
  body: unknown,
  authorization: string | null = basic(CREDS.callbackUsername, CREDS.callbackPassword),
  url = URL_WITH_REF,
): WebhookRequest {
  return {
    method: 'POST',
    publicUrl: url,
    headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
    query: Object.fromEntries(new URL(url).searchParams),
    rawBody: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

describe('verifySinchWebhook', () => {
  it('accepts the configured Basic credentials', () => {
    expect(verifySinchWebhook(CREDS, request(report()))).toBe(true);
  });

  it('accepts a lower-case scheme and a password containing colons', () => {
    const creds = { callbackUsername: 'u', callbackPassword: 'a:b:c' };
    expect(verifySinchWebhook(creds, request(report(), 'basic ' + Buffer.from('u:a:b:c').toString('base64')))).toBe(true);
  });

  it.each([
    ['a wrong password', basic(CREDS.callbackUsername, 'nope')],
    ['a wrong user', basic('someone', CREDS.callbackPassword)],
    ['a longer password with the right prefix', basic(CREDS.callbackUsername, `${CREDS.callbackPassword}x`)],
    ['no colon', 'Basic ' + Buffer.from('sinch-callback').toString('base64')],
    ['a Bearer token', `Bearer ${CREDS.callbackPassword}`],
    ['garbage', 'Basic !!!'],
    ['no header', null],
  ])('rejects %s', (_name, authorization) => {
    expect(verifySinchWebhook(CREDS, request(report(), authorization))).toBe(false);
  });

  it('rejects everything when no credentials are configured', () => {
    expect(verifySinchWebhook({ callbackUsername: '', callbackPassword: '' }, request(report(), basic('', '')))).toBe(false);
  });
});

describe('parseSinchWebhook', () => {
  const mapping: [string, CarrierStatus][] = [
    ['Queued', 'queued'],
    ['Dispatched', 'sent'],
    ['Unknown', 'sent'],
    ['Delivered', 'delivered'],
    ['Failed', 'undelivered'],
    ['Expired', 'undelivered'],
    ['Deleted', 'undelivered'],
    ['Rejected', 'failed'],
    ['Aborted', 'failed'],
    ['Cancelled', 'failed'],
    ['Exploded', 'unknown'],
    ['', 'unknown'],
  ];

  it.each(mapping)('maps status %j to %s', (rawStatus, status) => {
    const events = parseSinchWebhook(request(report({ status: rawStatus })));
    expect(events).toHaveLength(1);
    expect(events[0]?.status).toBe(status);
    expect(events[0]?.rawStatus).toBe(rawStatus);
  });

  it('does not treat Object.prototype names as statuses', () => {
    expect(mapSinchStatus('constructor')).toBe('unknown');
    expect(mapSinchStatus('toString')).toBe('unknown');
  });

  it('returns the batch id, our message id from client_reference and the report time', () => {
    expect(parseSinchWebhook(request(report()))).toEqual([
      {
        provider: 'sinch',
        providerMessageId: BATCH,
        messageId: 'msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9',
        status: 'delivered',
        rawStatus: 'Delivered',
        occurredAt: new Date('2024-06-06T09:22:14.304Z'),
      },
    ]);
  });

  it('falls back to the sb parameter of the callback URL without a client reference', () => {
    const body = report();
    delete body['client_reference'];
    expect(parseSinchWebhook(request(body))[0]?.messageId).toBe('msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9');
    expect(parseSinchWebhook({ ...request(body), query: {} })[0]?.messageId).toBe('msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9');
    expect(parseSinchWebhook(request(body, null, 'http://127.0.0.1:3000/webhooks/sinch'))[0]?.messageId).toBeUndefined();
  });

  it('uses the receive time when at is missing or malformed', () => {
    const now = new Date('2024-01-01T00:00:00Z');
    expect(parseSinchWebhook(request(report({ at: 'yesterday' })), now)[0]?.occurredAt).toEqual(now);
  });

  it('marks code 404 (temporary delivery failure) transient', () => {
    const [event] = parseSinchWebhook(request(report({ status: 'Failed', code: 404 })));
    expect(event).toMatchObject({ status: 'undelivered', errorCode: '404', transient: true });
  });

  it('keeps other failure codes as not transient', () => {
    const [event] = parseSinchWebhook(request(report({ status: 'Rejected', code: 408 })));
    expect(event).toMatchObject({ status: 'failed', errorCode: '408', transient: false });
  });

  it.each([0, 400, 401])('carries no error code for the non-error code %i', (code) => {
    const [event] = parseSinchWebhook(request(report({ status: 'Dispatched', code })));
    expect(event?.errorCode).toBeUndefined();
    expect(event?.transient).toBeUndefined();
  });

  it('maps a batch report to one event per status entry', () => {
    const body = {
      type: 'delivery_report_sms',
      batch_id: BATCH,
      client_reference: 'msg-42',
      total_message_count: 2,
      statuses: [
        { code: 0, status: 'Delivered', count: 1, recipients: ['46701234567'] },
        { code: 404, status: 'Failed', count: 1 },
      ],
    };
    const events = parseSinchWebhook(request(body));
    expect(events.map((e) => [e.status, e.errorCode, e.messageId])).toEqual([
      ['delivered', undefined, 'msg-42'],
      ['undelivered', '404', 'msg-42'],
    ]);
  });

  it.each([
    ['an inbound message', { type: 'mo_text', id: 'x', from: '4670', to: '4671', body: 'hi' }],
    ['an MMS report', { type: 'recipient_delivery_report_mms', batch_id: BATCH, status: 'Delivered', code: 0 }],
    ['a report without batch_id', { type: 'recipient_delivery_report_sms', status: 'Delivered', code: 0 }],
    ['an array', [report()]],
    ['invalid JSON', '{"type":'],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00]).toString('latin1')],
  ])('returns nothing for %s', (_name, body) => {
    expect(parseSinchWebhook(request(body))).toEqual([]);
  });
});

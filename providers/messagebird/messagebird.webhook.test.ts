import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { CarrierStatus, WebhookRequest } from '../provider.ts';
import { signMessageBirdRequest } from './sandbox/messagebird.emulator.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';
import { mapMessageBirdStatus, parseMessageBirdWebhook, verifyMessageBirdWebhook } from './messagebird.webhook.ts';

const KEY = MESSAGEBIRD_SANDBOX_CREDENTIALS.signingKey;
const BASE = 'http://127.0.0.1:3000/webhooks/messagebird?sb=msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9';

/** The reference's status report query (§3.2), with overrides. */
function reportUrl(overrides: Record<string, string> = {}, base = BASE): string {
  const url = new URL(base);
  const params: Record<string, string> = {
    id: 'eef0ab57a9e049be946f3821568c2b2e',
    reference: 'msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9',
    recipient: '31612345678',
    status: 'delivered',
    statusDatetime: '2019-01-11T09:17:11+00:00',
    statusReason: 'successfully delivered',
    statusErrorCode: '',
    mccmnc: '20408',
    ported: '1',
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  return url.toString();
}

function asRequest(
  url: string,
  headers: Record<string, string | undefined> = {},
  body: Buffer = Buffer.alloc(0),
  method = 'GET',
): WebhookRequest {
  return { method, publicUrl: url, headers, query: Object.fromEntries(new URL(url).searchParams), rawBody: body };
}

async function signed(url: string, body?: Buffer, key: string = KEY, now?: Date): Promise<WebhookRequest> {
  const jwt = await signMessageBirdRequest(key, url, body, now);
  return asRequest(url, { 'messagebird-signature-jwt': jwt }, body ?? Buffer.alloc(0), body === undefined ? 'GET' : 'POST');
}

interface ReferenceVector {
  name: string;
  method: string;
  secret?: string;
  url: string;
  payload?: string;
  timestamp: string;
  token: string;
  valid: boolean;
}

/** MessageBird's own signature test vectors, shipped inside the package. */
const require = createRequire(import.meta.url);
const vectors = JSON.parse(
  readFileSync(require.resolve('messagebird/lib/testdata/webhook-signature-jwt-reference.json'), 'utf8'),
) as ReferenceVector[];

describe('verifyMessageBirdWebhook', () => {
  it('accepts a GET report signed over its full URL', async () => {
    expect(await verifyMessageBirdWebhook(KEY, await signed(reportUrl()))).toBe(true);
  });

  it('accepts a POST whose body is covered by payload_hash', async () => {
    expect(await verifyMessageBirdWebhook(KEY, await signed(BASE, Buffer.from('{"id":"x"}')))).toBe(true);
  });

  it('rejects a tampered query parameter', async () => {
    const raw = await signed(reportUrl());
    const tampered = reportUrl({ status: 'delivery_failed' });
    expect(
      await verifyMessageBirdWebhook(KEY, { ...raw, publicUrl: tampered, query: Object.fromEntries(new URL(tampered).searchParams) }),
    ).toBe(false);
  });

  it('rejects the same report checked against another origin', async () => {
    const raw = await signed(reportUrl());
    expect(await verifyMessageBirdWebhook(KEY, { ...raw, publicUrl: raw.publicUrl.replace('127.0.0.1:3000', 'gateway.example.com') })).toBe(
      false,
    );
  });

  it('rejects a body added in transit and a body changed in transit', async () => {
    const get = await signed(reportUrl());
    expect(await verifyMessageBirdWebhook(KEY, { ...get, rawBody: Buffer.from('x') })).toBe(false);
    const post = await signed(BASE, Buffer.from('{"id":"x"}'));
    expect(await verifyMessageBirdWebhook(KEY, { ...post, rawBody: Buffer.from('{"id":"y"}') })).toBe(false);
  });

  it('rejects a token signed with another key, a missing header and an empty key', async () => {
    expect(await verifyMessageBirdWebhook(KEY, await signed(reportUrl(), undefined, 'another-key'))).toBe(false);
    expect(await verifyMessageBirdWebhook(KEY, asRequest(reportUrl()))).toBe(false);
    expect(await verifyMessageBirdWebhook('', await signed(reportUrl(), undefined, ''))).toBe(false);
  });

  it('rejects an expired token and accepts one within the clock tolerance', async () => {
    const issued = new Date('2024-06-06T09:00:00Z');
    const raw = await signed(reportUrl(), undefined, KEY, issued);
    expect(await verifyMessageBirdWebhook(KEY, raw, new Date(issued.getTime() + 64_000))).toBe(true);
    expect(await verifyMessageBirdWebhook(KEY, raw, new Date(issued.getTime() + 66_000))).toBe(false);
    expect(await verifyMessageBirdWebhook(KEY, raw, new Date(issued.getTime() - 6_000))).toBe(false);
  });

  it('rejects garbage tokens without throwing', async () => {
    expect(await verifyMessageBirdWebhook(KEY, asRequest(reportUrl(), { 'messagebird-signature-jwt': 'not.a.jwt' }))).toBe(false);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('agrees with MessageBird’s reference vector: %s', async (_name, v) => {
    const raw = asRequest(
      v.url,
      { 'messagebird-signature-jwt': v.token },
      v.payload === undefined ? Buffer.alloc(0) : Buffer.from(v.payload, 'utf8'),
      v.method,
    );
    // "payload was removed in transit" vectors pass an empty payload where a hash is claimed: still invalid.
    expect(await verifyMessageBirdWebhook(v.secret ?? '', raw, new Date(v.timestamp))).toBe(v.valid);
  });
});

describe('parseMessageBirdWebhook', () => {
  const mapping: [string, string | undefined, CarrierStatus][] = [
    ['scheduled', undefined, 'queued'],
    ['sent', undefined, 'sent'],
    ['buffered', undefined, 'sent'],
    ['delivered', undefined, 'delivered'],
    ['expired', 'expired', 'undelivered'],
    ['delivery_failed', 'unknown subscriber', 'undelivered'],
    ['delivery_failed', 'unavailable subscriber', 'undelivered'],
    ['delivery_failed', 'insufficient balance', 'failed'],
    ['delivery_failed', 'carrier rejected', 'failed'],
    ['delivery_failed', 'opted out', 'failed'],
    ['exploded', undefined, 'unknown'],
    ['', undefined, 'unknown'],
  ];

  it.each(mapping)('maps status %j (reason %j) to %s', (rawStatus, reason, status) => {
    const events = parseMessageBirdWebhook(
      asRequest(reportUrl({ status: rawStatus, ...(reason === undefined ? {} : { statusReason: reason }) })),
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.status).toBe(status);
    expect(events[0]?.rawStatus).toBe(rawStatus);
  });

  it('does not treat Object.prototype names as statuses', () => {
    expect(mapMessageBirdStatus('constructor')).toBe('unknown');
    expect(mapMessageBirdStatus('__proto__')).toBe('unknown');
  });

  it('returns the message id, our reference and statusDatetime', () => {
    expect(parseMessageBirdWebhook(asRequest(reportUrl()))).toEqual([
      {
        provider: 'messagebird',
        providerMessageId: 'eef0ab57a9e049be946f3821568c2b2e',
        messageId: 'msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9',
        status: 'delivered',
        rawStatus: 'delivered',
        occurredAt: new Date('2019-01-11T09:17:11Z'),
      },
    ]);
  });

  it('reads the report from the public URL when the query map is empty', () => {
    const [event] = parseMessageBirdWebhook({ ...asRequest(reportUrl()), query: {} });
    expect(event?.providerMessageId).toBe('eef0ab57a9e049be946f3821568c2b2e');
  });

  it('falls back to the sb parameter without a reference', () => {
    const [event] = parseMessageBirdWebhook(asRequest(reportUrl({ reference: '' })));
    expect(event?.messageId).toBe('msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9');
  });

  it('marks absent subscriber (27) transient and unknown subscriber (1) not', () => {
    expect(
      parseMessageBirdWebhook(
        asRequest(reportUrl({ status: 'delivery_failed', statusReason: 'unavailable subscriber', statusErrorCode: '27' })),
      )[0],
    ).toMatchObject({
      status: 'undelivered',
      errorCode: '27',
      transient: true,
    });
    expect(
      parseMessageBirdWebhook(
        asRequest(reportUrl({ status: 'delivery_failed', statusReason: 'unknown subscriber', statusErrorCode: '1' })),
      )[0],
    ).toMatchObject({
      errorCode: '1',
      transient: false,
    });
  });

  it('marks a transient reason without an error code', () => {
    const [event] = parseMessageBirdWebhook(asRequest(reportUrl({ status: 'delivery_failed', statusReason: 'unavailable subscriber' })));
    expect(event?.errorCode).toBeUndefined();
    expect(event?.transient).toBe(true);
  });

  it('carries the price as cost', () => {
    const [event] = parseMessageBirdWebhook(asRequest(reportUrl({ 'price[amount]': '0.0075', 'price[currency]': 'EUR' })));
    expect(event?.cost).toEqual({ amount: 0.0075, currency: 'EUR' });
  });

  it('uses the receive time when statusDatetime is malformed', () => {
    const now = new Date('2024-01-01T00:00:00Z');
    expect(parseMessageBirdWebhook(asRequest(reportUrl({ statusDatetime: 'soon' })), now)[0]?.occurredAt).toEqual(now);
  });

  it('reads a report POSTed as a form or as JSON', () => {
    const form = new URLSearchParams({ id: 'abc', status: 'sent', reference: 'msg_1' }).toString();
    expect(
      parseMessageBirdWebhook(
        asRequest('http://x/webhooks/messagebird', { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(form), 'POST'),
      )[0],
    ).toMatchObject({
      providerMessageId: 'abc',
      status: 'sent',
      messageId: 'msg_1',
    });
    const json = JSON.stringify({ id: 'def', status: 'delivered', reference: 'msg_2', statusErrorCode: 0 });
    expect(
      parseMessageBirdWebhook(
        asRequest('http://x/webhooks/messagebird', { 'content-type': 'application/json' }, Buffer.from(json), 'POST'),
      )[0],
    ).toMatchObject({
      providerMessageId: 'def',
      status: 'delivered',
      messageId: 'msg_2',
    });
  });

  it.each([
    ['a report without id', asRequest('http://x/webhooks/messagebird?status=delivered')],
    ['a malformed URL and no query', { method: 'GET', publicUrl: '::', headers: {}, query: {}, rawBody: Buffer.alloc(0) }],
    ['invalid JSON', asRequest('http://x/webhooks/messagebird', { 'content-type': 'application/json' }, Buffer.from('{"id":'), 'POST')],
  ] as [string, WebhookRequest][])('returns nothing for %s', (_name, raw) => {
    expect(parseMessageBirdWebhook(raw)).toEqual([]);
  });
});

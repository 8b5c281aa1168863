import twilio from 'twilio';
import { expectClassified as expectProviderClassified, type ExpectedClassification as Expected } from '../sandbox-kit/expect-classified.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.ts';
import { classifyTwilioError, twilioDlrErrorTransient } from './twilio.errors.ts';
import { startTwilioEmulator } from './sandbox/twilio.fixtures.ts';
import type { RunningEmulator } from './sandbox/twilio.fixtures.ts';
import { BaseUrlRequestClient, runTwilioCall } from './twilio.request-client.ts';
import type { TwilioCallContext } from './twilio.request-client.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';

const expectClassified = (err: ProviderError, expected: Expected): void => expectProviderClassified('twilio', err, expected);

describe('classifyTwilioError with real error bodies from the real SDK', () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTwilioEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });

  /** Sends through the real SDK and returns what it threw, plus the call context. */
  async function sdkFailure(
    to: string,
    creds: { accountSid: string; authToken: string } = TWILIO_SANDBOX_CREDENTIALS,
  ): Promise<{ err: unknown; ctx: TwilioCallContext }> {
    const client = twilio(creds.accountSid, creds.authToken, {
      httpClient: new BaseUrlRequestClient({ baseUrl: emulator.baseUrl, timeoutMs: 2_000 }),
    });
    const ctx: TwilioCallContext = {};
    try {
      await runTwilioCall(ctx, () => client.messages.create({ to, from: '+15005550006', body: 'Your code is 123456' }));
    } catch (err) {
      return { err, ctx };
    }
    throw new Error(`expected the send to ${to} to fail`);
  }

  const magic: [string, string, Expected][] = [
    ['invalid number', '+15005550001', { kind: 'permanent', scope: 'recipient', providerCode: '21211', httpStatus: 400 }],
    ['unroutable number', '+15005550002', { kind: 'permanent', scope: 'provider', providerCode: '21612', httpStatus: 400 }],
    ['no geo permission', '+15005550003', { kind: 'permanent', scope: 'provider', providerCode: '21408', httpStatus: 400 }],
    ['opted-out recipient', '+15005550004', { kind: 'permanent', scope: 'recipient', providerCode: '21610', httpStatus: 400 }],
    ['number that is not SMS-capable', '+15005550009', { kind: 'permanent', scope: 'channel', providerCode: '21614', httpStatus: 400 }],
  ];

  it.each(magic)('classifies the %s', async (_name, to, expected) => {
    const { err } = await sdkFailure(to);
    expect(err).toBeInstanceOf(twilio.RestException);
    const classified = classifyTwilioError(err);
    expectClassified(classified, expected);
    // The carrier's own message survives for operators.
    expect(classified.message).toContain((err as { message: string }).message);
  });

  it('classifies wrong credentials as auth', async () => {
    const { err } = await sdkFailure('+14155550100', { accountSid: TWILIO_SANDBOX_CREDENTIALS.accountSid, authToken: 'wrong-token' });
    expectClassified(classifyTwilioError(err), { kind: 'auth', providerCode: '20003', httpStatus: 401 });
  });

  it('classifies an outage 503 as retryable', async () => {
    emulator.control.set('twilio', { outage: true });
    try {
      const { err } = await sdkFailure('+14155550100');
      expectClassified(classifyTwilioError(err), { kind: 'retryable', providerCode: '20503', httpStatus: 503 });
    } finally {
      emulator.control.set('twilio', { outage: false });
    }
  });

  it('classifies a 429 as rate_limited and reads Retry-After through the call context', async () => {
    emulator.control.set('twilio', { errorRate: 1, errorStatus: 429, retryAfterSec: 3 });
    try {
      const { err, ctx } = await sdkFailure('+14155550100');
      expect(ctx.retryAfter).toBe('3');
      expect(ctx.httpStatus).toBe(429);
      expectClassified(classifyTwilioError(err, { retryAfter: ctx.retryAfter ?? '' }), {
        kind: 'rate_limited',
        providerCode: '20429',
        httpStatus: 429,
        retryAfterMs: 3_000,
      });
      // The SDK's exception alone does not carry the header.
      expect(classifyTwilioError(err).retryAfterMs).toBeUndefined();
    } finally {
      emulator.control.set('twilio', { errorRate: 0, errorStatus: 503 });
    }
  });
});

describe('classifyTwilioError with constructed values', () => {
  const rest = (statusCode: number, code: number | undefined, message = 'carrier says no'): unknown =>
    new twilio.RestException({
      statusCode,
      body: code === undefined ? {} : { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: statusCode },
    });

  const table: [string, unknown, Expected][] = [
    ['21211 invalid number', rest(400, 21211), { kind: 'permanent', scope: 'recipient', providerCode: '21211', httpStatus: 400 }],
    ['21610 opted out', rest(400, 21610), { kind: 'permanent', scope: 'recipient', providerCode: '21610' }],
    ['21614 not a mobile number', rest(400, 21614), { kind: 'permanent', scope: 'channel', providerCode: '21614' }],
    ['21635 landline', rest(400, 21635), { kind: 'permanent', scope: 'channel', providerCode: '21635' }],
    ['63106 not RCS-capable', rest(400, 63106), { kind: 'permanent', scope: 'channel', providerCode: '63106' }],
    ['21612 unroutable from this sender', rest(400, 21612), { kind: 'permanent', scope: 'provider', providerCode: '21612' }],
    ['21408 geo permission', rest(400, 21408), { kind: 'permanent', scope: 'provider', providerCode: '21408' }],
    ['21606 sender not capable', rest(400, 21606), { kind: 'permanent', scope: 'provider', providerCode: '21606' }],
    ['30034 unregistered 10DLC', rest(400, 30034), { kind: 'permanent', scope: 'provider', providerCode: '30034' }],
    ['20003 authentication', rest(401, 20003), { kind: 'auth', providerCode: '20003', httpStatus: 401 }],
    ['403 without a known code', rest(403, 20403), { kind: 'auth', httpStatus: 403 }],
    ['20429 too many requests', rest(429, 20429), { kind: 'rate_limited', providerCode: '20429' }],
    ['429 with an empty body', rest(429, undefined), { kind: 'rate_limited', httpStatus: 429 }],
    ['500 internal error', rest(500, 20500), { kind: 'retryable', providerCode: '20500' }],
    ['503 without a body', rest(503, undefined), { kind: 'retryable', httpStatus: 503 }],
    ['408 request timeout', rest(408, undefined), { kind: 'retryable', ambiguous: true }],
    ['an unknown 4xx code', rest(400, 21999), { kind: 'permanent', scope: 'provider', providerCode: '21999' }],
    [
      'an RFC 9457 TwilioServiceException',
      {
        name: 'TwilioServiceException',
        type: 'https://www.twilio.com/docs/errors/21211',
        title: 'Invalid To',
        status: 400,
        code: 21211,
        detail: 'bad number',
      },
      { kind: 'permanent', scope: 'recipient', providerCode: '21211' },
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      { kind: 'retryable', providerCode: 'ECONNREFUSED' },
    ],
    ['an unresolvable host', Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), { kind: 'retryable' }],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { kind: 'retryable', ambiguous: true }],
    [
      'an axios timeout',
      Object.assign(new Error('timeout of 100ms exceeded'), { code: 'ECONNABORTED', status: undefined }),
      { kind: 'retryable', ambiguous: true },
    ],
    [
      'an aborted request',
      Object.assign(new Error('canceled'), { code: 'ERR_CANCELED', name: 'CanceledError' }),
      { kind: 'retryable', ambiguous: true },
    ],
    ['an unexpected error', new TypeError('boom'), { kind: 'retryable', ambiguous: true }],
    ['a thrown string', 'weird', { kind: 'retryable', ambiguous: true }],
  ];

  it.each(table)('classifies %s', (_name, err, expected) => {
    expectClassified(classifyTwilioError(err), expected);
  });

  it('keeps the carrier message and reads Retry-After from a hint', () => {
    const err = classifyTwilioError(rest(429, 20429, 'Too Many Requests'), { retryAfter: '2' });
    expect(err.message).toContain('Too Many Requests');
    expect(err.retryAfterMs).toBe(2_000);
  });

  it('reads Retry-After from headers carried by the error itself', () => {
    const err = classifyTwilioError({ status: 429, code: 20429, message: 'slow down', headers: { 'retry-after': '5' } });
    expect(err.retryAfterMs).toBe(5_000);
  });

  it('passes a ProviderError through unchanged', () => {
    const original = new ProviderError('already classified', { kind: 'auth', provider: 'twilio' });
    expect(classifyTwilioError(original)).toBe(original);
  });
});

describe('twilioDlrErrorTransient', () => {
  it.each([
    ['30003', true],
    [30003, true],
    ['30001', true],
    ['30008', true],
    ['30004', false],
    ['30005', false],
    ['30006', false],
    ['30007', false],
    ['21610', false],
    [undefined, false],
    ['not-a-code', false],
  ] as const)('says %s is transient: %s', (code, transient) => {
    expect(twilioDlrErrorTransient(code)).toBe(transient);
  });
});

import { EmptyResponseError, RequestFailedError, ResponseJSONParseError, SinchClient } from '@sinch/sdk-core';
import { expectClassified as expectProviderClassified, type ExpectedClassification as Expected } from '../sandbox-kit/expect-classified.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.ts';
import { classifySinchError, parseSinchErrorData, sinchDlrErrorTransient } from './sinch.errors.ts';
import { startSinchEmulator } from './sandbox/sinch.fixtures.ts';
import type { RunningEmulator } from './sandbox/sinch.fixtures.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';

const expectClassified = (err: ProviderError, expected: Expected): void => expectProviderClassified('sinch', err, expected);

const CONTEXT = { apiName: 'SMS', operationId: 'SendSMS', url: 'https://us.sms.api.sinch.com/xms/v1/sp/batches' };

describe('classifySinchError with real errors from the real SDK', () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startSinchEmulator();
    emulator.control.set('sinch', { dlr: 'none' });
  });
  afterAll(async () => {
    await emulator.close();
  });

  /** Sends through the real SDK and returns what it threw. */
  async function sdkFailure(to: string, apiToken: string = SINCH_SANDBOX_CREDENTIALS.apiToken): Promise<unknown> {
    const client = new SinchClient({
      servicePlanId: SINCH_SANDBOX_CREDENTIALS.servicePlanId,
      apiToken,
      smsHostname: emulator.baseUrl,
      logger: null,
    });
    try {
      await client.sms.batches.send({ sendSMSRequestBody: { to: [to], from: '+15005550006', body: 'Your code is 123456' } });
    } catch (err) {
      return err;
    }
    throw new Error(`expected the send to ${to} to fail`);
  }

  it.each([
    [
      'invalid number',
      '+15005550001',
      { kind: 'permanent', scope: 'recipient', providerCode: 'syntax_invalid_parameter_format', httpStatus: 400 },
    ],
    [
      'number that is not SMS-capable',
      '+15005550009',
      { kind: 'permanent', scope: 'channel', providerCode: 'illegal_number_type', httpStatus: 403 },
    ],
    [
      'unprovisioned region',
      '+15005550003',
      { kind: 'permanent', scope: 'provider', providerCode: 'unprovisioned_region', httpStatus: 403 },
    ],
  ] as [string, string, Expected][])('classifies the %s', async (_name, to, expected) => {
    const err = await sdkFailure(to);
    expect(err).toBeInstanceOf(RequestFailedError);
    // The SDK hands the body back as a pretty-printed JSON string.
    expect((err as RequestFailedError<unknown>).data).toContain('\n');
    expectClassified(classifySinchError(err), expected);
  });

  it('keeps the carrier text in the message', async () => {
    expect(classifySinchError(await sdkFailure('+15005550001')).message).toContain('Invalid parameter format: to');
  });

  it('classifies a wrong token as auth', async () => {
    expectClassified(classifySinchError(await sdkFailure('+14155550100', 'wrong-token')), { kind: 'auth', httpStatus: 401 });
  });

  it('classifies an outage 503 as retryable', async () => {
    emulator.control.set('sinch', { outage: true });
    try {
      expectClassified(classifySinchError(await sdkFailure('+14155550100')), {
        kind: 'retryable',
        providerCode: 'service_unavailable',
        httpStatus: 503,
      });
    } finally {
      emulator.control.set('sinch', { outage: false });
    }
  });

  it('classifies a 429 as rate_limited with Retry-After from the response headers', async () => {
    emulator.control.set('sinch', { errorRate: 1, errorStatus: 429, retryAfterSec: 3 });
    try {
      const err = await sdkFailure('+14155550100');
      expect((err as RequestFailedError<unknown>).responseHeaders?.['retry-after']).toBe('3');
      expectClassified(classifySinchError(err), { kind: 'rate_limited', httpStatus: 429, retryAfterMs: 3_000 });
    } finally {
      emulator.control.set('sinch', { errorRate: 0, errorStatus: 503 });
    }
  });

  it('classifies a refused connection through the SDK as retryable, reading the code from the text', async () => {
    const client = new SinchClient({ ...SINCH_SANDBOX_CREDENTIALS, smsHostname: 'http://127.0.0.1:1', logger: null });
    const err = await client.sms.batches.send({ sendSMSRequestBody: { to: ['+14155550100'], body: 'x' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EmptyResponseError);
    expectClassified(classifySinchError(err), { kind: 'retryable', providerCode: 'ECONNREFUSED' });
  });
});

describe('classifySinchError with constructed values', () => {
  const failed = (status: number, body: unknown, headers?: Record<string, string>): unknown =>
    new RequestFailedError('Some Status', status, CONTEXT, body, headers);

  const table: [string, unknown, Expected][] = [
    [
      'an invalid to',
      failed(400, { code: 'syntax_invalid_parameter_format', text: 'Invalid parameter format: to' }),
      { kind: 'permanent', scope: 'recipient', providerCode: 'syntax_invalid_parameter_format', httpStatus: 400 },
    ],
    [
      'an invalid MSISDN',
      failed(400, { code: 'syntax_invalid_parameter_format', text: "Invalid MSISDN '123'" }),
      { kind: 'permanent', scope: 'recipient' },
    ],
    [
      'an invalid callback_url',
      failed(400, { code: 'syntax_invalid_parameter_format', text: 'Invalid parameter format: callback_url' }),
      { kind: 'permanent', scope: 'provider' },
    ],
    ['an invalid format without text', failed(400, { code: 'syntax_invalid_parameter_format' }), { kind: 'permanent', scope: 'provider' }],
    [
      'unprovisioned_region',
      failed(403, { code: 'unprovisioned_region', text: 'not provisioned' }),
      { kind: 'permanent', scope: 'provider', providerCode: 'unprovisioned_region', httpStatus: 403 },
    ],
    ['illegal_number_type', failed(403, { code: 'illegal_number_type', text: 'landline' }), { kind: 'permanent', scope: 'channel' }],
    ['blocked_account', failed(403, { code: 'blocked_account', text: 'blocked' }), { kind: 'permanent', scope: 'provider' }],
    ['syntax_invalid_json', failed(400, { code: 'syntax_invalid_json', text: 'bad json' }), { kind: 'permanent', scope: 'provider' }],
    ['missing_parameter', failed(403, { code: 'missing_parameter', text: 'from' }), { kind: 'permanent', scope: 'provider' }],
    ['401 unauthorized', failed(401, { code: 'unauthorized', text: 'Unauthorized' }), { kind: 'auth', httpStatus: 401 }],
    ['403 with an unknown code', failed(403, { code: 'forbidden', text: 'no' }), { kind: 'auth', httpStatus: 403 }],
    ['429 with Retry-After', failed(429, {}, { 'retry-after': '7' }), { kind: 'rate_limited', retryAfterMs: 7_000 }],
    ['429 without Retry-After', failed(429, {}), { kind: 'rate_limited' }],
    ['500', failed(500, { code: 'internal_error', text: 'oops' }), { kind: 'retryable', httpStatus: 500 }],
    [
      'a non-JSON 502',
      new ResponseJSONParseError('Unexpected token <', 502, CONTEXT, '<html>Bad Gateway</html>'),
      { kind: 'retryable', httpStatus: 502 },
    ],
    ['408', failed(408, {}), { kind: 'retryable', ambiguous: true }],
    [
      'an unknown 4xx',
      failed(404, { code: 'not_found', text: 'nope' }),
      { kind: 'permanent', scope: 'provider', providerCode: 'not_found' },
    ],
    [
      'a refused connection',
      new EmptyResponseError('request to http://127.0.0.1:1/x failed, reason: connect ECONNREFUSED 127.0.0.1:1', CONTEXT),
      { kind: 'retryable', providerCode: 'ECONNREFUSED' },
    ],
    [
      'an unresolvable host',
      new EmptyResponseError('request to https://x failed, reason: getaddrinfo ENOTFOUND x', CONTEXT),
      { kind: 'retryable', providerCode: 'ENOTFOUND' },
    ],
    [
      'a reset connection',
      new EmptyResponseError('request to https://x failed, reason: read ECONNRESET', CONTEXT),
      { kind: 'retryable', ambiguous: true, providerCode: 'ECONNRESET' },
    ],
    [
      'a socket hang up',
      new EmptyResponseError('request to https://x failed, reason: socket hang up', CONTEXT),
      { kind: 'retryable', ambiguous: true },
    ],
    ['a node-fetch timeout', new EmptyResponseError('network timeout at: https://x', CONTEXT), { kind: 'retryable', ambiguous: true }],
    ['an aborted request', new EmptyResponseError('The user aborted a request.', CONTEXT), { kind: 'retryable', ambiguous: true }],
    [
      'an error with its own code',
      Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      { kind: 'retryable', providerCode: 'ECONNREFUSED' },
    ],
    ['an unexpected error', new TypeError('boom'), { kind: 'retryable', ambiguous: true }],
    ['a thrown string', 'weird', { kind: 'retryable', ambiguous: true }],
  ];

  it.each(table)('classifies %s', (_name, err, expected) => {
    expectClassified(classifySinchError(err), expected);
  });

  it('passes a ProviderError through unchanged', () => {
    const original = new ProviderError('already classified', { kind: 'auth', provider: 'sinch' });
    expect(classifySinchError(original)).toBe(original);
  });
});

describe('parseSinchErrorData', () => {
  it.each([
    ['a pretty-printed body', JSON.stringify({ code: 'x', text: 'y' }, null, 2), { code: 'x', text: 'y' }],
    ['JSON of a raw text body', JSON.stringify('<html>'), {}],
    ['JSON of a JSON text body', JSON.stringify(JSON.stringify({ code: 'x' })), { code: 'x' }],
    ['an empty object', '{}', {}],
    ['not JSON', 'nope', {}],
    ['undefined', undefined, {}],
    ['wrongly typed fields', JSON.stringify({ code: 4, text: null }), {}],
  ])('reads %s', (_name, data, expected) => {
    expect(parseSinchErrorData(data)).toEqual(expected);
  });
});

describe('sinchDlrErrorTransient', () => {
  it.each([
    [404, true],
    ['404', true],
    [402, false],
    [408, false],
    [0, false],
    [undefined, false],
    ['nope', false],
  ] as const)('says %s is transient: %s', (code, transient) => {
    expect(sinchDlrErrorTransient(code)).toBe(transient);
  });
});

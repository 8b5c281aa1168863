import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClassified as expectProviderClassified, type ExpectedClassification as Expected } from '../sandbox-kit/expect-classified.ts';
import { ProviderError } from '../errors.ts';
import { MessageBirdApiError, MessageBirdResponseError, createMessageBirdClient, parseMessageBirdErrors } from './messagebird.client.ts';
import { classifyMessageBirdError, messagebirdDlrErrorTransient } from './messagebird.errors.ts';
import { closedPortUrl, startMessageBirdEmulator } from './sandbox/messagebird.fixtures.ts';
import type { RunningEmulator } from './sandbox/messagebird.fixtures.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';

const expectClassified = (err: ProviderError, expected: Expected): void => expectProviderClassified('messagebird', err, expected);

const apiError = (status: number, code?: number, parameter: string | null = null, retryAfter?: string): MessageBirdApiError =>
  new MessageBirdApiError(status, code === undefined ? [] : [{ code, description: 'carrier says no', parameter }], retryAfter);

describe('classifyMessageBirdError with real answers from the emulator', () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startMessageBirdEmulator();
    emulator.control.set('messagebird', { dlr: 'none' });
  });
  afterAll(async () => {
    await emulator.close();
  });

  async function clientFailure(
    recipient: string,
    accessKey: string = MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey,
    baseUrl = emulator.baseUrl,
  ): Promise<unknown> {
    const client = createMessageBirdClient({ baseUrl, accessKey });
    try {
      await client.createMessage({ recipients: [recipient], originator: '+15005550006', body: 'Your code is 123456' });
    } catch (err) {
      return err;
    }
    throw new Error(`expected the send to ${recipient} to fail`);
  }

  it('classifies the invalid number as permanent/recipient, keeping the description', async () => {
    const err = await clientFailure('15005550001');
    expect(err).toBeInstanceOf(MessageBirdApiError);
    const classified = classifyMessageBirdError(err);
    expectClassified(classified, { kind: 'permanent', scope: 'recipient', providerCode: '10', httpStatus: 422 });
    expect(classified.message).toContain('recipient is invalid');
  });

  it('classifies a wrong access key as auth', async () => {
    expectClassified(classifyMessageBirdError(await clientFailure('14155550100', 'wrong')), {
      kind: 'auth',
      providerCode: '2',
      httpStatus: 401,
    });
  });

  it('classifies an outage 503 as retryable', async () => {
    emulator.control.set('messagebird', { outage: true });
    try {
      expectClassified(classifyMessageBirdError(await clientFailure('14155550100')), {
        kind: 'retryable',
        providerCode: '99',
        httpStatus: 503,
      });
    } finally {
      emulator.control.set('messagebird', { outage: false });
    }
  });

  it('classifies a 429 as rate_limited with Retry-After', async () => {
    emulator.control.set('messagebird', { errorRate: 1, errorStatus: 429, retryAfterSec: 3 });
    try {
      const err = await clientFailure('14155550100');
      expect((err as MessageBirdApiError).retryAfter).toBe('3');
      expectClassified(classifyMessageBirdError(err), { kind: 'rate_limited', providerCode: '99', httpStatus: 429, retryAfterMs: 3_000 });
    } finally {
      emulator.control.set('messagebird', { errorRate: 0, errorStatus: 503 });
    }
  });

  it('classifies what fetch throws for a closed port as retryable, not ambiguous', async () => {
    const err = await clientFailure('14155550100', MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey, await closedPortUrl());
    expect(err).toBeInstanceOf(TypeError);
    expectClassified(classifyMessageBirdError(err), { kind: 'retryable', providerCode: 'ECONNREFUSED' });
  });
});

describe('classifyMessageBirdError with constructed values', () => {
  const withCause = (cause: unknown): unknown => new TypeError('fetch failed', { cause });

  const table: [string, unknown, Expected][] = [
    [
      '422 code 10 on recipient',
      apiError(422, 10, 'recipient'),
      { kind: 'permanent', scope: 'recipient', providerCode: '10', httpStatus: 422 },
    ],
    ['422 code 10 on recipients', apiError(422, 10, 'recipients'), { kind: 'permanent', scope: 'recipient' }],
    ['422 code 9 on recipient', apiError(422, 9, 'recipient'), { kind: 'permanent', scope: 'recipient', providerCode: '9' }],
    ['422 code 10 on originator', apiError(422, 10, 'originator'), { kind: 'permanent', scope: 'provider' }],
    ['422 code 9 without parameter', apiError(422, 9), { kind: 'permanent', scope: 'provider' }],
    ['422 code 25 not enough balance', apiError(422, 25), { kind: 'permanent', scope: 'provider', providerCode: '25' }],
    ['401 code 2', apiError(401, 2, 'access_key'), { kind: 'auth', providerCode: '2', httpStatus: 401 }],
    ['403 without a body', apiError(403), { kind: 'auth', httpStatus: 403 }],
    ['422 code 2', apiError(422, 2), { kind: 'auth' }],
    ['429 with Retry-After', apiError(429, undefined, null, '4'), { kind: 'rate_limited', retryAfterMs: 4_000 }],
    ['500 code 99', apiError(500, 99), { kind: 'retryable', providerCode: '99' }],
    ['502 without a body', apiError(502), { kind: 'retryable', httpStatus: 502 }],
    ['422 code 99', apiError(422, 99), { kind: 'retryable' }],
    ['408', apiError(408), { kind: 'retryable', ambiguous: true }],
    ['404 code 20', apiError(404, 20), { kind: 'permanent', scope: 'provider' }],
    ['an unknown 4xx code', apiError(400, 1234), { kind: 'permanent', scope: 'provider', providerCode: '1234' }],
    ['an unreadable 201', new MessageBirdResponseError(201, 'not JSON'), { kind: 'retryable', ambiguous: true, httpStatus: 201 }],
    [
      'a refused connection',
      withCause(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      { kind: 'retryable', providerCode: 'ECONNREFUSED' },
    ],
    [
      'refused on every address',
      withCause(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })])),
      { kind: 'retryable', providerCode: 'ECONNREFUSED' },
    ],
    ['an unresolvable host', withCause(Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' })), { kind: 'retryable' }],
    [
      'a connect timeout',
      withCause(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
      { kind: 'retryable', providerCode: 'UND_ERR_CONNECT_TIMEOUT' },
    ],
    [
      'a closed socket',
      withCause(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })),
      { kind: 'retryable', ambiguous: true },
    ],
    [
      'a reset connection',
      withCause(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })),
      { kind: 'retryable', ambiguous: true },
    ],
    [
      'a headers timeout',
      withCause(Object.assign(new Error('headers'), { code: 'UND_ERR_HEADERS_TIMEOUT' })),
      { kind: 'retryable', ambiguous: true },
    ],
    [
      'a TimeoutError',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      { kind: 'retryable', ambiguous: true },
    ],
    ['an AbortError', new DOMException('This operation was aborted', 'AbortError'), { kind: 'retryable', ambiguous: true }],
    ['an unexpected error', new RangeError('boom'), { kind: 'retryable', ambiguous: true }],
    ['a thrown string', 'weird', { kind: 'retryable', ambiguous: true }],
  ];

  it.each(table)('classifies %s', (_name, err, expected) => {
    expectClassified(classifyMessageBirdError(err), expected);
  });

  it('passes a ProviderError through unchanged', () => {
    const original = new ProviderError('already classified', { kind: 'auth', provider: 'messagebird' });
    expect(classifyMessageBirdError(original)).toBe(original);
  });
});

describe('parseMessageBirdErrors', () => {
  it.each([
    [
      'the reference body',
      '{"errors":[{"code":9,"description":"no (correct) recipients found","parameter":"recipient"}]}',
      [{ code: 9, description: 'no (correct) recipients found', parameter: 'recipient' }],
    ],
    [
      'a null parameter',
      '{"errors":[{"code":99,"description":"internal error","parameter":null}]}',
      [{ code: 99, description: 'internal error', parameter: null }],
    ],
    ['entries without a numeric code', '{"errors":[{"code":"9"},{"code":10}]}', [{ code: 10, description: '', parameter: null }]],
    ['HTML', '<html>502</html>', []],
    ['an object without errors', '{}', []],
  ])('reads %s', (_name, text, expected) => {
    expect(parseMessageBirdErrors(text)).toEqual(expected);
  });
});

describe('messagebirdDlrErrorTransient', () => {
  it.each([
    ['27', undefined, true],
    [34, undefined, true],
    ['1', 'unknown subscriber', false],
    ['', 'unavailable subscriber', true],
    [undefined, 'received network error', true],
    [undefined, 'Capacity limit reached', true],
    [undefined, 'opted out', false],
    [undefined, undefined, false],
  ] as const)('says code %j with reason %j is transient: %s', (code, reason, transient) => {
    expect(messagebirdDlrErrorTransient(code, reason)).toBe(transient);
  });
});

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FirebaseAppError } from 'firebase-admin/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, isProviderError } from '../errors.ts';
import type { ProviderErrorKind, ProviderErrorScope } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { createFcmAdapter } from './fcm.adapter.ts';
import { fcmConfigSchema } from './fcm.config.ts';
import { classifyFcmError, fcmWireErrorCode, isUnregisteredToken } from './fcm.errors.ts';
import { closedPortUrl } from './sandbox/fcm.fixtures.ts';
import { FCM_SANDBOX_CREDENTIALS } from './sandbox/fcm.sandbox.ts';

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

/** A real FCM HTTP v1 error answer (reference §4.2; FCM's documented bodies). */
interface Canned {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

function fcmBody(code: number, status: string, message: string, errorCode?: string): string {
  return JSON.stringify({
    error: { code, message, status, ...(errorCode === undefined ? {} : { details: [{ '@type': FCM_ERROR, errorCode }] }) },
  });
}

interface Row {
  name: string;
  answer: Canned;
  sdkCode: string;
  kind: ProviderErrorKind;
  scope?: ProviderErrorScope;
  providerCode: string;
  retryAfterMs?: number;
  unregistered?: boolean;
}

/** Each FCM answer, as firebase-admin receives and maps it, and what Switchboard makes of it. */
const ROWS: readonly Row[] = [
  {
    name: '404 UNREGISTERED',
    answer: { status: 404, body: fcmBody(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED') },
    sdkCode: 'messaging/registration-token-not-registered',
    kind: 'permanent',
    scope: 'channel',
    providerCode: 'UNREGISTERED',
    unregistered: true,
  },
  {
    name: '404 NOT_FOUND without an FcmError detail',
    answer: { status: 404, body: fcmBody(404, 'NOT_FOUND', 'Requested entity was not found.') },
    sdkCode: 'messaging/registration-token-not-registered',
    kind: 'permanent',
    scope: 'channel',
    providerCode: 'NOT_FOUND',
    unregistered: true,
  },
  {
    name: '400 INVALID_ARGUMENT (bad token)',
    answer: {
      status: 400,
      body: fcmBody(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT'),
    },
    sdkCode: 'messaging/invalid-argument',
    kind: 'permanent',
    scope: 'channel',
    providerCode: 'INVALID_ARGUMENT',
  },
  {
    name: '403 SENDER_ID_MISMATCH (token of another project)',
    answer: { status: 403, body: fcmBody(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH') },
    sdkCode: 'messaging/mismatched-credential',
    kind: 'permanent',
    scope: 'channel',
    providerCode: 'SENDER_ID_MISMATCH',
  },
  {
    name: '403 PERMISSION_DENIED (credential lacks the permission)',
    answer: { status: 403, body: fcmBody(403, 'PERMISSION_DENIED', "Permission 'cloudmessaging.messages.create' denied on resource.") },
    sdkCode: 'messaging/mismatched-credential',
    kind: 'auth',
    providerCode: 'PERMISSION_DENIED',
  },
  {
    name: '401 THIRD_PARTY_AUTH_ERROR (APNs certificate)',
    answer: { status: 401, body: fcmBody(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', 'THIRD_PARTY_AUTH_ERROR') },
    sdkCode: 'messaging/third-party-auth-error',
    kind: 'auth',
    providerCode: 'THIRD_PARTY_AUTH_ERROR',
  },
  {
    name: '401 UNAUTHENTICATED (OAuth token)',
    answer: { status: 401, body: fcmBody(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.') },
    sdkCode: 'messaging/third-party-auth-error',
    kind: 'auth',
    providerCode: 'UNAUTHENTICATED',
  },
  {
    name: '401 with a non-JSON body',
    answer: { status: 401, body: 'Unauthorized', contentType: 'text/plain' },
    sdkCode: 'messaging/authentication-error',
    kind: 'auth',
    providerCode: 'messaging/authentication-error',
  },
  {
    name: '429 QUOTA_EXCEEDED with Retry-After',
    answer: {
      status: 429,
      body: fcmBody(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Send requests'.", 'QUOTA_EXCEEDED'),
      headers: { 'retry-after': '3' },
    },
    sdkCode: 'messaging/message-rate-exceeded',
    kind: 'rate_limited',
    providerCode: 'QUOTA_EXCEEDED',
    retryAfterMs: 3_000,
  },
  {
    name: '500 INTERNAL',
    answer: { status: 500, body: fcmBody(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL') },
    sdkCode: 'messaging/internal-error',
    kind: 'retryable',
    providerCode: 'INTERNAL',
  },
  {
    name: '500 UNSPECIFIED_ERROR',
    answer: { status: 500, body: fcmBody(500, 'UNKNOWN', 'Unknown error.', 'UNSPECIFIED_ERROR') },
    sdkCode: 'messaging/unknown-error',
    kind: 'retryable',
    providerCode: 'UNSPECIFIED_ERROR',
  },
  {
    name: '502 with an HTML body',
    answer: { status: 502, body: '<html><body>Bad Gateway</body></html>', contentType: 'text/html' },
    sdkCode: 'messaging/unknown-error',
    kind: 'retryable',
    providerCode: 'messaging/unknown-error',
  },
  {
    name: '418 with an unknown JSON code',
    answer: { status: 418, body: fcmBody(418, 'SOMETHING_NEW', 'New error.') },
    sdkCode: 'messaging/unknown-error',
    kind: 'permanent',
    scope: 'channel',
    providerCode: 'SOMETHING_NEW',
  },
];

/** A stand-in for fcm.googleapis.com that answers each token with its row's canned answer. */
async function startCannedFcm(answers: ReadonlyMap<string, Canned>): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message: { token: string } };
      const answer = answers.get(body.message.token);
      if (answer === undefined) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'projects/demo-project/messages/0:1%ab' }));
        return;
      }
      res
        .writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json; charset=UTF-8', ...answer.headers })
        .end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const config = fcmConfigSchema.parse({ ...FCM_SANDBOX_CREDENTIALS });

function pushRequest(token: string): SendRequest {
  return {
    messageId: `msg_err_${token}`,
    attempt: 1,
    channel: 'push',
    to: '+14155550100',
    body: 'Your code is 123456',
    statusCallbackUrl: 'http://127.0.0.1:1/unused',
    push: { token, data: { sb_message_id: `msg_err_${token}` } },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('classifyFcmError through the real firebase-admin SDK', () => {
  const answers = new Map(ROWS.map((row, i) => [`token-${i}`, row.answer] as const));
  let canned: { server: Server; baseUrl: string };
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    canned = await startCannedFcm(answers);
    adapter = createFcmAdapter(config, { baseUrl: canned.baseUrl, timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await adapter.close?.();
    canned.server.closeAllConnections();
    await new Promise<void>((resolve) => canned.server.close(() => resolve()));
  });

  it.each(ROWS.map((row, i) => [row.name, row, `token-${i}`] as const))('maps %s', async (_name, row, token) => {
    const err = await rejection(adapter.send(pushRequest(token)));
    expect(isProviderError(err)).toBe(true);
    const classified = err as ProviderError;
    expect(classified).toMatchObject({
      provider: 'fcm',
      kind: row.kind,
      providerCode: row.providerCode,
      httpStatus: row.answer.status,
      ambiguous: false,
    });
    if (row.scope !== undefined) expect(classified.scope).toBe(row.scope);
    if (row.retryAfterMs !== undefined) expect(classified.retryAfterMs).toBe(row.retryAfterMs);
    expect(classified.cause).toMatchObject({ code: row.sdkCode });
    expect(isUnregisteredToken(classified)).toBe(row.unregistered === true);
    expect(isUnregisteredToken(classified.cause)).toBe(row.sdkCode === 'messaging/registration-token-not-registered');
  });
});

describe('classifyFcmError without an FCM answer', () => {
  it('classifies a refused connection as retryable and not ambiguous', async () => {
    const adapter = createFcmAdapter(config, { baseUrl: await closedPortUrl(), timeoutMs: 5_000 });
    try {
      const err = await rejection(adapter.send(pushRequest('any')));
      expect(err).toMatchObject({ provider: 'fcm', kind: 'retryable', ambiguous: false, providerCode: 'ECONNREFUSED' });
      expect((err as ProviderError).cause).toMatchObject({ code: 'app/network-error' });
    } finally {
      await adapter.close?.();
    }
  });

  it('classifies a reset after the SDK gave up retrying as retryable and ambiguous', () => {
    const reset = new FirebaseAppError({
      code: 'network-error',
      message: 'Error while making request: socket hang up. Error code: ECONNRESET',
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    expect(classifyFcmError(reset)).toMatchObject({ kind: 'retryable', ambiguous: true, providerCode: 'ECONNRESET' });
  });

  it('classifies an SDK network timeout as retryable and ambiguous', () => {
    const timeout = new FirebaseAppError({
      code: 'network-timeout',
      message: 'Error while making request: timeout of 15000ms exceeded.',
      cause: Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }),
    });
    expect(classifyFcmError(timeout)).toMatchObject({ kind: 'retryable', ambiguous: true, providerCode: 'ETIMEDOUT' });
  });

  it('classifies a credential that cannot mint a token as auth, nothing sent', () => {
    const err = new FirebaseAppError({
      code: 'invalid-credential',
      message: 'Credential implementation provided to initializeApp() failed to fetch a valid Google OAuth2 access token',
    });
    expect(classifyFcmError(err)).toMatchObject({ kind: 'auth', ambiguous: false, providerCode: 'app/invalid-credential' });
  });

  it('classifies the SDK refusing our message before sending as permanent/channel', async () => {
    const adapter = createFcmAdapter(config, { baseUrl: await closedPortUrl(), timeoutMs: 5_000 });
    try {
      // FCM data values must be strings; firebase-admin checks it locally, before any request.
      const data = JSON.parse('{"attempt":2}') as Record<string, string>;
      const err = await rejection(adapter.send({ ...pushRequest('any'), push: { token: 'any', data } }));
      expect(err).toMatchObject({ kind: 'permanent', scope: 'channel', providerCode: 'messaging/invalid-payload' });
    } finally {
      await adapter.close?.();
    }
  });

  it('passes ProviderErrors through and treats unknown throwables as retryable and ambiguous', () => {
    const own = new ProviderError('x', { kind: 'auth', provider: 'fcm' });
    expect(classifyFcmError(own)).toBe(own);
    expect(classifyFcmError(new Error('boom'))).toMatchObject({ kind: 'retryable', ambiguous: true });
    expect(classifyFcmError('weird')).toMatchObject({ kind: 'retryable', ambiguous: true });
  });
});

describe('fcmWireErrorCode', () => {
  it('prefers the FcmError detail, then the status, and tolerates junk', () => {
    expect(
      fcmWireErrorCode({
        error: {
          status: 'NOT_FOUND',
          details: [
            { '@type': 'other', errorCode: 'X' },
            { '@type': FCM_ERROR, errorCode: 'UNREGISTERED' },
          ],
        },
      }),
    ).toBe('UNREGISTERED');
    expect(fcmWireErrorCode(fcmBody(503, 'UNAVAILABLE', 'down'))).toBe('UNAVAILABLE');
    expect(fcmWireErrorCode('<html>')).toBeUndefined();
    expect(fcmWireErrorCode({ error: 'x' })).toBeUndefined();
    expect(fcmWireErrorCode(null)).toBeUndefined();
  });
});

describe('isUnregisteredToken', () => {
  it('is true only for FCM errors about a dead token', () => {
    expect(
      isUnregisteredToken(new ProviderError('x', { kind: 'permanent', scope: 'channel', provider: 'fcm', providerCode: 'UNREGISTERED' })),
    ).toBe(true);
    expect(
      isUnregisteredToken(
        new ProviderError('x', { kind: 'permanent', scope: 'channel', provider: 'fcm', providerCode: 'INVALID_ARGUMENT' }),
      ),
    ).toBe(false);
    expect(
      isUnregisteredToken(
        new ProviderError('x', { kind: 'permanent', scope: 'channel', provider: 'twilio', providerCode: 'UNREGISTERED' }),
      ),
    ).toBe(false);
    expect(isUnregisteredToken(new Error('UNREGISTERED'))).toBe(false);
    expect(isUnregisteredToken(undefined)).toBe(false);
  });
});

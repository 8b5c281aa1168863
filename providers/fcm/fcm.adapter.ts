/**
 * FCM adapter: push through the official firebase-admin SDK (`getMessaging(app).send()`, FCM
 * HTTP v1, reference §4.1), in both modes:
 *
 * - **sandbox** (`deps.baseUrl` set): firebase-admin has no base-URL option and FCM has no
 *   emulator (reference §0, §4.3), so the app gets a fixed credential object (no Google OAuth) and
 *   an `https.Agent` whose `createConnection()` returns a plain TCP socket to the sandbox. The SDK
 *   still believes it talks to `https://fcm.googleapis.com`: the request travels as plain
 *   HTTP/1.1 with `Host: fcm.googleapis.com`, which is how the sandbox tells FCM apart from Sinch
 *   Conversation on the same path.
 * - **live**: `cert(serviceAccount)`; the agent only adds keep-alive and per-send cancellation.
 *
 * firebase-admin takes no `AbortSignal` and retries a 503 (and socket resets/timeouts) itself,
 * up to 4 times over ~7 s, honouring `Retry-After` (reference §4.2). The gateway adds the push
 * fallback-check before calling (DESIGN §6.3), so that delay never holds the OTP back. To still
 * honour `deps.timeoutMs` and `SendRequest.signal`, each send runs in an `AsyncLocalStorage`
 * context and the adapter watches the `http.client.request.created` diagnostics channel: every
 * request the SDK makes for that send (retries included) is known, destroyed on timeout, and tells
 * whether the timeout is ambiguous (a request was in flight) or not (the SDK was waiting to retry
 * a 503 it had already received).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { ClientRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { RequestOptions } from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import type { App, Credential } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import type { Messaging, TokenMessage } from 'firebase-admin/messaging';
import { ProviderError } from '../errors.ts';
import type { Channel, ProviderAdapter, ProviderDeps, SendRequest, SendResult } from '../provider.ts';
import { parseServiceAccount } from './fcm.config.ts';
import type { FcmConfig } from './fcm.config.ts';
import { classifyFcmError } from './fcm.errors.ts';
import { FCM_SANDBOX_ACCESS_TOKEN } from './sandbox/fcm.sandbox.ts';

/** FCM's HTTP v1 host. firebase-admin hard-codes it; the sandbox routes on it (`Host` header). */
export const FCM_HOST = 'fcm.googleapis.com';

/**
 * The keys the gateway puts in every push's `data` so the app can acknowledge it (DESIGN §6.3,
 * CONTRACTS §3 `POST /v1/push/ack`). The sandbox device reads them to post its ack.
 */
export const PUSH_DATA_KEYS = {
  messageId: 'sb_message_id',
  ackToken: 'sb_ack_token',
  ackUrl: 'sb_ack_url',
} as const;

const PROVIDER = 'fcm';
const CHANNELS: readonly Channel[] = ['push'];
/** Published by Node for every `ClientRequest`, synchronously, in the caller's async context (Node ≥ 22.12). */
const REQUEST_CREATED_CHANNEL = 'http.client.request.created';

/** Where the sandbox agent connects instead of fcm.googleapis.com:443. */
export interface FcmConnectTarget {
  host: string;
  port: number;
}

/**
 * The agent firebase-admin sends through. With a `target`, every connection is a plain TCP
 * socket to it: TLS and DNS are skipped, the request keeps `Host: fcm.googleapis.com`
 * (reference §0, §4.3). It must stay an `https.Agent`: the SDK requests with `protocol: 'https:'`,
 * and an `http.Agent` there fails with `ERR_INVALID_PROTOCOL`.
 */
export class FcmHttpsAgent extends https.Agent {
  readonly target: FcmConnectTarget | undefined;

  constructor(target?: FcmConnectTarget) {
    super({ keepAlive: true });
    this.target = target;
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    if (this.target === undefined) return super.createConnection(options, callback);
    // Returning the socket is enough: the agent installs it itself (its callback guards against a second call).
    return net.connect({ host: this.target.host, port: this.target.port });
  }
}

/** Builds the sandbox connect target from `deps.baseUrl` (plain `http:` only, as the sandbox listener is). */
export function fcmConnectTarget(baseUrl: string): FcmConnectTarget {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:') throw new Error(`fcm: the sandbox base URL must be http:, got ${baseUrl}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 80 : Number(url.port) };
}

/** The fixed sandbox credential: firebase-admin checks only its shape (reference §4.3). */
function sandboxCredential(): Credential {
  return { getAccessToken: async () => ({ access_token: FCM_SANDBOX_ACCESS_TOKEN, expires_in: 3600 }) };
}

/** What one send's requests did, collected through the diagnostics channel. */
interface SendTrace {
  signal: AbortSignal;
  inFlight: Set<ClientRequest>;
  started: number;
  /** Status of the last FCM answer, if any (a 503 the SDK is about to retry). */
  lastStatus: number | undefined;
}

/** Thrown into the race when the send's signal fires; turned into a `ProviderError` by `send`. */
class SendAborted extends Error {
  readonly ambiguous: boolean;
  constructor(ambiguous: boolean) {
    super('aborted');
    this.ambiguous = ambiguous;
  }
}

/** Builds the firebase-admin message (reference §4.1): data for the app, a visible notification, high priority, TTL = OTP validity. */
export function buildFcmMessage(req: SendRequest & { push: NonNullable<SendRequest['push']> }, now: Date = new Date()): TokenMessage {
  const message: TokenMessage = {
    token: req.push.token,
    data: { ...req.push.data },
    notification: req.push.title === undefined ? { body: req.body } : { title: req.push.title, body: req.body },
    // High priority wakes the device at once (an OTP is urgent); `ttl` lets FCM drop a late one.
    android: { priority: 'high' },
    // 10 = immediate delivery on APNs; `apns-expiration` is APNs's TTL, as an absolute Unix time.
    apns: { headers: { 'apns-priority': '10' } },
  };
  if (req.validitySeconds !== undefined && req.validitySeconds > 0) {
    const seconds = Math.round(req.validitySeconds);
    message.android = { priority: 'high', ttl: seconds * 1000 };
    message.apns = { headers: { 'apns-priority': '10', 'apns-expiration': String(Math.floor(now.getTime() / 1000) + seconds) } };
  }
  return message;
}

/**
 * Builds the FCM adapter.
 *
 * Each adapter owns a **named** firebase-admin app (unique per instance, so several adapters —
 * tests, or a sandbox and a live one — never share state) and deletes it in `close()`.
 * Sandbox mode when `deps.baseUrl` is set; otherwise live mode, which needs
 * `config.serviceAccount` and throws at construction without it (the gateway refuses to start).
 *
 * `send` needs `req.push` (`{token, title?, data}`; `data` carries `sb_message_id`,
 * `sb_ack_token`, `sb_ack_url`) and resolves with FCM's message name as `providerMessageId` and
 * status `sent`: FCM has no delivery receipts, a push is `delivered` only when the app acks
 * (CONTRACTS §2). It rejects only with `ProviderError`.
 */
export function createFcmAdapter(config: FcmConfig, deps: ProviderDeps): ProviderAdapter {
  const sandbox = deps.baseUrl !== undefined;
  let credential: Credential;
  if (deps.baseUrl !== undefined) {
    credential = sandboxCredential();
  } else {
    if (config.serviceAccount === undefined)
      throw new Error('fcm: live mode needs providers.fcm.serviceAccount (SWITCHBOARD_FCM_SERVICE_ACCOUNT)');
    const key = parseServiceAccount(config.serviceAccount);
    if (typeof key === 'string') throw new Error(`fcm: ${key}`);
    credential = cert({ projectId: key.project_id, clientEmail: key.client_email, privateKey: key.private_key });
  }
  const agent = new FcmHttpsAgent(deps.baseUrl === undefined ? undefined : fcmConnectTarget(deps.baseUrl));
  const app: App = initializeApp({ credential, projectId: config.projectId, httpAgent: agent }, `switchboard-fcm-${randomUUID()}`);
  const messaging: Messaging = getMessaging(app);
  // send() always uses HTTP/1.1; sendEach() would use HTTP/2, which ignores httpAgent (reference §0).
  if (sandbox) messaging.enableLegacyHttpTransport();

  const traces = new AsyncLocalStorage<SendTrace>();
  const onRequestCreated = (message: unknown): void => {
    const trace = traces.getStore();
    if (trace === undefined) return;
    const request = typeof message === 'object' && message !== null ? (message as { request?: unknown }).request : undefined;
    // Only the FCM call itself: a live credential's token refresh goes to oauth2.googleapis.com.
    if (!(request instanceof ClientRequest) || request.host !== FCM_HOST) return;
    trace.started += 1;
    trace.inFlight.add(request);
    request.once('response', (res: IncomingMessage) => {
      trace.lastStatus = res.statusCode;
    });
    request.once('close', () => trace.inFlight.delete(request));
    // A retry the SDK starts after we gave up never leaves this machine.
    if (trace.signal.aborted) request.destroy(abortCause());
  };
  diagnosticsChannel.subscribe(REQUEST_CREATED_CHANNEL, onRequestCreated);
  let closed = false;

  async function send(req: SendRequest): Promise<SendResult> {
    if (!CHANNELS.includes(req.channel)) {
      throw new ProviderError(`fcm: channel ${req.channel} is not offered by this adapter`, {
        kind: 'permanent',
        scope: 'channel',
        provider: PROVIDER,
      });
    }
    const push = req.push;
    if (push === undefined || push.token === '') {
      throw new ProviderError('fcm: no push token', { kind: 'permanent', scope: 'channel', provider: PROVIDER, providerCode: 'NO_TOKEN' });
    }
    if (closed) throw new ProviderError('fcm: adapter closed', { kind: 'retryable', provider: PROVIDER });
    if (req.signal?.aborted === true) {
      throw new ProviderError('fcm: send aborted before the request was made', { kind: 'retryable', provider: PROVIDER });
    }
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    const trace: SendTrace = { signal, inFlight: new Set(), started: 0, lastStatus: undefined };
    const message = buildFcmMessage({ ...req, push });

    try {
      const name = await traces.run(trace, () => raceAbort(() => messaging.send(message), trace));
      // Our clock, when FCM's 200 arrived: latency histograms must not mix clocks.
      return { providerMessageId: name, acceptedAt: new Date(), status: 'sent' };
    } catch (err) {
      if (!(err instanceof SendAborted)) throw classifyFcmError(err);
      const why = timeout.aborted ? `no answer within ${deps.timeoutMs} ms` : 'aborted';
      if (err.ambiguous) {
        throw new ProviderError(`fcm: send ${why}; it may have reached FCM`, { kind: 'retryable', ambiguous: true, provider: PROVIDER });
      }
      if (trace.lastStatus !== undefined) {
        // Between two of the SDK's own retries of a 503: FCM definitely refused it.
        throw new ProviderError(
          `fcm: FCM answered ${trace.lastStatus} and the SDK was still retrying ` +
            `when the send was ${timeout.aborted ? 'timed out' : 'aborted'}`,
          {
            kind: 'retryable',
            provider: PROVIDER,
            httpStatus: trace.lastStatus,
            providerCode: trace.lastStatus === 503 ? 'UNAVAILABLE' : undefined,
          },
        );
      }
      throw new ProviderError(`fcm: send ${why} before any request reached FCM`, { kind: 'retryable', provider: PROVIDER });
    }
  }

  return {
    id: PROVIDER,
    channels: CHANNELS,
    send,
    // FCM sends no callbacks: a push is acknowledged by the app on our own API (POST /v1/push/ack).
    verifyWebhook: async () => false,
    parseWebhook: () => [],
    async close() {
      if (closed) return;
      closed = true;
      diagnosticsChannel.unsubscribe(REQUEST_CREATED_CHANNEL, onRequestCreated);
      await deleteApp(app);
      agent.destroy();
    },
  };
}

function abortCause(): Error {
  // Not ECONNRESET/ETIMEDOUT: those the SDK would retry.
  return Object.assign(new Error('fcm send aborted by Switchboard'), { code: 'ABORT_ERR' });
}

/**
 * Runs `start` and settles with it, unless `trace.signal` fires first: then every request still
 * in flight is destroyed and the race rejects with `SendAborted` (ambiguous when one was in flight).
 */
function raceAbort<T>(start: () => Promise<T>, trace: SendTrace): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const ambiguous = trace.inFlight.size > 0;
      for (const request of trace.inFlight) request.destroy(abortCause());
      reject(new SendAborted(ambiguous));
    };
    trace.signal.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = start();
    } catch (err) {
      // firebase-admin validates the message synchronously.
      trace.signal.removeEventListener('abort', onAbort);
      reject(err);
      return;
    }
    pending.then(
      (value) => {
        trace.signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        trace.signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The sandbox side of MessageBird: a small emulator of the legacy REST messages API
 * (`rest.messagebird.com`) that speaks MessageBird's real dialect — `POST /messages` with
 * `Authorization: AccessKey …`, JSON (or form) bodies, `{"errors":[{code,description,parameter}]}`
 * error bodies, and status reports delivered as **GET** requests to `reportUrl` carrying the
 * report in the query string and a `MessageBird-Signature-JWT` minted the way MessageBird mints it
 * (reference §3.1–§3.3) — so our client and the `messagebird` package's verifier run for real.
 *
 * The CONTRACTS §6 magic numbers, in MessageBird's dialect:
 * - `+15005550001` invalid → 422 code 10 on `recipient` (as CONTRACTS says);
 * - `+15005550004` opted out → accepted (201), then `delivery_failed` with statusReason
 *   `opted out` and no `sent` report: MessageBird blocks it before any carrier, and `opted out` is
 *   one of its documented reasons (reference §3.2). MessageBird has no synchronous opt-out refusal;
 * - `+15005550009` not SMS-capable → accepted, `sent`, then `delivery_failed` with statusReason
 *   `unknown subscriber` and GSM error 1 (EC_UNKNOWN_SUBSCRIBER, reference §3.2): MessageBird has no
 *   number-type check at submission, the carrier refuses it. Landlines in the sandbox number table
 *   behave the same; numbers marked invalid are refused like `+15005550001`.
 */
import { createEmulatorResponder } from '../../sandbox-kit/emulator-responder.ts';
import { createHash, createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SignJWT } from 'jose';
import { ensureFormBodyParser } from '../../form-body.ts';
import { MAGIC_NUMBERS, callbackRetryDelays } from '../../provider.ts';
import type { SandboxControl } from '../../provider.ts';
import type { MessageBirdApiErrorEntry } from '../messagebird.client.ts';
import { registerMessageBirdLookupEmulator } from './messagebird.lookup-emulator.ts';
import { MESSAGEBIRD_DEFAULT_BASE_URL } from '../messagebird.config.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './messagebird.sandbox.ts';

/** How many messages `GET /messages/:id` remembers (oldest dropped first). */
const MAX_STORED_MESSAGES = 10_000;
/**
 * The retry of a status report that did not get a 2xx (`callbackRetry: "carrier"`). MessageBird's
 * (Bird Connectivity Platform) documentation gives no retry schedule for SMS status reports, so the
 * emulator keeps two short retries; set `callbackRetry` to model another schedule.
 */
export const MESSAGEBIRD_CALLBACK_RETRY_DELAYS_MS: readonly number[] = [500, 2_000];
/** We give up on a slow receiver sooner than a carrier would, so a dead one does not pile up sockets. */
const CALLBACK_TIMEOUT_MS = 10_000;
/** Lifetime of a signature JWT, as in MessageBird's own tokens (`exp` = `nbf` + 60 s). */
const JWT_LIFETIME_SECONDS = 60;

/** MessageBird's magic numbers: the shared three (CONTRACTS §6). */
export const MESSAGEBIRD_MAGIC_NUMBERS = { ...MAGIC_NUMBERS } as const;

/** Per-recipient statuses the emulator reports (reference §3.2). */
export type MessageBirdReportStatus = 'sent' | 'delivered' | 'delivery_failed';

/** `statusReason` MessageBird gives with common GSM/MAP error codes (reference §3.2). */
const REASON_BY_ERROR_CODE: Readonly<Record<string, string>> = {
  '1': 'unknown subscriber',
  '27': 'unavailable subscriber',
  '34': 'received network error',
};

/** The message resource as MessageBird serialises it (reference §3.1). */
export interface MessageBirdMessageJson {
  id: string;
  href: string;
  direction: 'mt';
  type: 'sms';
  originator: string;
  body: string;
  reference: string | null;
  reportUrl: string | null;
  validity: number | null;
  gateway: number;
  typeDetails: Record<string, never>;
  datacoding: string;
  mclass: number;
  scheduledDatetime: string | null;
  createdDatetime: string;
  recipients: {
    totalCount: number;
    totalSentCount: number;
    totalDeliveredCount: number;
    totalDeliveryFailedCount: number;
    items: {
      recipient: number;
      status: string;
      statusDatetime: string;
      messagePartCount: number;
      statusReason?: string;
      statusErrorCode?: number | null;
    }[];
  };
}

/** Options of {@link registerMessageBirdEmulator}; tests use them to run an emulator with other keys. */
export interface MessageBirdEmulatorOptions {
  /** Access key accepted and signing key used for reports; the documented sandbox ones by default. */
  credentials?: { accessKey: string; signingKey: string };
}

/** Builds MessageBird's error body. */
export function messagebirdErrorBody(
  code: number,
  description: string,
  parameter: string | null = null,
): { errors: MessageBirdApiErrorEntry[] } {
  return { errors: [{ code, description, parameter }] };
}

/** MessageBird's body for an injected/outage status. MessageBird documents no code for 429; 99 is its generic one. */
function injectedErrorBody(status: number): { errors: MessageBirdApiErrorEntry[] } {
  if (status === 401) return messagebirdErrorBody(2, 'Request not allowed (incorrect access_key)', 'access_key');
  if (status === 404) return messagebirdErrorBody(20, 'message not found');
  return messagebirdErrorBody(99, STATUS_CODES[status] ?? 'internal error');
}

/** RFC 3339 with an explicit `+00:00` offset, as MessageBird writes dates (`2024-06-06T09:22:14+00:00`). */
export function messagebirdDatetime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Mints a `MessageBird-Signature-JWT` as MessageBird does (reference §3.3, and the token vectors
 * shipped in `messagebird/lib/testdata`): HS256, claims `iss: "MessageBird"`, `nbf`, `exp`
 * (`nbf` + 60 s), `jti`, `url_hash` = hex SHA-256 of the full URL including the query, and
 * `payload_hash` = hex SHA-256 of the body only when there is one.
 */
export async function signMessageBirdRequest(
  signingKey: string | KeyObject,
  url: string,
  body?: Buffer | string,
  now: Date = new Date(),
): Promise<string> {
  const key = typeof signingKey === 'string' ? createSecretKey(Buffer.from(signingKey, 'utf8')) : signingKey;
  const nbf = Math.floor(now.getTime() / 1000);
  const claims: Record<string, string> = {
    jti: randomUUID(),
    url_hash: createHash('sha256').update(url).digest('hex'),
  };
  if (body !== undefined && body.length > 0) claims['payload_hash'] = createHash('sha256').update(body).digest('hex');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('MessageBird')
    .setNotBefore(nbf)
    .setExpirationTime(nbf + JWT_LIFETIME_SECONDS)
    .sign(key);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function field(body: Record<string, unknown>, key: string): unknown {
  const v = body[key];
  // A form body repeats keys as arrays; the first value counts.
  return Array.isArray(v) && typeof v[0] === 'string' && key !== 'recipients' ? v[0] : v;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `recipients` as MessageBird takes it: an array of MSISDNs (strings or numbers) or a comma-separated string (the SDK's form). */
function recipientsOf(body: Record<string, unknown> | undefined): string[] | undefined {
  if (body === undefined) return undefined;
  const value = body['recipients'];
  const list = Array.isArray(value) ? value : typeof value === 'string' || typeof value === 'number' ? String(value).split(',') : undefined;
  if (list === undefined) return undefined;
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string' && typeof item !== 'number') return undefined;
    const s = String(item).trim();
    if (s !== '') out.push(s);
  }
  return out;
}

/** Digits only, as MessageBird stores and reports recipients. */
const MSISDN = /^\+?[1-9]\d{1,14}$/;
/** Originators MessageBird accepts: a number, or alphanumeric of at most 11 characters. */
const ORIGINATOR = /^(\+?[1-9]\d{1,14}|[A-Za-z0-9 ]{1,11})$/;

/**
 * Registers the MessageBird emulator on a Fastify instance:
 * - `POST /messages` → 201 message JSON, or MessageBird's own errors (401 code 2 for a wrong
 *   access key; 422 code 9 for a missing `recipients`/`originator`/`body`; 422 code 10 for an
 *   invalid recipient or originator; the magic numbers above), then GET status reports per the
 *   scenario: `sent`, then `delivered` or `delivery_failed` (scenario `dlrErrorCode`, default 27
 *   "unavailable subscriber"). No reports without `reportUrl` and `reference`, as MessageBird.
 * - `GET /messages/:id` from a bounded in-memory store.
 * - HLR lookups `POST /hlr`, `GET /hlr/:id`: see `messagebird.lookup-emulator.ts`.
 * Scenario (`control`): outage → 503 at once; otherwise latency, then an injected failure (`429`
 * and `503` carry `Retry-After` when `retryAfterSec` is set). Every request is recorded
 * (reference = `reference`); `acceptedSend` only once a 201 was fully written.
 */
export function registerMessageBirdEmulator(app: FastifyInstance, control: SandboxControl, options: MessageBirdEmulatorOptions = {}): void {
  const credentials = options.credentials ?? MESSAGEBIRD_SANDBOX_CREDENTIALS;
  const signingKey = createSecretKey(Buffer.from(credentials.signingKey, 'utf8'));
  const messages = new Map<string, MessageBirdMessageJson>();
  ensureFormBodyParser(app);

  const answer = createEmulatorResponder(control, 'messagebird', { acceptedStatus: 201 });

  function failure(status: number): { body: { errors: MessageBirdApiErrorEntry[] }; headers: Record<string, string> } {
    const scenario = control.scenario('messagebird');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    return { body: injectedErrorBody(status), headers };
  }

  function authorized(request: FastifyRequest): boolean {
    return request.headers.authorization === `AccessKey ${credentials.accessKey}`;
  }

  function store(message: MessageBirdMessageJson): void {
    messages.set(message.id, message);
    if (messages.size > MAX_STORED_MESSAGES) {
      const oldest = messages.keys().next();
      if (oldest.done !== true) messages.delete(oldest.value);
    }
  }

  /** GETs one signed status report, retrying a non-2xx briefly (re-signed each time); counts each try. */
  async function getReport(url: string, retry: number): Promise<void> {
    const scenario = control.scenario('messagebird');
    // A lost report: the message resource already moved (`GET /messages/:id` answers it).
    if (scenario.callbacks === 'drop') return;
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'GET',
        headers: { 'messagebird-signature-jwt': await signMessageBirdRequest(signingKey, url), 'user-agent': 'MessageBird/StatusReport' },
        redirect: 'manual',
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      ok = res.status >= 200 && res.status < 300;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      ok = false;
    }
    control.callbackResult('messagebird', ok);
    const delay = callbackRetryDelays(scenario, MESSAGEBIRD_CALLBACK_RETRY_DELAYS_MS)[retry];
    if (!ok && delay !== undefined) control.schedule(delay, () => getReport(url, retry + 1));
  }

  /** Moves the stored recipient to `status` and GETs the report URL with the report in the query. */
  function report(id: string, recipient: string, status: MessageBirdReportStatus, reason: string, errorCode: string): () => Promise<void> {
    return async () => {
      const message = messages.get(id);
      if (message === undefined) return;
      const now = new Date();
      const item = message.recipients.items.find((i) => String(i.recipient) === recipient);
      if (item !== undefined) {
        item.status = status;
        item.statusDatetime = messagebirdDatetime(now);
        item.statusReason = reason;
        item.statusErrorCode = errorCode === '' ? null : Number(errorCode);
      }
      if (status === 'delivered') message.recipients.totalDeliveredCount += 1;
      if (status === 'delivery_failed') message.recipients.totalDeliveryFailedCount += 1;
      // The resource moves either way; only a message with a report URL and a reference is reported.
      if (message.reportUrl === null || message.reference === null || !/^https?:\/\//i.test(message.reportUrl)) return;
      const number = control.number(`+${recipient}`);
      const url = new URL(message.reportUrl);
      const params: [string, string][] = [
        ['id', message.id],
        ['reference', message.reference],
        ['recipient', recipient],
        ['status', status],
        ['statusDatetime', messagebirdDatetime(now)],
        ['statusReason', reason],
        ['statusErrorCode', errorCode],
        ['mccmnc', number.mccmnc ?? ''],
        ['ported', number.ported === true ? '1' : '0'],
        ['messagePartCount', String(item?.messagePartCount ?? 1)],
      ];
      for (const [k, v] of params) url.searchParams.append(k, v);
      await getReport(url.toString(), 0);
    };
  }

  function scheduleReports(message: MessageBirdMessageJson): void {
    const scenario = control.scenario('messagebird');
    if (scenario.dlr === 'none') return;
    const delay = Math.max(0, scenario.dlrDelayMs);
    for (const item of message.recipients.items) {
      const recipient = String(item.recipient);
      const e164 = `+${recipient}`;
      if (e164 === MESSAGEBIRD_MAGIC_NUMBERS.optedOut) {
        control.schedule(Math.floor(delay / 2), report(message.id, recipient, 'delivery_failed', 'opted out', ''));
        continue;
      }
      control.schedule(Math.floor(delay / 2), report(message.id, recipient, 'sent', 'pending DLR', ''));
      if (e164 === MESSAGEBIRD_MAGIC_NUMBERS.notSmsCapable || control.number(e164).lineType === 'landline') {
        control.schedule(delay, report(message.id, recipient, 'delivery_failed', 'unknown subscriber', '1'));
      } else if (scenario.dlr === 'delivered') {
        control.schedule(delay, report(message.id, recipient, 'delivered', 'successfully delivered', ''));
      } else {
        const code = scenario.dlrErrorCode ?? '27';
        control.schedule(
          delay,
          report(message.id, recipient, 'delivery_failed', REASON_BY_ERROR_CODE[code] ?? 'generic delivery failure', code),
        );
      }
    }
  }

  /** The synchronous refusal MessageBird would answer, if any (422 with code 9 missing / 10 invalid). */
  function refusal(body: Record<string, unknown>, recipients: string[] | undefined): { errors: MessageBirdApiErrorEntry[] } | undefined {
    if (recipients === undefined || recipients.length === 0) return messagebirdErrorBody(9, 'no (correct) recipients found', 'recipient');
    const originator = str(field(body, 'originator'));
    if (originator === undefined) return messagebirdErrorBody(9, 'originator is required', 'originator');
    if (!ORIGINATOR.test(originator)) return messagebirdErrorBody(10, 'originator is invalid', 'originator');
    if (str(field(body, 'body')) === undefined) return messagebirdErrorBody(9, 'body is required', 'body');
    const reportUrl = field(body, 'reportUrl');
    if (reportUrl !== undefined && (typeof reportUrl !== 'string' || !URL.canParse(reportUrl)))
      return messagebirdErrorBody(10, 'reportUrl is invalid', 'reportUrl');
    for (const recipient of recipients) {
      if (!MSISDN.test(recipient)) return messagebirdErrorBody(10, 'recipient is invalid', 'recipient');
      const e164 = `+${recipient.replace(/^\+/, '')}`;
      if (e164 === MESSAGEBIRD_MAGIC_NUMBERS.invalid || !control.number(e164).valid)
        return messagebirdErrorBody(10, 'recipient is invalid', 'recipient');
    }
    return undefined;
  }

  /** Body-parsing failures in MessageBird's shape rather than Fastify's, recorded like every other answer. */
  function parseErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) return answer(reply, request, 500, injectedErrorBody(500), {});
    return answer(reply, request, 400, messagebirdErrorBody(21, `Bad request: ${error.message}`), {});
  }

  app.post('/messages', { errorHandler: parseErrorHandler }, async (request, reply) => {
    const body = isRecord(request.body) ? request.body : undefined;
    const recipients = recipientsOf(body);
    const first = recipients?.[0];
    const log = {
      to: first === undefined ? undefined : `+${first.replace(/^\+/, '')}`,
      reference: body === undefined ? undefined : str(field(body, 'reference')),
    };

    if (control.scenario('messagebird').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, log, f.headers);
    }
    await control.delay('messagebird');
    if (!authorized(request)) {
      const f = failure(401);
      return answer(reply, request, 401, f.body, log, f.headers);
    }
    const injected = control.injectedFailure('messagebird');
    if (injected !== undefined) {
      const f = failure(injected);
      return answer(reply, request, injected, f.body, log, f.headers);
    }
    if (body === undefined) return answer(reply, request, 400, messagebirdErrorBody(21, 'Bad request: expected a JSON object'), log);
    const refused = refusal(body, recipients);
    if (refused !== undefined) return answer(reply, request, 422, refused, log);

    const now = messagebirdDatetime(new Date());
    const id = randomBytes(16).toString('hex');
    const validity = Number(field(body, 'validity'));
    const text = str(field(body, 'body')) ?? '';
    const unicode = [...text].some((ch) => (ch.codePointAt(0) ?? 0) > 0x7f);
    const datacoding = str(field(body, 'datacoding')) ?? 'plain';
    const parts =
      datacoding === 'unicode' || (datacoding === 'auto' && unicode)
        ? text.length <= 70
          ? 1
          : Math.ceil(text.length / 67)
        : text.length <= 160
          ? 1
          : Math.ceil(text.length / 153);
    const message: MessageBirdMessageJson = {
      id,
      href: `${MESSAGEBIRD_DEFAULT_BASE_URL}/messages/${id}`,
      direction: 'mt',
      type: 'sms',
      originator: str(field(body, 'originator')) ?? '',
      body: text,
      reference: log.reference ?? null,
      reportUrl: str(field(body, 'reportUrl')) ?? null,
      validity: Number.isInteger(validity) && validity > 0 ? validity : null,
      gateway: 10,
      typeDetails: {},
      datacoding,
      mclass: 1,
      scheduledDatetime: null,
      createdDatetime: now,
      recipients: {
        totalCount: recipients?.length ?? 0,
        totalSentCount: recipients?.length ?? 0,
        totalDeliveredCount: 0,
        totalDeliveryFailedCount: 0,
        items: (recipients ?? []).map((r) => ({
          recipient: Number(r.replace(/^\+/, '')),
          status: 'sent',
          statusDatetime: now,
          messagePartCount: parts,
        })),
      },
    };
    store(message);
    scheduleReports(message);
    // Serialise a snapshot: reports may mutate the stored object before the reply is written.
    return answer(reply, request, 201, JSON.stringify(message), { ...log, body: text });
  });

  app.get<{ Params: { id: string } }>('/messages/:id', async (request, reply) => {
    if (control.scenario('messagebird').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, {}, f.headers);
    }
    await control.delay('messagebird');
    if (!authorized(request)) {
      const f = failure(401);
      return answer(reply, request, 401, f.body, {}, f.headers);
    }
    const message = messages.get(request.params.id);
    if (message === undefined) return answer(reply, request, 404, injectedErrorBody(404), {});
    const first = message.recipients.items[0];
    return answer(reply, request, 200, JSON.stringify(message), {
      to: first === undefined ? undefined : `+${first.recipient}`,
      reference: message.reference ?? undefined,
    });
  });

  registerMessageBirdLookupEmulator(app, control, credentials.accessKey);
}

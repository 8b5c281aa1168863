/**
 * What the Twilio emulator's parts (messages, calls, lookups) share: Twilio's error bodies and
 * dates, HTTP Basic as Twilio checks it, recording each answer in the sandbox log, scenario
 * failures, and signed, briefly retried form-encoded callbacks (reference §1.2–§1.4).
 */
import { createEmulatorResponder } from '../../sandbox-kit/emulator-responder.ts';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import type { FormFields } from '../../form-body.ts';
import { callbackRetryDelays } from '../../provider.ts';
import type { Channel, SandboxControl } from '../../provider.ts';

/** Twilio's REST API version in every path and callback. */
export const TWILIO_API_VERSION = '2010-04-01';
/**
 * Twilio's own retry of a status callback (`callbackRetry: "carrier"`): its webhook connection
 * defaults are one retry (`rc=1`) under the policy `rp=ct`, i.e. only when the connection could not
 * be made or timed out — an HTTP error answer (a 503 from a gateway whose Redis is down) is not
 * retried at all. https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides
 */
export const TWILIO_CALLBACK_RETRY_DELAYS_MS: readonly number[] = [1_000];
/** Twilio gives a webhook 15 s; we give up sooner so a dead receiver does not pile up sockets. */
const CALLBACK_TIMEOUT_MS = 10_000;

/** Twilio's legacy error body (reference §1.2): what the SDK turns into `RestException`. */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

/** Builds Twilio's legacy error body. */
export function twilioErrorBody(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/** Twilio's error for an injected/outage status: 401 → 20003, otherwise `20000 + status` (20429, 20500, 20503…). */
export function injectedTwilioErrorBody(status: number): TwilioErrorBody {
  if (status === 401) return twilioErrorBody(401, 20003, 'Authenticate');
  if (status === 429) return twilioErrorBody(429, 20429, 'Too Many Requests');
  return twilioErrorBody(status, 20000 + status, STATUS_CODES[status] ?? 'Error');
}

/** RFC 2822 date as Twilio writes it (`Thu, 24 Aug 2023 05:01:45 +0000`). */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** Whether a parsed request body is our form-body parser's output. */
export function isFormFields(body: unknown): body is FormFields {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body);
}

/** Reads our message id (`sb`) from a StatusCallback URL, if any. */
export function referenceOf(statusCallback: string | undefined): string | undefined {
  if (statusCallback === undefined) return undefined;
  try {
    return new URL(statusCallback).searchParams.get('sb') ?? undefined;
  } catch {
    return undefined;
  }
}

function basicCredentials(header: string | undefined): { user: string; pass: string } | undefined {
  if (header === undefined || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/** What an answer writes into the sandbox log besides method, path and status. */
export interface TwilioLogFields {
  to?: string | undefined;
  reference?: string | undefined;
  /** Kept only on a 201 (what the handset receives). */
  body?: string | undefined;
  /** Kept only on a 201 (e.g. a call's TwiML). */
  content?: string | undefined;
  channel?: Channel | undefined;
}

/** The shared behaviour, bound to one emulator's control and credentials. */
export interface TwilioEmulatorKit {
  control: SandboxControl;
  credentials: { accountSid: string; authToken: string };
  /** Sends the answer and records it once written (`acceptedSend` only for a fully written 201). */
  answer(
    reply: FastifyReply,
    request: FastifyRequest,
    status: number,
    body: unknown,
    log: TwilioLogFields,
    headers?: Record<string, string>,
  ): FastifyReply;
  /** Twilio's body and headers for an injected status (`Retry-After` on 429/503 when the scenario sets it). */
  failure(status: number): { body: TwilioErrorBody; headers: Record<string, string> };
  /** HTTP Basic with the account SID and auth token, and the path's account SID matching. */
  authorized(request: FastifyRequest, sid: string): boolean;
  /** Outage → 503 at once; else the scenario latency, credentials (401), then an injected failure. Undefined: go on. */
  gate(reply: FastifyReply, request: FastifyRequest, sid: string, log: TwilioLogFields): Promise<FastifyReply | undefined>;
  /** Posts one signed form callback to `url`, retrying a failed one briefly; counts each try. */
  postCallback(url: string, params: Record<string, string>, idempotencyToken: string): Promise<void>;
}

/** Creates the kit for one emulator instance. */
export function createTwilioEmulatorKit(
  control: SandboxControl,
  credentials: { accountSid: string; authToken: string },
): TwilioEmulatorKit {
  const answer = createEmulatorResponder(control, 'twilio', { acceptedStatus: 201 });

  function failure(status: number): { body: TwilioErrorBody; headers: Record<string, string> } {
    const scenario = control.scenario('twilio');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    if (status === 401) headers['www-authenticate'] = 'Basic realm="Twilio API"';
    return { body: injectedTwilioErrorBody(status), headers };
  }

  function authorized(request: FastifyRequest, sid: string): boolean {
    const creds = basicCredentials(request.headers.authorization);
    return (
      creds !== undefined && creds.user === credentials.accountSid && creds.pass === credentials.authToken && sid === credentials.accountSid
    );
  }

  async function gate(reply: FastifyReply, request: FastifyRequest, sid: string, log: TwilioLogFields): Promise<FastifyReply | undefined> {
    if (control.scenario('twilio').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, log, f.headers);
    }
    await control.delay('twilio');
    if (!authorized(request, sid)) {
      const f = failure(401);
      return answer(reply, request, 401, f.body, log, f.headers);
    }
    const injected = control.injectedFailure('twilio');
    if (injected !== undefined) {
      const f = failure(injected);
      return answer(reply, request, injected, f.body, log, f.headers);
    }
    return undefined;
  }

  async function postCallback(url: string, params: Record<string, string>, idempotencyToken: string, retry = 0): Promise<void> {
    const scenario = control.scenario('twilio');
    // A lost callback: the message resource already moved (the status read answers it), nobody is told.
    if (scenario.callbacks === 'drop') return;
    let ok = false;
    let answered = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(credentials.authToken, url, params),
          'i-twilio-idempotency-token': idempotencyToken,
          'user-agent': 'TwilioProxy/1.1',
        },
        body: new URLSearchParams(params).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      ok = res.status >= 200 && res.status < 300;
      answered = true;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      ok = false;
    }
    control.callbackResult('twilio', ok);
    // Twilio's default policy retries a failed connection only; an explicit schedule retries any failure.
    const retryable = scenario.callbackRetry !== 'carrier' || !answered;
    const delay = callbackRetryDelays(scenario, TWILIO_CALLBACK_RETRY_DELAYS_MS)[retry];
    if (!ok && retryable && delay !== undefined) {
      control.schedule(delay, () => postCallback(url, params, idempotencyToken, retry + 1));
    }
  }

  return {
    control,
    credentials,
    answer,
    failure,
    authorized,
    gate,
    postCallback: (url, params, token) => postCallback(url, params, token),
  };
}

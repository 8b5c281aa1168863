/**
 * The sandbox side of Sinch: a small emulator of the SMS REST API (XMS) that speaks Sinch's real
 * dialect — `POST /xms/v1/{servicePlanId}/batches` with Bearer auth, snake_case JSON, `{code,text}`
 * error bodies, ULID batch ids and JSON delivery reports POSTed to `callback_url` — so the official
 * `@sinch/sdk-core` and our webhook verification run for real against it (DESIGN §8, reference §2).
 *
 * The CONTRACTS §6 magic numbers, in Sinch's dialect (each choice explained where it is made):
 * - `+15005550001` invalid → 400 `syntax_invalid_parameter_format` (as CONTRACTS says);
 * - `+15005550009` not SMS-capable → 403 `illegal_number_type`, Sinch's refusal of a number type
 *   that cannot take SMS in the region (Sinch's SMS status-code docs list it under 403);
 * - `+15005550004` opted out → accepted (201), then a final `Rejected` per-recipient report with
 *   code 408 ("internal reject": refused before the operator; retrying gives the same result).
 *   Sinch's REST API has no synchronous opt-out refusal: blocked recipients surface in the
 *   delivery report, and `Rejected` maps to `failed` (reference §2.7);
 * - `+15005550003` → 403 `unprovisioned_region`, the equivalent of Twilio's 21408 on the same
 *   number (DESIGN §5 names it as a provider-level refusal).
 */
import { createEmulatorResponder, type EmulatorLogFields } from '../../sandbox-kit/emulator-responder.ts';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ulid } from 'ulid';
import { MAGIC_NUMBERS, callbackRetryDelays } from '../../provider.ts';
import type { SandboxControl } from '../../provider.ts';
import type { SinchErrorBody } from '../sinch.errors.ts';
import { registerSinchConversationEmulator } from './sinch.conversation-emulator.ts';
import { registerSinchLookupEmulator } from './sinch.lookup-emulator.ts';
import type { SinchOAuthCredentials } from './sinch.lookup-emulator.ts';
import { SINCH_SANDBOX_CREDENTIALS, SINCH_SANDBOX_FROM } from './sinch.sandbox.ts';

/** How many batches `GET …/batches/:id` remembers (oldest dropped first). */
const MAX_STORED_BATCHES = 10_000;
/**
 * Sinch's own retry of a delivery report (`callbackRetry: "carrier"`): after a 5xx, a 429 or no
 * answer, 5 s after the first try, then doubling, the last one 81 920 s (~22 h 45 min) after the
 * first failure; another 4xx is never retried (reference §2.2, Sinch SMS REST API "Callbacks").
 */
export const SINCH_CALLBACK_RETRY_DELAYS_MS: readonly number[] = Array.from({ length: 15 }, (_, i) => 5_000 * 2 ** i);
/** We give up on a slow receiver sooner than a carrier would, so a dead one does not pile up sockets. */
const CALLBACK_TIMEOUT_MS = 10_000;
/** Sinch's default (and maximum) validity: 3 days after `send_at` (reference §2.1). */
const DEFAULT_EXPIRY_MS = 3 * 24 * 3600 * 1000;

/** Sinch's magic numbers: the shared three plus a region the sandbox account is not provisioned for. */
export const SINCH_MAGIC_NUMBERS = {
  ...MAGIC_NUMBERS,
  /** `to` → 403 `unprovisioned_region`. */
  unprovisionedRegion: '+15005550003',
} as const;

/** Per-recipient delivery report statuses the emulator sends (reference §2.2). */
export type SinchDlrStatus = 'Queued' | 'Dispatched' | 'Delivered' | 'Failed' | 'Rejected';

/** Detailed DLR codes used by the emulator (reference §2.2). */
export const SINCH_DLR_CODES = {
  delivered: 0,
  dispatched: 401,
  temporaryFailure: 404,
  internalReject: 408,
} as const;

/** The batch resource as Sinch serialises it (reference §2.1). */
export interface SinchBatchJson {
  id: string;
  to: string[];
  from: string;
  canceled: boolean;
  body: string;
  type: 'mt_text';
  created_at: string;
  modified_at: string;
  delivery_report: string;
  expire_at: string;
  flash_message: boolean;
  feedback_enabled: boolean;
  callback_url?: string;
  client_reference?: string;
}

/** A per-recipient delivery report as Sinch POSTs it (reference §2.2). */
export interface SinchRecipientReportJson {
  type: 'recipient_delivery_report_sms';
  batch_id: string;
  recipient: string;
  code: number;
  status: SinchDlrStatus;
  at: string;
  operator_status_at?: string;
  client_reference?: string;
  applied_originator?: string;
}

/** A batch delivery report (`summary`/`full`) as Sinch POSTs it (reference §2.2). */
export interface SinchBatchReportJson {
  type: 'delivery_report_sms';
  batch_id: string;
  total_message_count: number;
  statuses: { code: number; status: SinchDlrStatus; count: number; recipients?: string[] }[];
  client_reference?: string;
}

/** Options of {@link registerSinchEmulator}; tests use them to run an emulator with other credentials. */
export interface SinchEmulatorOptions {
  /** Credentials the emulator accepts and presents on callbacks; the documented sandbox ones by default. */
  credentials?: { servicePlanId: string; apiToken: string; callbackUsername: string; callbackPassword: string };
  /** OAuth2 project credentials the Number Lookup emulator accepts; the documented sandbox ones by default. */
  oauth?: SinchOAuthCredentials;
  /** The Conversation app (RCS) and the secret its receipts are signed with; the documented sandbox ones by default. */
  conversation?: { appId: string; webhookSecret: string };
}

/** Builds Sinch's `{code, text}` error body. */
export function sinchErrorBody(code: string, text: string): SinchErrorBody {
  return { code, text };
}

/** Sinch's body for an injected/outage status (401, 429, 5xx…). */
function injectedErrorBody(status: number): SinchErrorBody {
  if (status === 401) return sinchErrorBody('unauthorized', 'Unauthorized');
  if (status === 429) return sinchErrorBody('too_many_requests', 'Too many requests');
  if (status === 503) return sinchErrorBody('service_unavailable', 'Service unavailable');
  if (status >= 500) return sinchErrorBody('internal_error', STATUS_CODES[status] ?? 'Internal error');
  return sinchErrorBody('error', STATUS_CODES[status] ?? 'Error');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An MSISDN as Sinch takes it: digits with an optional leading `+`. */
const MSISDN = /^\+?[1-9]\d{1,14}$/;

/** `+`-prefixed E.164 for table and magic-number look-ups. */
function e164(msisdn: string): string {
  return msisdn.startsWith('+') ? msisdn : `+${msisdn}`;
}

/** Reads the `to` array, or undefined when absent or not an array of strings. */
function recipientsOf(body: Record<string, unknown> | undefined): string[] | undefined {
  const to = body?.['to'];
  if (!Array.isArray(to) || !to.every((t): t is string => typeof t === 'string')) return undefined;
  return to;
}

/**
 * Registers the Sinch emulator on a Fastify instance:
 * - `POST /xms/v1/:servicePlanId/batches` → 201 batch JSON, or Sinch's own errors (401 for a wrong
 *   token or service plan; 400 `syntax_invalid_json` / `syntax_constraint_violation` for a bad
 *   body; the magic numbers above; numbers the sandbox table marks invalid → 400
 *   `syntax_invalid_parameter_format`, landline → 403 `illegal_number_type`), then delivery
 *   reports per `delivery_report`: `per_recipient` sends `Dispatched` (code 401) then `Delivered`
 *   (code 0) or `Failed` (scenario `dlrErrorCode`, default 404), `per_recipient_final` only the
 *   final one, `summary`/`full` one batch report, `none` nothing.
 * - `GET /xms/v1/:servicePlanId/batches/:batchId` from a bounded in-memory store.
 * - `POST /oauth2/token` and Number Lookup `POST /v2/projects/:projectId/lookups`: see
 *   `sinch.lookup-emulator.ts`.
 * - RCS through Conversation `POST /v1/projects/:projectId/messages:send` (any host but FCM's),
 *   with signed delivery receipts: see `sinch.conversation-emulator.ts`.
 * Callbacks are POSTed as JSON with HTTP Basic (the sandbox callback credentials).
 * Scenario (`control`): outage → 503 at once; otherwise latency, then an injected failure (`429`
 * and `503` carry `Retry-After` when `retryAfterSec` is set). Every request is recorded (reference
 * = `client_reference`); `acceptedSend` only once a 201 was fully written.
 */
export function registerSinchEmulator(app: FastifyInstance, control: SandboxControl, options: SinchEmulatorOptions = {}): void {
  const credentials = options.credentials ?? SINCH_SANDBOX_CREDENTIALS;
  const callbackAuth = 'Basic ' + Buffer.from(`${credentials.callbackUsername}:${credentials.callbackPassword}`).toString('base64');
  const batches = new Map<string, SinchBatchJson>();

  const answer = createEmulatorResponder(control, 'sinch', { acceptedStatus: 201 });

  function failure(status: number): { body: SinchErrorBody; headers: Record<string, string> } {
    const scenario = control.scenario('sinch');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    // No "expired" in the challenge: the SDK would take it for an OAuth token to refresh.
    if (status === 401) headers['www-authenticate'] = 'Bearer realm="XMS"';
    return { body: injectedErrorBody(status), headers };
  }

  function authorized(request: FastifyRequest, servicePlanId: string): boolean {
    return request.headers.authorization === `Bearer ${credentials.apiToken}` && servicePlanId === credentials.servicePlanId;
  }

  /**
   * What every XMS route does first, as the carrier would: an outage answers 503, then the
   * configured latency, then the service plan's bearer token (401). Returns the refusal already
   * sent, or undefined when the request may go on.
   */
  async function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    servicePlanId: string,
    log: EmulatorLogFields,
  ): Promise<FastifyReply | undefined> {
    if (control.scenario('sinch').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, log, f.headers);
    }
    await control.delay('sinch');
    if (!authorized(request, servicePlanId)) {
      const f = failure(401);
      return answer(reply, request, 401, f.body, log, f.headers);
    }
    return undefined;
  }

  function store(batch: SinchBatchJson): void {
    batches.set(batch.id, batch);
    if (batches.size > MAX_STORED_BATCHES) {
      const oldest = batches.keys().next();
      if (oldest.done !== true) batches.delete(oldest.value);
    }
  }

  /** POSTs one delivery report, retrying 5xx/429/no answer briefly (never another 4xx); counts each try. */
  async function postReport(url: string, report: SinchRecipientReportJson | SinchBatchReportJson, retry: number): Promise<void> {
    const scenario = control.scenario('sinch');
    // A lost report: the recipient's state already moved (the delivery report read answers it).
    if (scenario.callbacks === 'drop') return;
    let ok = false;
    let retryable = true;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: callbackAuth, 'user-agent': 'Sinch-XMS-Callback/1.0' },
        body: JSON.stringify(report),
        redirect: 'manual',
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      ok = res.status >= 200 && res.status < 300;
      retryable = res.status >= 500 || res.status === 429;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      ok = false;
    }
    control.callbackResult('sinch', ok);
    const delay = callbackRetryDelays(scenario, SINCH_CALLBACK_RETRY_DELAYS_MS)[retry];
    if (!ok && retryable && delay !== undefined) {
      control.schedule(delay, () => postReport(url, report, retry + 1));
    }
  }

  /** What `GET …/batches/:id/delivery_report/:msisdn` answers: each recipient's latest report (Sinch keeps them). */
  const recipientStates = new Map<string, Map<string, SinchRecipientReportJson>>();

  /** The recipient's report as Sinch would now answer it (the initial `Queued`, code 400, until a report moved it). */
  function setRecipientState(
    batch: SinchBatchJson,
    recipient: string,
    status: SinchDlrStatus,
    code: number,
    defaultOriginator: boolean,
  ): SinchRecipientReportJson {
    const now = new Date().toISOString();
    const report: SinchRecipientReportJson = {
      type: 'recipient_delivery_report_sms',
      batch_id: batch.id,
      // Sinch writes recipients without the `+` (reference §2.2).
      recipient: recipient.replace(/^\+/, ''),
      code,
      status,
      at: now,
    };
    if (status !== 'Dispatched' && status !== 'Rejected' && status !== 'Queued') report.operator_status_at = now;
    if (batch.client_reference !== undefined) report.client_reference = batch.client_reference;
    if (defaultOriginator) report.applied_originator = batch.from;
    let states = recipientStates.get(batch.id);
    if (states === undefined) {
      states = new Map();
      recipientStates.set(batch.id, states);
      if (recipientStates.size > MAX_STORED_BATCHES) {
        const oldest = recipientStates.keys().next();
        if (oldest.done !== true) recipientStates.delete(oldest.value);
      }
    }
    states.set(report.recipient, report);
    return report;
  }

  /** Moves the recipient's state, then reports it when the batch asked for per-recipient reports. */
  function recipientReport(
    batch: SinchBatchJson,
    recipient: string,
    status: SinchDlrStatus,
    code: number,
    defaultOriginator: boolean,
    post: boolean,
  ): () => Promise<void> {
    return async () => {
      const report = setRecipientState(batch, recipient, status, code, defaultOriginator);
      if (post) await postReport(batch.callback_url ?? '', report, 0);
    };
  }

  function batchReport(
    batch: SinchBatchJson,
    outcomes: { recipient: string; status: SinchDlrStatus; code: number }[],
    full: boolean,
    defaultOriginator: boolean,
  ): () => Promise<void> {
    return async () => {
      const groups = new Map<string, { code: number; status: SinchDlrStatus; count: number; recipients: string[] }>();
      for (const o of outcomes) {
        setRecipientState(batch, o.recipient, o.status, o.code, defaultOriginator);
        const key = `${o.status}:${o.code}`;
        const group = groups.get(key) ?? { code: o.code, status: o.status, count: 0, recipients: [] };
        group.count += 1;
        group.recipients.push(o.recipient.replace(/^\+/, ''));
        groups.set(key, group);
      }
      const report: SinchBatchReportJson = {
        type: 'delivery_report_sms',
        batch_id: batch.id,
        total_message_count: outcomes.length,
        statuses: [...groups.values()].map((g) => (full ? g : { code: g.code, status: g.status, count: g.count })),
      };
      if (batch.client_reference !== undefined) report.client_reference = batch.client_reference;
      await postReport(batch.callback_url ?? '', report, 0);
    };
  }

  /**
   * Every recipient starts `Queued`; unless the scenario says `dlr: "none"` its state then moves
   * (`Dispatched`, then the final one) whether or not a report is posted: the delivery-report read
   * answers from this state, the callbacks report the same moves.
   */
  function scheduleReports(batch: SinchBatchJson, defaultOriginator: boolean): void {
    for (const recipient of batch.to) setRecipientState(batch, recipient, 'Queued', 400, defaultOriginator);
    const url = batch.callback_url;
    const scenario = control.scenario('sinch');
    if (scenario.dlr === 'none') return;
    const kind = batch.delivery_report;
    const reachable = url !== undefined && /^https?:\/\//i.test(url);
    const perRecipient = reachable && (kind === 'per_recipient' || kind === 'per_recipient_final');
    const delay = Math.max(0, scenario.dlrDelayMs);
    const failedCode = Number(scenario.dlrErrorCode);
    const finals = batch.to.map((recipient) => {
      if (e164(recipient) === SINCH_MAGIC_NUMBERS.optedOut) {
        return { recipient, status: 'Rejected' as const, code: SINCH_DLR_CODES.internalReject, at: Math.floor(delay / 2) };
      }
      if (scenario.dlr === 'delivered') return { recipient, status: 'Delivered' as const, code: SINCH_DLR_CODES.delivered, at: delay };
      return {
        recipient,
        status: 'Failed' as const,
        code: Number.isInteger(failedCode) && failedCode > 0 ? failedCode : SINCH_DLR_CODES.temporaryFailure,
        at: delay,
      };
    });
    if (reachable && (kind === 'summary' || kind === 'full')) {
      control.schedule(delay, batchReport(batch, finals, kind === 'full', defaultOriginator));
      return;
    }
    for (const final of finals) {
      if (final.status !== 'Rejected') {
        // `per_recipient_final` reports only the final state; the state itself passes `Dispatched` either way.
        control.schedule(
          Math.floor(delay / 2),
          recipientReport(
            batch,
            final.recipient,
            'Dispatched',
            SINCH_DLR_CODES.dispatched,
            defaultOriginator,
            perRecipient && kind === 'per_recipient',
          ),
        );
      }
      control.schedule(final.at, recipientReport(batch, final.recipient, final.status, final.code, defaultOriginator, perRecipient));
    }
  }

  /** The synchronous refusal Sinch would answer for this batch, if any. */
  function refusal(body: Record<string, unknown>, to: string[] | undefined): { status: number; body: SinchErrorBody } | undefined {
    if (to === undefined || to.length === 0) {
      return {
        status: 400,
        body: sinchErrorBody('syntax_constraint_violation', 'Constraint violation: to must contain at least 1 element'),
      };
    }
    if (typeof body['body'] !== 'string' || body['body'] === '') {
      return { status: 400, body: sinchErrorBody('syntax_constraint_violation', 'Constraint violation: body must not be empty') };
    }
    if (body['callback_url'] !== undefined && (typeof body['callback_url'] !== 'string' || !URL.canParse(body['callback_url']))) {
      return { status: 400, body: sinchErrorBody('syntax_invalid_parameter_format', 'Invalid parameter format: callback_url') };
    }
    const invalidTo = { status: 400, body: sinchErrorBody('syntax_invalid_parameter_format', 'Invalid parameter format: to') };
    for (const recipient of to) {
      if (!MSISDN.test(recipient)) return invalidTo;
      const number = e164(recipient);
      if (number === SINCH_MAGIC_NUMBERS.invalid || !control.number(number).valid) return invalidTo;
      if (number === SINCH_MAGIC_NUMBERS.unprovisionedRegion) {
        return { status: 403, body: sinchErrorBody('unprovisioned_region', `The account is not provisioned for the region of ${number}`) };
      }
      if (number === SINCH_MAGIC_NUMBERS.notSmsCapable || control.number(number).lineType === 'landline') {
        return { status: 403, body: sinchErrorBody('illegal_number_type', `Illegal number type of MSISDN ${number} for the region`) };
      }
    }
    return undefined;
  }

  /**
   * Body-parsing failures (bad JSON, empty body, wrong content type) in Sinch's shape rather than
   * Fastify's, recorded like every other answer.
   */
  function parseErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 413) return answer(reply, request, 413, sinchErrorBody('syntax_constraint_violation', 'Request body too large'), {});
    if (status >= 500) return answer(reply, request, 500, injectedErrorBody(500), {});
    return answer(reply, request, 400, sinchErrorBody('syntax_invalid_json', `Invalid JSON: ${error.message}`), {});
  }

  app.post<{ Params: { servicePlanId: string } }>(
    '/xms/v1/:servicePlanId/batches',
    { errorHandler: parseErrorHandler },
    async (request, reply) => {
      const body = isRecord(request.body) ? request.body : undefined;
      const to = recipientsOf(body);
      const log = { to: to?.[0] === undefined ? undefined : e164(to[0]), reference: str(body?.['client_reference']) };

      const turnedAway = await refuse(request, reply, request.params.servicePlanId, log);
      if (turnedAway !== undefined) return turnedAway;
      const injected = control.injectedFailure('sinch');
      if (injected !== undefined) {
        const f = failure(injected);
        return answer(reply, request, injected, f.body, log, f.headers);
      }
      if (body === undefined)
        return answer(reply, request, 400, sinchErrorBody('syntax_invalid_json', 'Invalid JSON: expected an object'), log);
      const refused = refusal(body, to);
      if (refused !== undefined) return answer(reply, request, refused.status, refused.body, log);

      const now = new Date();
      const from = str(body['from']);
      const expireAt = str(body['expire_at']) ?? new Date(now.getTime() + DEFAULT_EXPIRY_MS).toISOString();
      const batch: SinchBatchJson = {
        id: ulid(),
        to: to ?? [],
        // Without `from`, Sinch applies the service plan's default originator.
        from: from ?? SINCH_SANDBOX_FROM,
        canceled: false,
        body: String(body['body']),
        type: 'mt_text',
        created_at: now.toISOString(),
        modified_at: now.toISOString(),
        delivery_report: str(body['delivery_report']) ?? 'none',
        expire_at: expireAt,
        flash_message: body['flash_message'] === true,
        feedback_enabled: body['feedback_enabled'] === true,
      };
      const callbackUrl = str(body['callback_url']);
      if (callbackUrl !== undefined) batch.callback_url = callbackUrl;
      if (log.reference !== undefined) batch.client_reference = log.reference;
      store(batch);
      scheduleReports(batch, from === undefined);
      return answer(reply, request, 201, JSON.stringify(batch), { ...log, body: batch.body });
    },
  );

  app.get<{ Params: { servicePlanId: string; batchId: string } }>('/xms/v1/:servicePlanId/batches/:batchId', async (request, reply) => {
    const turnedAway = await refuse(request, reply, request.params.servicePlanId, {});
    if (turnedAway !== undefined) return turnedAway;
    const batch = batches.get(request.params.batchId);
    if (batch === undefined) {
      return answer(reply, request, 404, sinchErrorBody('not_found', `Batch ${request.params.batchId} not found`), {});
    }
    return answer(reply, request, 200, JSON.stringify(batch), {
      to: batch.to[0] === undefined ? undefined : e164(batch.to[0]),
      reference: batch.client_reference,
    });
  });

  app.get<{ Params: { servicePlanId: string; batchId: string; msisdn: string } }>(
    '/xms/v1/:servicePlanId/batches/:batchId/delivery_report/:msisdn',
    async (request, reply) => {
      const recipient = decodeURIComponent(request.params.msisdn).replace(/^\+/, '');
      const log = { to: e164(recipient) };
      const turnedAway = await refuse(request, reply, request.params.servicePlanId, log);
      if (turnedAway !== undefined) return turnedAway;
      const report = recipientStates.get(request.params.batchId)?.get(recipient);
      if (report === undefined) {
        return answer(
          reply,
          request,
          404,
          sinchErrorBody('not_found', `No delivery report for ${recipient} in batch ${request.params.batchId}`),
          log,
        );
      }
      return answer(reply, request, 200, JSON.stringify(report), { ...log, reference: report.client_reference });
    },
  );

  const tokens = registerSinchLookupEmulator(app, control, options.oauth);
  registerSinchConversationEmulator(app, control, {
    projectId: (options.oauth ?? SINCH_SANDBOX_CREDENTIALS).projectId,
    appId: options.conversation?.appId ?? SINCH_SANDBOX_CREDENTIALS.appId,
    webhookSecret: options.conversation?.webhookSecret ?? SINCH_SANDBOX_CREDENTIALS.conversationWebhookSecret,
    tokens,
  });
}

/**
 * The sandbox side of RCS through the Sinch Conversation API (reference §2.3, §2.5): it speaks
 * Conversation's dialect — `POST /v1/projects/{projectId}/messages:send` with an OAuth2 Bearer
 * token from the Sinch token service, snake_case JSON, Google-style `{error:{code,message,status}}`
 * errors, `{message_id, accepted_time}` on success — and POSTs `message_delivery_report` callbacks
 * to the message's `callback_url`, HMAC-signed exactly as Sinch signs them, so the official SDK and
 * our verification run for real.
 *
 * FCM's HTTP v1 API has the same path; its emulator only takes `Host: fcm.googleapis.com` (a
 * Fastify host constraint, which wins over this unconstrained route), so every other host lands here.
 *
 * What happens to a message, per the sandbox number table (CONTRACTS §6) and the `sinch` scenario:
 * the channels are tried in `channel_priority_order` (else the identities' order):
 * - `RCS` reaches the number only when its table entry has `rcs: true`;
 *   `SMS` unless it is a landline or the not-SMS-capable magic number;
 * - a channel that cannot reach it → `SWITCHING_CHANNEL` (reason `RECIPIENT_NOT_REACHABLE`) when
 *   another channel is left, else `FAILED` with `RECIPIENT_NOT_REACHABLE` — what an RCS-only send
 *   to a non-RCS handset gets;
 * - the first channel that can → `QUEUED_ON_CHANNEL`, then `DELIVERED` (scenario `dlr`
 *   `delivered`) or `FAILED` with reason `dlrErrorCode` (default `CHANNEL_FAILURE`, transient) for
 *   `undelivered`; `dlr: none` sends no receipts at all;
 * - an invalid number (table `valid: false`, or the invalid magic number) → `FAILED` with
 *   `RECIPIENT_INVALID_CHANNEL_IDENTITY`.
 * - `WHATSAPP` reaches a number on WhatsApp (`sandboxOnWhatsApp`: unless the table says
 *   `whatsapp: false`, every valid non-landline number) and only with a `template_message`
 *   (`sinch.whatsapp-emulator.ts`; free text → `FAILED` `OUTSIDE_ALLOWED_SENDING_WINDOW`); one not
 *   on WhatsApp → `FAILED` with `RECIPIENT_NOT_REACHABLE` (`channel_code` 131026); a delivered
 *   WhatsApp message is then `READ`.
 * Receipts come `dlrDelayMs / 2` (queued, switching a quarter in) and `dlrDelayMs` after the send
 * (WhatsApp's `READ` half a delay later).
 * A 5xx/429/unanswered callback is retried briefly (re-signed), never another 4xx.
 */
import { createEmulatorResponder } from '../../sandbox-kit/emulator-responder.ts';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ulid } from 'ulid';
import { MAGIC_NUMBERS, callbackRetryDelays, sandboxOnWhatsApp } from '../../provider.ts';
import type { SandboxControl, SandboxNumber } from '../../provider.ts';
import { sinchConversationSignatureHeaders } from '../sinch.conversation-webhook.ts';
import type { SinchIssuedTokens } from './sinch.lookup-emulator.ts';
import { SINCH_WHATSAPP_CHANNEL } from '../sinch.whatsapp.ts';
import { sinchWhatsAppTemplateCheck } from './sinch.whatsapp-emulator.ts';

/** Paths as the SDK writes them; the `:` of `messages:send` is literal (escaped for Fastify). */
const SEND_ROUTE = '/v1/projects/:projectId/messages::send';
/**
 * Retry of a failed delivery receipt under `callbackRetry: "carrier"`: the reference documents no
 * schedule for Conversation API callbacks, so two short retries; `callbackRetry` sets another.
 */
const CALLBACK_RETRY_DELAYS_MS: readonly number[] = [500, 2_000];
const CALLBACK_TIMEOUT_MS = 10_000;
const MSISDN = /^\+?[1-9]\d{1,14}$/;
/** Channels the sandbox app has configured. */
const APP_CHANNELS: ReadonlySet<string> = new Set(['RCS', 'SMS', SINCH_WHATSAPP_CHANNEL]);
/** The failure reason of `dlr: undelivered` without a `dlrErrorCode`: the channel failed (transient). */
export const SINCH_CONVERSATION_DEFAULT_FAILURE = 'CHANNEL_FAILURE';

/** Conversation's Google-style error body. */
export interface SinchConversationErrorBody {
  error: { code: number; message: string; status: string; details: unknown[] };
}

/** A `message_delivery_report` callback as Sinch POSTs it (reference §2.5). */
export interface SinchDeliveryReceiptJson {
  app_id: string;
  project_id: string;
  accepted_time: string;
  event_time: string;
  message_metadata?: string;
  correlation_id?: string;
  message_delivery_report: {
    message_id: string;
    processing_mode: 'DISPATCH';
    status: 'QUEUED_ON_CHANNEL' | 'DELIVERED' | 'READ' | 'FAILED' | 'SWITCHING_CHANNEL';
    channel_identity: { channel: string; identity: string; app_id: string };
    reason?: { code: string; description: string; sub_code: string; channel_code?: string };
    metadata?: string;
  };
}

/** What the Conversation emulator needs (the Sinch emulator passes its own). */
export interface SinchConversationEmulatorOptions {
  projectId: string;
  appId: string;
  /** The secret receipts are signed with (the app's `secret_for_overridden_callback_urls`). */
  webhookSecret: string;
  /** Tokens of the Sinch emulator's `/oauth2/token`. */
  tokens: SinchIssuedTokens;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** Conversation's error body for a status. */
export function sinchConversationErrorBody(code: number, message?: string): SinchConversationErrorBody {
  return { error: { code, message: message ?? STATUS_CODES[code] ?? 'Error', status: STATUS_NAMES[code] ?? 'UNKNOWN', details: [] } };
}

/** Reason descriptions as Sinch words them. */
const REASON_TEXT: Readonly<Record<string, string>> = {
  RECIPIENT_NOT_REACHABLE: 'The recipient cannot be reached on this channel.',
  RECIPIENT_INVALID_CHANNEL_IDENTITY: 'The channel identity of the recipient is invalid.',
  CHANNEL_FAILURE: 'The channel failed to deliver the message.',
  TEMPLATE_NOT_FOUND: 'The template does not exist for this sender.',
  TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION: 'The template has no translation in this language.',
  TEMPLATE_INSUFFICIENT_PARAMETERS: 'The template needs more parameters than were given.',
  OUTSIDE_ALLOWED_SENDING_WINDOW: 'Free text outside the 24-hour customer care window; send a template.',
};

/** What WhatsApp answers for a recipient without an account (Meta 131026, "message undeliverable"), carried as `channel_code`. */
export const SINCH_WHATSAPP_NOT_REGISTERED_CHANNEL_CODE = '131026';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function e164(msisdn: string): string {
  return msisdn.startsWith('+') ? msisdn : `+${msisdn}`;
}

/** One receipt to send: its status, the channel it is about, an optional reason and when. */
export interface PlannedReceipt {
  status: SinchDeliveryReceiptJson['message_delivery_report']['status'];
  channel: string;
  reason?: string;
  atMs: number;
}

/** Whether a channel reaches a number in the sandbox (see the file comment). */
function reaches(channel: string, number: string, entry: SandboxNumber): boolean {
  if (channel === 'RCS') return entry.rcs;
  if (channel === 'SMS') return entry.lineType !== 'landline' && number !== MAGIC_NUMBERS.notSmsCapable;
  if (channel === SINCH_WHATSAPP_CHANNEL) return sandboxOnWhatsApp(number, entry);
  return false;
}

/** The receipts one accepted message gets (see the file comment). Pure. */
export function planSinchReceipts(
  channels: readonly string[],
  number: string,
  entry: SandboxNumber,
  scenario: { dlr: 'delivered' | 'undelivered' | 'none'; dlrErrorCode?: string; dlrDelayMs: number },
  opts: { failure?: string } = {},
): PlannedReceipt[] {
  if (scenario.dlr === 'none' || channels.length === 0) return [];
  const delay = Math.max(0, scenario.dlrDelayMs);
  const first = channels[0] ?? 'RCS';
  if (!entry.valid || number === MAGIC_NUMBERS.invalid) {
    return [{ status: 'FAILED', channel: first, reason: 'RECIPIENT_INVALID_CHANNEL_IDENTITY', atMs: Math.floor(delay / 2) }];
  }
  // The message itself cannot be sent (a template problem, free text on WhatsApp): before a channel tries.
  if (opts.failure !== undefined) return [{ status: 'FAILED', channel: first, reason: opts.failure, atMs: Math.floor(delay / 2) }];
  const out: PlannedReceipt[] = [];
  for (const [i, channel] of channels.entries()) {
    if (!reaches(channel, number, entry)) {
      const last = i === channels.length - 1;
      out.push({
        status: last ? 'FAILED' : 'SWITCHING_CHANNEL',
        channel,
        reason: 'RECIPIENT_NOT_REACHABLE',
        atMs: last ? Math.floor(delay / 2) : Math.floor(delay / 4),
      });
      if (last) return out;
      continue;
    }
    out.push({ status: 'QUEUED_ON_CHANNEL', channel, atMs: Math.floor(delay / 2) });
    if (scenario.dlr === 'delivered') {
      out.push({ status: 'DELIVERED', channel, atMs: delay });
      // WhatsApp reports when the message is read (read receipts on, as WhatsApp's default).
      if (channel === SINCH_WHATSAPP_CHANNEL) out.push({ status: 'READ', channel, atMs: Math.floor(delay * 1.5) });
    } else out.push({ status: 'FAILED', channel, reason: scenario.dlrErrorCode ?? SINCH_CONVERSATION_DEFAULT_FAILURE, atMs: delay });
    return out;
  }
  return out;
}

/** Registers the Conversation emulator (see the file comment). */
export function registerSinchConversationEmulator(
  app: FastifyInstance,
  control: SandboxControl,
  options: SinchConversationEmulatorOptions,
): void {
  const answer = createEmulatorResponder(control, 'sinch', { acceptedStatus: 200, channel: 'rcs' });

  function failure(status: number): { body: SinchConversationErrorBody; headers: Record<string, string> } {
    const scenario = control.scenario('sinch');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    // No "expired" in the challenge: the SDK would take it for an OAuth token to refresh.
    if (status === 401) headers['www-authenticate'] = 'Bearer error="invalid_token"';
    return { body: sinchConversationErrorBody(status), headers };
  }

  async function postReceipt(url: string, receipt: SinchDeliveryReceiptJson, retry: number): Promise<void> {
    // A lost receipt (scenario `callbacks: "drop"`).
    if (control.scenario('sinch').callbacks === 'drop') return;
    let ok = false;
    let retryable = true;
    const raw = JSON.stringify(receipt);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Sinch-Conversation-Callback/1.0',
          // Re-signed on every try, as Sinch does: a retry has a fresh nonce and timestamp.
          ...sinchConversationSignatureHeaders(options.webhookSecret, raw, ulid(), Math.floor(Date.now() / 1000)),
        },
        body: raw,
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
    const delay = callbackRetryDelays(control.scenario('sinch'), CALLBACK_RETRY_DELAYS_MS)[retry];
    if (!ok && retryable && delay !== undefined) control.schedule(delay, () => postReceipt(url, receipt, retry + 1));
  }

  function receiptFor(
    plan: PlannedReceipt,
    message: { id: string; acceptedAt: string; identity: string; metadata: string | undefined; correlationId: string | undefined },
  ): SinchDeliveryReceiptJson {
    const receipt: SinchDeliveryReceiptJson = {
      app_id: options.appId,
      project_id: options.projectId,
      accepted_time: message.acceptedAt,
      event_time: new Date().toISOString(),
      message_delivery_report: {
        message_id: message.id,
        processing_mode: 'DISPATCH',
        status: plan.status,
        // Sinch writes the identity without its `+` (reference §2.5).
        channel_identity: { channel: plan.channel, identity: message.identity.replace(/^\+/, ''), app_id: '' },
      },
    };
    if (message.metadata !== undefined) {
      receipt.message_metadata = message.metadata;
      receipt.message_delivery_report.metadata = message.metadata;
    }
    if (message.correlationId !== undefined) receipt.correlation_id = message.correlationId;
    if (plan.reason !== undefined) {
      receipt.message_delivery_report.reason = {
        code: plan.reason,
        description: REASON_TEXT[plan.reason] ?? plan.reason,
        sub_code: 'UNSPECIFIED_SUB_CODE',
      };
      if (plan.channel === SINCH_WHATSAPP_CHANNEL && plan.reason === 'RECIPIENT_NOT_REACHABLE') {
        receipt.message_delivery_report.reason.description = 'The recipient is not a WhatsApp user.';
        receipt.message_delivery_report.reason.channel_code = SINCH_WHATSAPP_NOT_REGISTERED_CHANNEL_CODE;
      }
    }
    return receipt;
  }

  /** The request's refusal, if any (Conversation answers these synchronously). */
  function refusal(body: Record<string, unknown>): SinchConversationErrorBody | undefined {
    const appId = str(body['app_id']);
    if (appId === undefined) return sinchConversationErrorBody(400, 'app_id is required');
    if (appId !== options.appId) return sinchConversationErrorBody(404, `App ${appId} not found`);
    const recipient = isRecord(body['recipient']) ? body['recipient'] : undefined;
    const identifiedBy = isRecord(recipient?.['identified_by']) ? recipient['identified_by'] : undefined;
    const identities = identifiedBy?.['channel_identities'];
    if (!Array.isArray(identities) || identities.length === 0)
      return sinchConversationErrorBody(400, 'recipient.identified_by.channel_identities must not be empty');
    for (const identity of identities) {
      if (!isRecord(identity) || str(identity['channel']) === undefined || str(identity['identity']) === undefined) {
        return sinchConversationErrorBody(400, 'each channel identity needs a channel and an identity');
      }
      if (!APP_CHANNELS.has(String(identity['channel'])))
        return sinchConversationErrorBody(400, `Channel ${String(identity['channel'])} is not configured for app ${appId}`);
      if (!MSISDN.test(String(identity['identity'])))
        return sinchConversationErrorBody(400, `Invalid channel identity: ${String(identity['identity'])}`);
    }
    const order = body['channel_priority_order'];
    if (order !== undefined && (!Array.isArray(order) || !order.every((c) => typeof c === 'string' && APP_CHANNELS.has(c)))) {
      return sinchConversationErrorBody(400, `channel_priority_order holds a channel not configured for app ${appId}`);
    }
    const message = isRecord(body['message']) ? body['message'] : undefined;
    if (message === undefined) return sinchConversationErrorBody(400, 'message is required');
    if (isRecord(message['template_message'])) {
      const problem = sinchWhatsAppTemplateCheck(message['template_message']);
      if ('refusal' in problem) return sinchConversationErrorBody(400, problem.refusal);
      return undefined;
    }
    const text = isRecord(message['text_message']) ? str(message['text_message']['text']) : undefined;
    if (text === undefined)
      return sinchConversationErrorBody(400, 'the sandbox takes text_message with a non-empty text, or a WhatsApp template_message');
    const callbackUrl = body['callback_url'];
    if (callbackUrl !== undefined && (typeof callbackUrl !== 'string' || !URL.canParse(callbackUrl)))
      return sinchConversationErrorBody(400, 'Invalid callback_url');
    const ttl = body['ttl'];
    if (ttl !== undefined && (typeof ttl !== 'string' || !/^\d+s$/.test(ttl) || Number(ttl.slice(0, -1)) < 3))
      return sinchConversationErrorBody(400, 'Invalid ttl');
    return undefined;
  }

  /** Body-parsing failures in Conversation's shape, recorded like every other answer. */
  function parseErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
    return answer(
      reply,
      request,
      status,
      sinchConversationErrorBody(status, status === 400 ? `Invalid JSON payload received. ${error.message}` : undefined),
      {},
    );
  }

  app.post<{ Params: { projectId: string } }>(SEND_ROUTE, { errorHandler: parseErrorHandler }, async (request, reply) => {
    const body = isRecord(request.body) ? request.body : undefined;
    const recipient = isRecord(body?.['recipient']) ? body['recipient'] : undefined;
    const identities = isRecord(recipient?.['identified_by']) ? recipient['identified_by']['channel_identities'] : undefined;
    const firstIdentity = Array.isArray(identities) && isRecord(identities[0]) ? str(identities[0]['identity']) : undefined;
    const message = isRecord(body?.['message']) ? body['message'] : undefined;
    const firstChannel = Array.isArray(identities) && isRecord(identities[0]) ? str(identities[0]['channel']) : undefined;
    const onWhatsApp = firstChannel === SINCH_WHATSAPP_CHANNEL;
    const template =
      message !== undefined && isRecord(message['template_message']) ? sinchWhatsAppTemplateCheck(message['template_message']) : undefined;
    const log = {
      to: firstIdentity !== undefined && MSISDN.test(firstIdentity) ? e164(firstIdentity) : undefined,
      reference: str(body?.['message_metadata']) ?? str(body?.['correlation_id']),
      body:
        template !== undefined
          ? 'text' in template
            ? template.text
            : undefined
          : message !== undefined && isRecord(message['text_message'])
            ? str(message['text_message']['text'])
            : undefined,
      ...(onWhatsApp ? { channel: 'whatsapp' as const } : {}),
    };

    if (control.scenario('sinch').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, log, f.headers);
    }
    await control.delay('sinch');
    const auth = request.headers.authorization;
    const token = auth?.startsWith('Bearer ') === true ? auth.slice(7).trim() : undefined;
    if (token === undefined || !options.tokens.has(token)) {
      return answer(reply, request, 401, sinchConversationErrorBody(401, 'Request had invalid authentication credentials.'), log, {
        'www-authenticate': options.tokens.challenge(token),
      });
    }
    if (request.params.projectId !== options.projectId) {
      return answer(reply, request, 403, sinchConversationErrorBody(403, `No access to project ${request.params.projectId}`), log);
    }
    const injected = control.injectedFailure('sinch');
    if (injected !== undefined) {
      const f = failure(injected);
      return answer(reply, request, injected, f.body, log, f.headers);
    }
    if (body === undefined) return answer(reply, request, 400, sinchConversationErrorBody(400, 'Invalid JSON payload received.'), log);
    const refused = refusal(body);
    if (refused !== undefined) return answer(reply, request, refused.error.code, refused, log);

    const acceptedAt = new Date().toISOString();
    const id = ulid();
    const callbackUrl = str(body['callback_url']);
    const channelIdentities = (identities as Record<string, unknown>[]).map((i) => ({
      channel: String(i['channel']),
      identity: String(i['identity']),
    }));
    const order = Array.isArray(body['channel_priority_order'])
      ? (body['channel_priority_order'] as string[])
      : channelIdentities.map((i) => i.channel);
    const number = e164(channelIdentities[0]?.identity ?? '');
    if (callbackUrl !== undefined && /^https?:\/\//i.test(callbackUrl)) {
      const scenario = control.scenario('sinch');
      // WhatsApp takes business-initiated messages only as approved templates (free text fails).
      const failure =
        template !== undefined && 'failure' in template
          ? template.failure
          : onWhatsApp && template === undefined
            ? 'OUTSIDE_ALLOWED_SENDING_WINDOW'
            : undefined;
      const plans = planSinchReceipts(order, number, control.number(number), scenario, failure !== undefined ? { failure } : {});
      const messageFacts = {
        id,
        acceptedAt,
        identity: number,
        metadata: str(body['message_metadata']),
        correlationId: str(body['correlation_id']),
      };
      for (const plan of plans) control.schedule(plan.atMs, () => postReceipt(callbackUrl, receiptFor(plan, messageFacts), 0));
    }
    // Conversation answers 200 (not 201) with the message id and when it was accepted.
    return answer(reply, request, 200, { accepted_time: acceptedAt, message_id: id }, log);
  });
}

/**
 * RCS through the Sinch Conversation API (reference §2.5) with the official `@sinch/sdk-core`
 * (`conversation.messages.send`).
 *
 * Switchboard asks for **RCS only** — `channel_priority_order: ['RCS']` and a single RCS channel
 * identity — and owns the fallback itself (DESIGN §6.3), so an SMS is never sent twice nor labelled
 * RCS. A handset that cannot take RCS is accepted (200) and then reported `FAILED` with
 * `RECIPIENT_NOT_REACHABLE`.
 *
 * Each send carries our message id three ways: `message_metadata` (echoed as `message_metadata`
 * and `message_delivery_report.metadata`), `correlation_id`, and the `sb` parameter of the
 * `callback_url` the gateway passes (`${publicUrl}/webhooks/sinch/conversation?sb=<msgId>`).
 * Overriding `callback_url` per message makes Sinch sign receipts with the app's
 * `secret_for_overridden_callback_urls` (reference §2.3) — `conversationWebhookSecret` here.
 *
 * Conversation is OAuth2-only: the SDK trades `keyId:keySecret` for a token at
 * `{authHostname}/oauth2/token` (its own client, as for Number Lookup), then calls
 * `POST {conversationHostname}/v1/projects/{projectId}/messages:send`. In sandbox mode both
 * hostnames are the sandbox URL (reference §2.6).
 */
import { SinchClient } from '@sinch/sdk-core';
import type { Conversation } from '@sinch/sdk-core';
import { ProviderError } from '../errors.ts';
import type { ProviderDeps, SendRequest, SendResult } from '../provider.ts';
import type { SinchConfig } from './sinch.config.ts';
import { classifySinchError, decodeSinchErrorData } from './sinch.errors.ts';
import { AbortSignalRequestPlugin, runSinchCall } from './sinch.request-plugin.ts';
import { buildSinchWhatsAppRequest } from './sinch.whatsapp.ts';

/** Conversation's `ttl` range starts at 3 s (SDK `SendMessageRequestBase.ttl`). */
export const SINCH_CONVERSATION_MIN_TTL_SECONDS = 3;

/** The RCS-only request body of one send (see the file comment). Pure. */
export function buildSinchRcsRequest(req: SendRequest, appId: string): Conversation.SendMessageRequest<Conversation.IdentifiedBy> {
  const body: Conversation.SendMessageRequest<Conversation.IdentifiedBy> = {
    app_id: appId,
    recipient: { identified_by: { channel_identities: [{ channel: 'RCS', identity: req.to }] } },
    message: { text_message: { text: req.body } },
    channel_priority_order: ['RCS'],
    callback_url: req.statusCallbackUrl,
    message_metadata: req.messageId,
    correlation_id: req.messageId,
  };
  return withTtl(body, req.validitySeconds);
}

/** The OTP's validity as Conversation's `ttl`: Sinch stops trying (and does not fail over) once it passes. */
function withTtl(
  body: Conversation.SendMessageRequest<Conversation.IdentifiedBy>,
  validitySeconds: number | undefined,
): Conversation.SendMessageRequest<Conversation.IdentifiedBy> {
  if (validitySeconds !== undefined) body.ttl = `${Math.max(SINCH_CONVERSATION_MIN_TTL_SECONDS, Math.round(validitySeconds))}s`;
  return body;
}

/** Conversation's error body `{error:{code, message, status}}` (Google style), as far as it can be read from `RequestFailedError.data`. */
export function parseSinchConversationError(data: unknown): { message?: string; status?: string } {
  const error = decodeSinchErrorData(data)?.['error'];
  if (typeof error !== 'object' || error === null) return {};
  const e = error as Record<string, unknown>;
  const out: { message?: string; status?: string } = {};
  if (typeof e['message'] === 'string' && e['message'] !== '') out.message = e['message'];
  if (typeof e['status'] === 'string' && e['status'] !== '') out.status = e['status'];
  return out;
}

/**
 * Classifies a Conversation send failure: the kind follows `classifySinchError` (429 →
 * `rate_limited`, 401/403 → `auth`, 5xx/network → `retryable`, another 4xx → `permanent`/`provider`:
 * our request or app is wrong, another RCS provider may take it), with Conversation's
 * `error.status` as `providerCode` and its `error.message` in the text.
 */
export function classifySinchConversationError(err: unknown): ProviderError {
  const classified = classifySinchError(err);
  const body = typeof err === 'object' && err !== null ? parseSinchConversationError((err as { data?: unknown }).data) : {};
  if (classified.httpStatus === undefined || (body.message === undefined && body.status === undefined)) return classified;
  return new ProviderError(`sinch: conversation: ${body.message ?? body.status ?? ''} (HTTP ${classified.httpStatus})`, {
    kind: classified.kind,
    scope: classified.scope,
    ambiguous: classified.ambiguous,
    retryAfterMs: classified.retryAfterMs,
    providerCode: body.status ?? classified.providerCode,
    httpStatus: classified.httpStatus,
    provider: 'sinch',
    cause: err,
  });
}

/**
 * Builds the Conversation sender (RCS, and WhatsApp with `whatsappTemplateId`), or `undefined`
 * when the config has no Conversation app (`appId` and the OAuth2 trio): Sinch then stays SMS-only.
 * Each send has `deps.timeoutMs` in all, token fetch included (the SDK's token request takes no
 * signal, so a deadline races it). Rejects only with
 * `ProviderError`; a timeout after the request may have left is `retryable` + `ambiguous`.
 */
export function createSinchConversationSender(
  config: SinchConfig,
  deps: ProviderDeps,
): ((req: SendRequest) => Promise<SendResult>) | undefined {
  const { projectId, keyId, keySecret, appId } = config;
  if (projectId === undefined || keyId === undefined || keySecret === undefined || appId === undefined) return undefined;
  const base = deps.baseUrl?.replace(/\/+$/, '');
  const client = new SinchClient({
    projectId,
    keyId,
    keySecret,
    conversationRegion: config.conversationRegion,
    ...(base !== undefined ? { authHostname: base, conversationHostname: base } : {}),
    requestPlugins: [new AbortSignalRequestPlugin()],
    logger: null,
  });

  /** The request body by channel: WhatsApp sends the authentication template (`sinch.whatsapp.ts`), RCS text. */
  function requestBody(req: SendRequest, app: string): Conversation.SendMessageRequest<Conversation.IdentifiedBy> {
    const templateId = config.whatsappTemplateId;
    if (req.channel !== 'whatsapp') return buildSinchRcsRequest(req, app);
    if (templateId === undefined || req.otpCode === undefined || req.otpCode === '') {
      throw new ProviderError('sinch: WhatsApp sends an authentication template, which needs the template and the OTP code', {
        kind: 'permanent',
        scope: 'channel',
        provider: 'sinch',
      });
    }
    const body = buildSinchWhatsAppRequest(
      { ...req, otpCode: req.otpCode },
      { appId: app, templateId, languages: config.whatsappTemplateLanguages },
    );
    return withTtl(body, req.validitySeconds);
  }

  return async (req) => {
    const sendBody = requestBody(req, appId);
    const label = req.channel === 'whatsapp' ? 'WhatsApp' : 'RCS';
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ProviderError(`sinch: ${label} send timed out after ${deps.timeoutMs} ms; it may have reached Sinch`, {
              kind: 'retryable',
              ambiguous: true,
              provider: 'sinch',
            }),
          ),
        deps.timeoutMs + 50,
      );
    });
    try {
      const response = await Promise.race([
        runSinchCall({ signal }, () => client.conversation.messages.send({ sendMessageRequestBody: sendBody })),
        deadline,
      ]);
      if (typeof response.message_id !== 'string' || response.message_id === '') {
        throw new ProviderError('sinch: messages:send answered without a message_id', {
          kind: 'retryable',
          ambiguous: true,
          provider: 'sinch',
        });
      }
      // Our clock, as for SMS: latency histograms must not mix clocks.
      return { providerMessageId: response.message_id, acceptedAt: new Date(), status: 'queued' };
    } catch (err) {
      const classified = classifySinchConversationError(err);
      if (classified.httpStatus === undefined && signal.aborted) {
        const why = timeout.aborted ? `timed out after ${deps.timeoutMs} ms` : 'aborted';
        throw new ProviderError(`sinch: ${label} send ${why}; it may have reached Sinch`, {
          kind: 'retryable',
          ambiguous: true,
          provider: 'sinch',
          cause: err,
        });
      }
      throw classified;
    } finally {
      clearTimeout(timer);
    }
  };
}

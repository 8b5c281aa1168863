/**
 * Sinch adapter: sends SMS through the official `@sinch/sdk-core` (`sms.batches.send`, reference
 * §2.1) with service-plan/API-token auth, and exposes the delivery-report verification/parsing of
 * `sinch.webhook.ts`. With a Conversation app configured it also sends RCS
 * (`sinch.conversation.ts`) and serves its signed receipts as `webhooks.conversation`.
 */
import { SinchClient } from '@sinch/sdk-core';
import type { Sms } from '@sinch/sdk-core';
import { ProviderError } from '../errors.ts';
import type { Channel, ProviderAdapter, ProviderDeps, SendRequest, SendResult } from '../provider.ts';
import type { SinchConfig } from './sinch.config.ts';
import { classifySinchError } from './sinch.errors.ts';
import { createSinchConversationSender } from './sinch.conversation.ts';
import { parseSinchConversationWebhook, verifySinchConversationWebhook } from './sinch.conversation-webhook.ts';
import { createSinchLookup } from './sinch.lookup.ts';
import { AbortSignalRequestPlugin, runSinchCall } from './sinch.request-plugin.ts';
import { createSinchStatusReader } from './sinch.status-read.ts';
import { parseSinchWebhook, verifySinchWebhook } from './sinch.webhook.ts';

/** Sinch keeps trying for at most 3 days after `send_at` (reference §2.1); longer validity is clamped. */
export const SINCH_MAX_EXPIRY_SECONDS = 3 * 24 * 3600;

/** What Sinch can offer: SMS always, RCS with a Conversation app (`appId`), WhatsApp with its template too. */
export const SINCH_CHANNELS: readonly Channel[] = ['sms', 'rcs', 'whatsapp'];
const SMS_ONLY: readonly Channel[] = ['sms'];

/** `expire_at` for a validity: now + seconds, clamped to 1 s … 3 days (Sinch refuses later values). */
export function sinchExpireAt(validitySeconds: number, now: Date = new Date()): Date {
  const seconds = Math.min(SINCH_MAX_EXPIRY_SECONDS, Math.max(1, Math.round(validitySeconds)));
  return new Date(now.getTime() + seconds * 1000);
}

/**
 * Builds the Sinch adapter.
 *
 * `deps.baseUrl` (sandbox mode) becomes the SDK's `smsHostname`, which overrides the region
 * entirely; otherwise `config.region` picks `https://{region}.sms.api.sinch.com`. The SDK's
 * console logger is silenced (`logger: null`), and our request plugin gives every call an
 * `AbortSignal` combining `deps.timeoutMs` with `SendRequest.signal` (the SDK has no timeout).
 * Each send asks for `per_recipient` delivery reports at our callback URL and carries our message
 * id as `client_reference` so a report can be matched before the send is recorded.
 * `send` rejects only with `ProviderError`. With OAuth2 project credentials in the config the
 * adapter also has `lookup` (Number Lookup, `sinch.lookup.ts`); without them it has none.
 *
 * With `appId` (plus its webhook secret and the OAuth2 trio), `channels` is `['sms', 'rcs']`:
 * `send` with channel `rcs` goes through Conversation, RCS only, and `webhooks.conversation`
 * verifies (HMAC, ±5 min) and parses its receipts for `POST /webhooks/sinch/conversation`.
 * With `whatsappTemplateId` too, `whatsapp` is offered the same way (`sinch.whatsapp.ts`): the
 * authentication template, WhatsApp only, receipts on the same endpoint.
 */
export function createSinchAdapter(config: SinchConfig, deps: ProviderDeps): ProviderAdapter {
  const client = new SinchClient({
    servicePlanId: config.servicePlanId,
    apiToken: config.apiToken,
    smsRegion: config.region,
    ...(deps.baseUrl !== undefined ? { smsHostname: deps.baseUrl.replace(/\/+$/, '') } : {}),
    requestPlugins: [new AbortSignalRequestPlugin()],
    logger: null,
  });

  const sendConversation = createSinchConversationSender(config, deps);
  const channels: readonly Channel[] =
    sendConversation === undefined ? SMS_ONLY : SINCH_CHANNELS.filter((c) => c !== 'whatsapp' || config.whatsappTemplateId !== undefined);

  async function send(req: SendRequest): Promise<SendResult> {
    if (!channels.includes(req.channel)) {
      throw new ProviderError(`sinch: channel ${req.channel} is not offered by this adapter`, {
        kind: 'permanent',
        scope: 'channel',
        provider: 'sinch',
      });
    }
    if (req.signal?.aborted === true) {
      throw new ProviderError('sinch: send aborted before the request was made', { kind: 'retryable', provider: 'sinch' });
    }
    if ((req.channel === 'rcs' || req.channel === 'whatsapp') && sendConversation !== undefined) return sendConversation(req);
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    const body: Sms.TextRequest = {
      to: [req.to],
      from: config.from,
      body: req.body,
      delivery_report: 'per_recipient',
      callback_url: req.statusCallbackUrl,
      client_reference: req.messageId,
    };
    if (req.validitySeconds !== undefined) body.expire_at = sinchExpireAt(req.validitySeconds);
    try {
      const batch = await runSinchCall({ signal }, () => client.sms.batches.send({ sendSMSRequestBody: body }));
      if (typeof batch.id !== 'string' || batch.id === '') {
        throw new ProviderError('sinch: 201 without a batch id', { kind: 'retryable', ambiguous: true, provider: 'sinch' });
      }
      // Our clock, when the 201 arrived (as for Twilio): latency histograms must not mix clocks.
      return { providerMessageId: batch.id, acceptedAt: new Date(), status: 'queued' };
    } catch (err) {
      const classified = classifySinchError(err);
      // No HTTP answer and our signal fired: a timeout or an abort, after the request may have left.
      if (classified.httpStatus === undefined && signal.aborted) {
        const why = timeout.aborted ? `timed out after ${deps.timeoutMs} ms` : 'aborted';
        throw new ProviderError(`sinch: send ${why}; it may have reached Sinch`, {
          kind: 'retryable',
          ambiguous: true,
          provider: 'sinch',
          cause: err,
        });
      }
      throw classified;
    }
  }

  const adapter: ProviderAdapter = {
    id: 'sinch',
    channels,
    send,
    readStatus: createSinchStatusReader(client, deps.timeoutMs),
    verifyWebhook: (raw) => Promise.resolve(verifySinchWebhook(config, raw)),
    parseWebhook: (raw) => parseSinchWebhook(raw),
  };
  const conversationSecret = config.conversationWebhookSecret;
  if (sendConversation !== undefined && conversationSecret !== undefined) {
    adapter.webhooks = {
      conversation: {
        verify: (raw) => Promise.resolve(verifySinchConversationWebhook(conversationSecret, raw)),
        parse: (raw) => parseSinchConversationWebhook(raw),
      },
    };
  }
  const lookup = createSinchLookup(config, deps);
  if (lookup !== undefined) adapter.lookup = lookup;
  return adapter;
}

/**
 * Twilio adapter: sends SMS through the official `twilio` SDK (reference §1.1) and exposes the
 * StatusCallback verification/parsing of `twilio.webhook.ts`.
 */
import twilio from 'twilio';
import { ProviderError } from '../errors.ts';
import type { Channel, ProviderAdapter, ProviderDeps, SendRequest, SendResult } from '../provider.ts';
import type { TwilioConfig } from './twilio.config.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { BaseUrlRequestClient, runTwilioCall } from './twilio.request-client.ts';
import type { TwilioCallContext } from './twilio.request-client.ts';
import { mapTwilioStatus, parseTwilioWebhook, verifyTwilioWebhook } from './twilio.webhook.ts';

/** Twilio's accepted `ValidityPeriod` range, in seconds. https://www.twilio.com/docs/messaging/api/message-resource */
export const TWILIO_VALIDITY_MIN_SECONDS = 1;
/** Upper bound of Twilio's `ValidityPeriod` (10 h); longer OTP TTLs are clamped to it. */
export const TWILIO_VALIDITY_MAX_SECONDS = 36_000;

const CHANNELS: readonly Channel[] = ['sms'];

/** Clamps our OTP-derived validity to what Twilio accepts (it rejects values outside the range). */
export function clampTwilioValidity(seconds: number): number {
  return Math.min(TWILIO_VALIDITY_MAX_SECONDS, Math.max(TWILIO_VALIDITY_MIN_SECONDS, Math.round(seconds)));
}

/**
 * Builds the Twilio adapter.
 *
 * The SDK always gets our {@link BaseUrlRequestClient}: with `deps.baseUrl` (sandbox mode) it
 * rewrites every request to that origin; without it requests go to Twilio's own hosts. Either way
 * `autoRetry` is off (our router fails over instead of waiting), the timeout is `deps.timeoutMs`,
 * `SendRequest.signal` aborts the HTTP call, and a 429's `Retry-After` reaches the classifier.
 * `send` rejects only with `ProviderError`.
 */
export function createTwilioAdapter(config: TwilioConfig, deps: ProviderDeps): ProviderAdapter {
  const httpClient = new BaseUrlRequestClient({ baseUrl: deps.baseUrl, timeoutMs: deps.timeoutMs });
  const client = twilio(config.accountSid, config.authToken, {
    httpClient,
    accountSid: config.accountSid,
    autoRetry: false,
    timeout: deps.timeoutMs,
  });

  async function send(req: SendRequest): Promise<SendResult> {
    if (!CHANNELS.includes(req.channel)) {
      throw new ProviderError(`twilio: channel ${req.channel} is not offered by this adapter`, {
        kind: 'permanent',
        scope: 'channel',
        provider: 'twilio',
      });
    }
    if (req.signal?.aborted === true) {
      throw new ProviderError('twilio: send aborted before the request was made', { kind: 'retryable', provider: 'twilio' });
    }
    const ctx: TwilioCallContext = {};
    if (req.signal !== undefined) ctx.signal = req.signal;
    try {
      const message = await runTwilioCall(ctx, () =>
        client.messages.create({
          to: req.to,
          ...(config.messagingServiceSid !== undefined ? { messagingServiceSid: config.messagingServiceSid } : { from: config.from }),
          body: req.body,
          statusCallback: req.statusCallbackUrl,
          ...(req.validitySeconds !== undefined ? { validityPeriod: clampTwilioValidity(req.validitySeconds) } : {}),
        }),
      );
      const segments = Number(message.numSegments);
      // Our clock, when the 201 arrived: Twilio's `date_created` has whole-second precision and
      // another clock, which would skew accept-to-send and delivery-latency histograms by up to 1 s.
      const acceptedAt = new Date();
      const status = mapTwilioStatus(message.status);
      const result: SendResult = {
        providerMessageId: message.sid,
        acceptedAt,
        status: status === null || status === 'unknown' ? 'queued' : status,
      };
      if (Number.isFinite(segments) && segments > 0) result.segments = segments;
      return result;
    } catch (err) {
      throw classifyTwilioError(err, ctx.retryAfter === undefined ? undefined : { retryAfter: ctx.retryAfter });
    }
  }

  return {
    id: 'twilio',
    channels: CHANNELS,
    send,
    verifyWebhook: (raw) => Promise.resolve(verifyTwilioWebhook(config.authToken, raw)),
    parseWebhook: (raw) => parseTwilioWebhook(raw),
  };
}

/**
 * Twilio adapter: sends SMS through the official `twilio` SDK (reference §1.1), places voice OTP
 * calls (`twilio.voice.ts`), looks numbers up with Lookup v2 (`twilio.lookup.ts`), and exposes the
 * StatusCallback verification/parsing of `twilio.webhook.ts` (message and call callbacks alike).
 */
import twilio from 'twilio';
import { ProviderError } from '../errors.ts';
import type { Channel, NumberInfo, ProviderAdapter, ProviderDeps, SendRequest, SendResult } from '../provider.ts';
import type { TwilioConfig } from './twilio.config.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { createTwilioLookup } from './twilio.lookup.ts';
import { BaseUrlRequestClient, runTwilioCall } from './twilio.request-client.ts';
import type { TwilioCallContext } from './twilio.request-client.ts';
import { createTwilioStatusReader } from './twilio.status-read.ts';
import { createTwilioVoiceSender } from './twilio.voice.ts';
import { mapTwilioStatus, parseTwilioWebhook, verifyTwilioWebhook } from './twilio.webhook.ts';
import { buildTwilioWhatsAppParams } from './twilio.whatsapp.ts';

/** Twilio's accepted `ValidityPeriod` range, in seconds. https://www.twilio.com/docs/messaging/api/message-resource */
export const TWILIO_VALIDITY_MIN_SECONDS = 1;
/** Upper bound of Twilio's `ValidityPeriod` (10 h); longer OTP TTLs are clamped to it. */
export const TWILIO_VALIDITY_MAX_SECONDS = 36_000;

/**
 * SMS through Programmable Messaging, voice OTP calls through Programmable Voice, and RCS (RCS
 * only, `rcs:` addresses; reference §1.6) when `rcsSenderId` is configured.
 */
export const TWILIO_CHANNELS: readonly Channel[] = ['sms', 'voice', 'rcs', 'whatsapp'];

/** The channels a config offers: SMS and voice always, RCS with `rcsSenderId`, WhatsApp with its sender and template. */
export function twilioChannels(config: Pick<TwilioConfig, 'rcsSenderId' | 'whatsappFrom' | 'whatsappContentSid'>): readonly Channel[] {
  return TWILIO_CHANNELS.filter(
    (c) =>
      (c !== 'rcs' || config.rcsSenderId !== undefined) &&
      (c !== 'whatsapp' || (config.whatsappFrom !== undefined && config.whatsappContentSid !== undefined)),
  );
}

/** Twilio's address prefix for RCS (`From=rcs:<sender>`, `To=rcs:+…`). */
export const TWILIO_RCS_PREFIX = 'rcs:';

/** `From` of an RCS send: the sender id with its `rcs:` prefix. */
export function twilioRcsFrom(senderId: string): string {
  return senderId.startsWith(TWILIO_RCS_PREFIX) ? senderId : TWILIO_RCS_PREFIX + senderId;
}
const E164 = /^\+[1-9]\d{1,14}$/;

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
 * `send` dispatches on `req.channel` (`sms` → Messages, `voice` → Calls with inline TwiML, `rcs` →
 * Messages with `To=rcs:<E.164>` and `From=rcs:<rcsSenderId>`, RCS only: a handset that cannot take
 * RCS is accepted, then reported `failed` with ErrorCode 63106) and rejects only with
 * `ProviderError`; so does `lookup` (Lookup v2; a non-E.164 input is `{valid:false}` without a
 * request).
 */
export function createTwilioAdapter(config: TwilioConfig, deps: ProviderDeps): ProviderAdapter {
  const httpClient = new BaseUrlRequestClient({ baseUrl: deps.baseUrl, timeoutMs: deps.timeoutMs });
  const client = twilio(config.accountSid, config.authToken, {
    httpClient,
    accountSid: config.accountSid,
    autoRetry: false,
    timeout: deps.timeoutMs,
  });

  const sendVoice = createTwilioVoiceSender(client, config);
  const twilioLookup = createTwilioLookup(client, config);

  const rcsSenderId = config.rcsSenderId;
  const channels = twilioChannels(config);
  const { whatsappFrom, whatsappContentSid } = config;

  /** Messages create parameters: RCS sends address both ends with `rcs:` and bypass the Messaging Service. */
  function addressing(req: SendRequest): { to: string; from?: string; messagingServiceSid?: string } {
    if (req.channel === 'rcs' && rcsSenderId !== undefined) return { to: TWILIO_RCS_PREFIX + req.to, from: twilioRcsFrom(rcsSenderId) };
    return {
      to: req.to,
      ...(config.messagingServiceSid !== undefined ? { messagingServiceSid: config.messagingServiceSid } : { from: config.from }),
    };
  }

  async function send(req: SendRequest): Promise<SendResult> {
    if (!channels.includes(req.channel)) {
      throw new ProviderError(`twilio: channel ${req.channel} is not offered by this adapter`, {
        kind: 'permanent',
        scope: 'channel',
        provider: 'twilio',
      });
    }
    if (req.signal?.aborted === true) {
      throw new ProviderError('twilio: send aborted before the request was made', { kind: 'retryable', provider: 'twilio' });
    }
    if (req.channel === 'voice') return sendVoice(req);
    const otpCode = req.otpCode;
    if (req.channel === 'whatsapp' && (otpCode === undefined || otpCode === '')) {
      // Only an authentication template may open a WhatsApp conversation, and it needs the code.
      throw new ProviderError('twilio: WhatsApp sends an authentication template, which needs the OTP code', {
        kind: 'permanent',
        scope: 'channel',
        provider: 'twilio',
      });
    }
    const validity = req.validitySeconds !== undefined ? { validityPeriod: clampTwilioValidity(req.validitySeconds) } : {};
    const ctx: TwilioCallContext = {};
    if (req.signal !== undefined) ctx.signal = req.signal;
    try {
      const message = await runTwilioCall(ctx, () =>
        req.channel === 'whatsapp' && otpCode !== undefined && whatsappFrom !== undefined && whatsappContentSid !== undefined
          ? client.messages.create({ ...buildTwilioWhatsAppParams({ ...req, otpCode }, { whatsappFrom, whatsappContentSid }), ...validity })
          : client.messages.create({
              ...addressing(req),
              body: req.body,
              statusCallback: req.statusCallbackUrl,
              ...validity,
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
    channels,
    send,
    lookup: (e164: string): Promise<NumberInfo> =>
      E164.test(e164) ? twilioLookup(e164) : Promise.resolve({ valid: false, lineType: 'unknown' }),
    readStatus: createTwilioStatusReader(client),
    verifyWebhook: (raw) => Promise.resolve(verifyTwilioWebhook(config.authToken, raw)),
    parseWebhook: (raw) => parseTwilioWebhook(raw),
  };
}

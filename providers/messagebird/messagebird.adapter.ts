/**
 * MessageBird adapter: sends SMS through our own typed client for the REST messages API
 * (reference §3.1; the frozen SDK cannot be pointed anywhere else) and verifies status reports
 * with the SDK's JWT verifier (`messagebird.webhook.ts`).
 */
import { ProviderError } from '../errors.ts';
import type { Channel, ProviderAdapter, ProviderDeps, SendRequest, SendResult } from '../provider.ts';
import { createMessageBirdClient } from './messagebird.client.ts';
import type { MessageBirdCreateMessage } from './messagebird.client.ts';
import type { MessageBirdConfig } from './messagebird.config.ts';
import { classifyMessageBirdError } from './messagebird.errors.ts';
import { createMessageBirdLookup } from './messagebird.lookup.ts';
import { createMessageBirdStatusReader } from './messagebird.status-read.ts';
import { mapMessageBirdStatus, parseMessageBirdWebhook, verifyMessageBirdWebhook } from './messagebird.webhook.ts';

const CHANNELS: readonly Channel[] = ['sms'];

/** MessageBird writes MSISDNs without the `+` (reference §3.1). */
export function toMsisdn(e164: string): string {
  return e164.replace(/^\+/, '');
}

/**
 * Builds the MessageBird adapter.
 *
 * Requests go to `deps.baseUrl` (sandbox mode) or `config.baseUrl`, each with an `AbortSignal`
 * combining `deps.timeoutMs` and `SendRequest.signal`. Each message carries our id as `reference`
 * (MessageBird sends no status report without one) and our callback URL as `reportUrl`, and
 * `validity` follows the OTP TTL. `datacoding: auto` keeps GSM text in 160-character parts and
 * switches to unicode only when needed. `send` rejects only with `ProviderError`; so does
 * `lookup`, an HLR query polled for at most `hlrMaxWaitMs` (`messagebird.lookup.ts`).
 */
export function createMessageBirdAdapter(config: MessageBirdConfig, deps: ProviderDeps): ProviderAdapter {
  const client = createMessageBirdClient({ baseUrl: deps.baseUrl ?? config.baseUrl, accessKey: config.accessKey });

  async function send(req: SendRequest): Promise<SendResult> {
    if (!CHANNELS.includes(req.channel)) {
      throw new ProviderError(`messagebird: channel ${req.channel} is not offered by this adapter`, {
        kind: 'permanent',
        scope: 'channel',
        provider: 'messagebird',
      });
    }
    if (req.signal?.aborted === true) {
      throw new ProviderError('messagebird: send aborted before the request was made', { kind: 'retryable', provider: 'messagebird' });
    }
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    const params: MessageBirdCreateMessage = {
      recipients: [toMsisdn(req.to)],
      originator: config.from,
      body: req.body,
      reference: req.messageId,
      reportUrl: req.statusCallbackUrl,
      datacoding: 'auto',
    };
    if (req.validitySeconds !== undefined) params.validity = Math.max(1, Math.round(req.validitySeconds));
    try {
      const message = await client.createMessage(params, signal);
      const item = message.recipients?.items?.[0];
      const status = item === undefined ? 'sent' : mapMessageBirdStatus(item.status);
      // Our clock, when the 201 arrived (as for Twilio): latency histograms must not mix clocks.
      const result: SendResult = {
        providerMessageId: message.id,
        acceptedAt: new Date(),
        status: status === 'unknown' ? 'queued' : status,
      };
      if (item?.messagePartCount !== undefined && item.messagePartCount > 0) result.segments = item.messagePartCount;
      return result;
    } catch (err) {
      const classified = classifyMessageBirdError(err);
      if (classified.httpStatus === undefined && signal.aborted) {
        const why = timeout.aborted ? `timed out after ${deps.timeoutMs} ms` : 'aborted';
        throw new ProviderError(`messagebird: send ${why}; it may have reached MessageBird`, {
          kind: 'retryable',
          ambiguous: true,
          provider: 'messagebird',
          cause: err,
        });
      }
      throw classified;
    }
  }

  return {
    id: 'messagebird',
    channels: CHANNELS,
    send,
    lookup: createMessageBirdLookup(client, config, deps),
    readStatus: createMessageBirdStatusReader(client, deps.timeoutMs),
    verifyWebhook: (raw) => verifyMessageBirdWebhook(config.signingKey, raw),
    parseWebhook: (raw) => parseMessageBirdWebhook(raw),
  };
}

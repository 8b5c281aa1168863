/**
 * One `send` job: the pipeline of DESIGN §6 for a message (this slice: plan → route → send →
 * record, SMS). Every step persists before the next, so a job killed anywhere resumes where it
 * stopped: an attempt that exists is reused, a ledger at `sent` is not sent again.
 */
import type { ProviderError } from '../../providers/errors.ts';
import type { Channel, ProviderId } from '../../providers/provider.ts';
import type { ErrorInfo, MessageRecord } from '../domain/message.ts';
import { expire, finalize, isTerminalMessageStatus, markAccepted, moveAttempt, startAttempt } from '../domain/status.ts';
import { decryptCode, encryptCode, generateCode, renderBody } from '../otp/otp-codec.ts';
import { maskPhonesInText } from '../logger.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { routeCandidates, routingDecision } from './route.stage.ts';
import { sendThroughLedger } from './send.stage.ts';

/** Thrown so BullMQ retries the job with backoff: every candidate failed in a way that may pass. */
export class SendRetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SendRetryLaterError';
  }
}

export interface SendJobContext {
  /** Runs already made of this job before this one. */
  attemptsMade: number;
  /** Total runs BullMQ will make. */
  maxRuns: number;
}

const SUPPORTED_CHANNELS: readonly Channel[] = ['sms'];

function errorInfo(code: string, err: ProviderError): ErrorInfo {
  // Carriers quote the number in their messages; keep it out of records, events and logs.
  return { code, message: maskPhonesInText(err.message), ...(err.providerCode !== undefined ? { providerCode: err.providerCode } : {}) };
}

export async function processSendJob(deps: PipelineDeps, messageId: string, ctx: SendJobContext): Promise<void> {
  const { store, recorder, log } = deps;
  const iso = (): string => new Date(deps.now()).toISOString();
  const stored = await store.get(messageId);
  if (!stored) {
    log.warn({ messageId }, 'send job for a message that no longer exists; dropping');
    return;
  }
  let msg = stored.doc;
  if (isTerminalMessageStatus(msg.status) || (msg.final && msg.attempts.every((a) => a.status !== 'queued'))) return;

  if (msg.expiresAt !== undefined && Date.parse(msg.expiresAt) <= deps.now()) {
    await recorder.update(messageId, (d) => expire(d, iso()));
    return;
  }

  // One code for every step of the ladder, generated here (never in a job payload).
  if (msg.otp && msg.otp.codeEnc === undefined) {
    const sealed = encryptCode(deps.keyRing.subkey('otp-encryption'), messageId, generateCode(msg.otp.length));
    const res = await recorder.update(messageId, (d) => {
      if (!d.otp || d.otp.codeEnc !== undefined) return false;
      d.otp.codeEnc = sealed;
      return true;
    });
    msg = res?.after ?? (await store.get(messageId))?.doc ?? msg;
  }
  const code = msg.otp?.codeEnc !== undefined ? decryptCode(deps.keyRing.subkey('otp-encryption'), messageId, msg.otp.codeEnc) : undefined;
  const text = renderBody(msg.body, code);

  const channel = msg.channels.find((c) => SUPPORTED_CHANNELS.includes(c));
  const candidates = channel ? routeCandidates(channel, deps.config, deps.adapters) : [];
  if (channel === undefined || candidates.length === 0) {
    await recorder.update(messageId, (d) =>
      finalize(d, iso(), { code: 'SB_CHANNEL_UNSUPPORTED', message: `no enabled provider for channels ${d.channels.join(', ')}` }),
    );
    return;
  }
  if (msg.routing === undefined) {
    const decision = routingDecision(channel, deps.config, deps.adapters);
    if (decision) await recorder.update(messageId, (d) => ((d.routing = decision), true));
  }

  // Resume an attempt a previous run started but did not finish.
  const open = msg.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined);
  const failedThisMessage = new Set(msg.attempts.filter((a) => a.status === 'failed').map((a) => a.provider));
  const ordered: ProviderId[] = open
    ? [open.provider, ...candidates.filter((p) => p !== open.provider)]
    : [...candidates.filter((p) => !failedThisMessage.has(p)), ...candidates.filter((p) => failedThisMessage.has(p))];

  let lastError: ProviderError | undefined;
  for (const provider of ordered) {
    const current = (await store.get(messageId))?.doc;
    if (!current || isTerminalMessageStatus(current.status)) return;
    const resuming = current.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined && a.provider === provider);
    if (!resuming && current.attempts.length >= deps.config.messages.maxAttempts) break;
    const n = resuming?.n ?? current.attempts.length + 1;
    if (!resuming) {
      const previous = current.attempts[current.attempts.length - 1];
      const reason = previous && (previous.status === 'failed' || previous.status === 'undelivered') ? 'provider_error' : undefined;
      await recorder.update(messageId, (d) => (startAttempt(d, n, channel, provider, iso(), reason), true));
    }

    const adapter = deps.adapters.get(provider);
    if (!adapter) continue;
    const prior = await store.ledger(messageId, n);
    if (prior?.state === 'sending') {
      await recorder.update(messageId, (d) => {
        d.timeline.push({ at: iso(), type: 'ambiguous_resend', channel, provider, detail: `attempt ${n}` });
        return true;
      });
    }
    const ttlLeft = remainingValiditySeconds(current, deps.now());
    const started = performance.now();
    const outcome = await sendThroughLedger(store, adapter, {
      messageId,
      attempt: n,
      channel,
      to: current.to,
      body: text,
      statusCallbackUrl: `${deps.publicUrl}/webhooks/${provider}?sb=${encodeURIComponent(messageId)}`,
      ...(ttlLeft !== undefined ? { validitySeconds: ttlLeft } : {}),
    });
    const elapsedMs = performance.now() - started;
    deps.metrics.sendDuration.observe({ provider, channel }, elapsedMs / 1000);
    if (outcome.kind === 'error') deps.metrics.providerErrors.inc({ provider, kind: outcome.error.kind });

    if (outcome.kind === 'accepted') {
      const r = outcome.result;
      await recorder.update(messageId, (d) => {
        markAccepted(
          d,
          n,
          {
            providerMessageId: r.providerMessageId,
            acceptedAt: r.acceptedAt.toISOString(),
            ...(r.segments !== undefined ? { segments: r.segments } : {}),
            ...(r.cost !== undefined ? { cost: r.cost } : {}),
          },
          iso(),
        );
        return true;
      });
      log.info({ messageId, attempt: n, provider, elapsedMs: Math.round(elapsedMs), replayed: outcome.replayed }, 'carrier accepted');
      return;
    }

    const err = outcome.error;
    lastError = err;
    log.warn({ messageId, attempt: n, provider, kind: err.kind, scope: err.scope, providerCode: err.providerCode, ambiguous: err.ambiguous }, 'carrier refused');
    if (err.ambiguous) {
      // The carrier may have it: keep the attempt open and let the job retry the same attempt.
      await recorder.update(messageId, (d) => {
        d.timeline.push({ at: iso(), type: 'carrier_error', channel, provider, detail: `${err.kind}: outcome unknown` });
        return true;
      });
      if (ctx.attemptsMade + 1 < ctx.maxRuns) throw new SendRetryLaterError(err.message);
      await recorder.update(messageId, (d) => finalize(d, iso(), errorInfo('SB_ROUTE_UNAVAILABLE', err)));
      return;
    }
    const isRecipient = err.kind === 'permanent' && err.scope === 'recipient';
    const isChannel = err.kind === 'permanent' && err.scope === 'channel';
    await recorder.update(messageId, (d) => {
      moveAttempt(d, n, 'failed', iso(), errorInfo(isRecipient ? 'SB_CARRIER_REJECTED' : 'SB_ROUTE_UNAVAILABLE', err));
      d.timeline.push({ at: iso(), type: 'carrier_error', channel, provider, detail: `${err.kind}/${err.scope}${err.providerCode ? ` ${err.providerCode}` : ''}` });
      if (isRecipient || isChannel) finalize(d, iso(), errorInfo(isRecipient ? 'SB_CARRIER_REJECTED' : 'SB_CHANNEL_UNSUPPORTED', err));
      else d.updatedAt = iso();
      return true;
    });
    if (isRecipient || isChannel) return;
  }

  const after = (await store.get(messageId))?.doc;
  if (!after || isTerminalMessageStatus(after.status)) return;
  const exhausted = after.attempts.length >= deps.config.messages.maxAttempts || ctx.attemptsMade + 1 >= ctx.maxRuns;
  if (!exhausted) throw new SendRetryLaterError(lastError?.message ?? 'no provider accepted the message');
  await recorder.update(messageId, (d) =>
    finalize(d, iso(), lastError ? errorInfo('SB_ROUTE_UNAVAILABLE', lastError) : { code: 'SB_ROUTE_UNAVAILABLE', message: 'no provider accepted the message' }),
  );
}

/** Seconds the carrier may keep trying: the OTP TTL (or `expiresAt`) still left. */
function remainingValiditySeconds(msg: MessageRecord, now: number): number | undefined {
  if (msg.expiresAt === undefined) return undefined;
  return Math.max(1, Math.floor((Date.parse(msg.expiresAt) - now) / 1000));
}

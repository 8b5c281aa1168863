/**
 * One `send` job: the pipeline of DESIGN §6 for a message (plan → route → send → record; SMS in
 * this slice). Every step persists before the next, so a job killed anywhere resumes where it
 * stopped: an attempt that exists is reused, a ledger at `sent` is not sent again.
 *
 * Failover happens inside the job, by error kind and scope (DESIGN §5): a refused recipient ends
 * the message; a provider-side failure moves to the next candidate; when every candidate failed
 * the job is retried with backoff; when every breaker is open the job waits (no attempt burned)
 * until the earliest half-open.
 */
import type { ProviderError } from '../../providers/errors.ts';
import type { Channel, ProviderId } from '../../providers/provider.ts';
import type { ErrorInfo, FallbackReason, MessageRecord } from '../domain/message.ts';
import { expire, finalize, isTerminalMessageStatus, markAccepted, moveAttempt, startAttempt } from '../domain/status.ts';
import { maskPhonesInText } from '../logger.ts';
import { decryptCode, encryptCode, generateCode, renderBody } from '../otp/otp-codec.ts';
import { tierMonth } from '../routing/price-book.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { channelProviders, planRoute } from './route.stage.ts';
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
  /** Re-schedules this job `ms` from now without counting a run (BullMQ `DelayedError`); never returns. */
  delay(ms: number): Promise<never>;
}

const SUPPORTED_CHANNELS: readonly Channel[] = ['sms'];

function errorInfo(code: string, err: ProviderError): ErrorInfo {
  // Carriers quote the number in their messages; keep it out of records, events and logs.
  return { code, message: maskPhonesInText(err.message), ...(err.providerCode !== undefined ? { providerCode: err.providerCode } : {}) };
}

/** Whether a send error says something about the provider's health (not about the recipient). */
function reflectsOnProvider(err: ProviderError): boolean {
  return !(err.kind === 'permanent' && (err.scope === 'recipient' || err.scope === 'channel'));
}

function fallbackReasonAfter(msg: MessageRecord): FallbackReason | undefined {
  const previous = msg.attempts[msg.attempts.length - 1];
  if (previous?.status === 'failed') return 'provider_error';
  if (previous?.status === 'undelivered') return 'undelivered';
  return undefined;
}

export async function processSendJob(deps: PipelineDeps, messageId: string, ctx: SendJobContext): Promise<void> {
  const { store, recorder, log } = deps;
  const iso = (): string => new Date(deps.now()).toISOString();
  const stored = await store.get(messageId);
  if (!stored) {
    log.warn('send job for a message that no longer exists; dropping');
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

  const channel = msg.channels.find((c) => SUPPORTED_CHANNELS.includes(c) && channelProviders(c, msg.country, deps.config, deps.adapters).length > 0);
  if (channel === undefined) {
    await recorder.update(messageId, (d) =>
      finalize(d, iso(), { code: 'SB_CHANNEL_UNSUPPORTED', message: `no enabled provider for channels ${d.channels.join(', ')} to ${d.country}` }),
    );
    return;
  }

  const open = msg.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined);
  const avoid = new Set<ProviderId>(msg.attempts.filter((a) => a.status === 'failed' || a.status === 'undelivered').map((a) => a.provider));
  const routed = await planRoute(deps, channel, msg.country, avoid);
  deps.metrics.routeDecisions.inc({ provider: routed.kind === 'ok' ? routed.decision.provider : 'none', reason: routed.decision.reason });
  if (routed.kind === 'none') {
    await recorder.update(messageId, (d) => {
      d.routing = routed.decision;
      finalize(d, iso(), { code: 'SB_ROUTE_NONE', message: `no provider is configured with a price for ${channel} to ${d.country}` });
    });
    return;
  }
  if (routed.kind === 'all_open') {
    await waitForBreakers(deps, messageId, routed.retryInMs, ctx, iso);
    return;
  }
  const ordered: ProviderId[] = open ? [open.provider, ...routed.ranked.filter((p) => p !== open.provider)] : routed.ranked;

  let lastError: ProviderError | undefined;
  let attempted = false;
  let earliestHalfOpen = Infinity;
  for (const provider of ordered) {
    const current = (await store.get(messageId))?.doc;
    if (!current || isTerminalMessageStatus(current.status)) return;
    const resuming = current.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined && a.provider === provider);
    if (!resuming && current.attempts.length >= deps.config.messages.maxAttempts) break;
    const adapter = deps.adapters.get(provider);
    if (!adapter) continue;

    const gate = await deps.breakers.acquire(provider, channel);
    if (!gate.allowed) {
      const s = deps.breakers.status(provider, channel);
      earliestHalfOpen = Math.min(earliestHalfOpen, s.state === 'open' ? s.halfOpenInMs : 1_000);
      if (resuming) {
        await recorder.update(messageId, (d) => {
          moveAttempt(d, resuming.n, 'failed', iso(), { code: 'SB_ROUTE_UNAVAILABLE', message: `${provider} circuit open` });
          d.updatedAt = iso();
        });
      }
      continue;
    }

    const n = resuming?.n ?? current.attempts.length + 1;
    if (!resuming) {
      const reason = fallbackReasonAfter(current);
      await recorder.update(messageId, (d) => {
        d.routing = routed.decision;
        startAttempt(d, n, channel, provider, iso(), reason);
      });
    }
    const prior = await store.ledger(messageId, n);
    if (prior?.state === 'sending') {
      await recorder.update(messageId, (d) => {
        d.timeline.push({ at: iso(), type: 'ambiguous_resend', channel, provider, detail: `attempt ${n}` });
      });
    }
    const ttlLeft = remainingValiditySeconds(current, deps.now());
    const started = performance.now();
    const outcome = await sendThroughLedger(
      store,
      adapter,
      {
        messageId,
        attempt: n,
        channel,
        to: current.to,
        body: text,
        statusCallbackUrl: `${deps.publicUrl}/webhooks/${provider}?sb=${encodeURIComponent(messageId)}`,
        ...(ttlLeft !== undefined ? { validitySeconds: ttlLeft } : {}),
      },
      (fn) => deps.breakers.execute(provider, channel, gate.probe, fn),
    );
    if (outcome.kind === 'breaker_open') {
      // The breaker closed the door between routing and the call: nothing left this worker.
      await recorder.update(messageId, (d) => {
        moveAttempt(d, n, 'failed', iso(), { code: 'SB_ROUTE_UNAVAILABLE', message: `${provider} circuit open` });
        d.updatedAt = iso();
      });
      continue;
    }
    attempted = true;
    deps.metrics.sendDuration.observe({ provider, channel }, (performance.now() - started) / 1000);

    if (outcome.kind === 'accepted') {
      const r = outcome.result;
      await Promise.all([
        deps.health.recordSend(provider, current.country, false, deps.now()),
        outcome.replayed ? Promise.resolve() : deps.tiers.add(provider, tierMonth(deps.now()), r.segments ?? 1),
      ]);
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
      });
      log.info({ attempt: n, provider, replayed: outcome.replayed }, 'carrier accepted');
      return;
    }

    const err = outcome.error;
    lastError = err;
    deps.metrics.providerErrors.inc({ provider, kind: err.kind });
    if (reflectsOnProvider(err)) await deps.health.recordSend(provider, current.country, true, deps.now());
    log.warn({ attempt: n, provider, kind: err.kind, scope: err.scope, providerCode: err.providerCode, ambiguous: err.ambiguous }, 'carrier refused');
    if (err.kind === 'permanent' && err.scope === 'provider') log.error({ provider, providerCode: err.providerCode }, 'provider refused by configuration (geo permission, sender, registration): ops action needed');
    if (err.ambiguous) {
      // The carrier may have it: keep the attempt open and let the job retry the same attempt.
      await recorder.update(messageId, (d) => {
        d.timeline.push({ at: iso(), type: 'carrier_error', channel, provider, detail: `${err.kind}: outcome unknown` });
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
    });
    if (isRecipient || isChannel) return;
  }

  const after = (await store.get(messageId))?.doc;
  if (!after || isTerminalMessageStatus(after.status)) return;
  if (!attempted && Number.isFinite(earliestHalfOpen) && after.attempts.length < deps.config.messages.maxAttempts) {
    await waitForBreakers(deps, messageId, earliestHalfOpen, ctx, iso);
    return;
  }
  const exhausted = after.attempts.length >= deps.config.messages.maxAttempts || ctx.attemptsMade + 1 >= ctx.maxRuns;
  if (!exhausted) throw new SendRetryLaterError(lastError?.message ?? 'no provider accepted the message');
  await recorder.update(messageId, (d) =>
    finalize(d, iso(), lastError ? errorInfo('SB_ROUTE_UNAVAILABLE', lastError) : { code: 'SB_ROUTE_UNAVAILABLE', message: 'no provider accepted the message' }),
  );
}

/** Every breaker is open: wait for the earliest half-open, unless the message would expire first. */
async function waitForBreakers(deps: PipelineDeps, messageId: string, retryInMs: number, ctx: SendJobContext, iso: () => string): Promise<void> {
  const msg = (await deps.store.get(messageId))?.doc;
  if (!msg) return;
  const wakeAt = deps.now() + Math.max(250, retryInMs);
  if (msg.expiresAt !== undefined && wakeAt >= Date.parse(msg.expiresAt)) {
    await deps.recorder.update(messageId, (d) =>
      finalize(d, iso(), { code: 'SB_ROUTE_UNAVAILABLE', message: 'every provider circuit stayed open until the message expired' }),
    );
    return;
  }
  deps.log.warn({ retryInMs }, 'every provider circuit is open; waiting for a half-open probe');
  await ctx.delay(wakeAt - deps.now());
}

/** Seconds the carrier may keep trying: the OTP TTL (or `expiresAt`) still left. */
function remainingValiditySeconds(msg: MessageRecord, now: number): number | undefined {
  if (msg.expiresAt === undefined) return undefined;
  return Math.max(1, Math.floor((Date.parse(msg.expiresAt) - now) / 1000));
}

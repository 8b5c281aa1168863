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
import type { Channel, ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { ErrorInfo, FallbackReason, MessageRecord } from '../domain/message.ts';
import { expire, finalize, isTerminalMessageStatus, markAccepted, moveAttempt, startAttempt } from '../domain/status.ts';
import { maskPhonesInText } from '../logger.ts';
import { codeHmac, decryptCode, encryptCode, generateCode, renderBody } from '../otp/otp-codec.ts';
import { tierMonth } from '../routing/price-book.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { lookupNumber } from './lookup.stage.ts';
import { rcsCapability } from './rcs-capability.stage.ts';
import { hasRungAfter, nextStep, planLadder, type NextStep } from './plan.stage.ts';
import { runPushStep } from './push.stage.ts';
import { channelProviders, planRoute } from './route.stage.ts';
import { sendThroughLedger } from './send.stage.ts';
import { runPumpingStage } from './pumping.stage.ts';
import { isOptOutError, suppressAfterCarrierRefusal } from '../policy/opt-out.ts';

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

const SUPPORTED_CHANNELS: readonly Channel[] = ['push', 'rcs', 'sms', 'voice'];

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
    const fresh = generateCode(msg.otp.length);
    const sealed = encryptCode(deps.keyRing.subkey('otp-encryption'), messageId, fresh);
    const hmac = codeHmac(deps.keyRing.subkey('otp-hmac'), messageId, fresh);
    const res = await recorder.update(messageId, (d) => {
      if (!d.otp || d.otp.codeEnc !== undefined) return false;
      d.otp.codeEnc = sealed;
      d.otp.codeHmac = hmac;
      return true;
    });
    msg = res?.after ?? (await store.get(messageId))?.doc ?? msg;
  }
  const code = msg.otp?.codeEnc !== undefined ? decryptCode(deps.keyRing.subkey('otp-encryption'), messageId, msg.otp.codeEnc) : undefined;
  const text = renderBody(msg.body, code);

  if (msg.lookup === undefined) {
    const looked = await lookupNumber(deps, msg);
    if (looked) {
      const res = await recorder.update(messageId, (d) => {
        if (d.lookup !== undefined) return false;
        d.lookup = looked;
        d.timeline.push({
          at: iso(),
          type: 'lookup',
          detail: `${looked.provider} ${looked.cache}: ${looked.error ? 'unknown (lookup failed)' : `${looked.valid ? looked.lineType : 'invalid'}${looked.simSwapped ? ', recent SIM swap' : ''}`}`,
        });
        if (!looked.valid) {
          finalize(d, iso(), { code: 'SB_RECIPIENT_INVALID', message: 'the number lookup says this number does not exist' });
        } else if (looked.simSwapped && d.policy?.simSwap === 'block') {
          finalize(d, iso(), { code: 'SB_POLICY_SIM_SWAP', message: 'the SIM of this number was swapped recently; the key policy blocks sending' });
        }
      });
      if (res && !looked.valid) deps.metrics.policyBlocks.inc({ reason: 'invalid_number' });
      if (res && looked.valid && looked.simSwapped && res.after.policy?.simSwap === 'block') deps.metrics.policyBlocks.inc({ reason: 'sim_swap' });
      msg = res?.after ?? (await store.get(messageId))?.doc ?? msg;
      if (isTerminalMessageStatus(msg.status)) return;
    }
  }
  msg = await runPumpingStage(deps, msg);
  if (isTerminalMessageStatus(msg.status)) return;
  const lookup = msg.lookup;
  const policy = msg.policy;
  const usable = (c: Channel): boolean => SUPPORTED_CHANNELS.includes(c) && channelProviders(c, msg.country, deps.config, deps.adapters).length > 0;
  if (msg.rcsCapability === undefined && planLadder(msg, usable).some((st) => st.channel === 'rcs' && st.skip === undefined)) {
    const status = await rcsCapability(deps, msg);
    const res = await recorder.update(messageId, (d) => {
      if (d.rcsCapability !== undefined) return false;
      d.rcsCapability = status;
    });
    msg = res?.after ?? msg;
  }
  const rcsStatus = msg.rcsCapability;
  const restrict = (c: Channel): FallbackReason | undefined => {
    if (lookup?.lineType === 'landline' && (c === 'sms' || c === 'rcs')) return 'landline';
    if (c === 'rcs' && rcsStatus !== 'capable') return 'rcs_not_capable';
    if (lookup?.simSwapped && policy?.simSwap === 'push-only' && c !== 'push') return 'sim_swap_push_only';
    return undefined;
  };
  const ladder = planLadder(msg, usable, restrict);
  // Each rung either ends the job (waiting for a callback/ack, retry later, or final) or falls
  // through to the next rung at once (push failed, channel refused the recipient).
  for (let rung = 0; rung <= ladder.length; rung++) {
    const current = (await store.get(messageId))?.doc;
    if (!current || isTerminalMessageStatus(current.status)) return;
    const step = nextStep(current, ladder);
    if (step === undefined) {
      const lastError = current.attempts[current.attempts.length - 1]?.error;
      await recorder.update(messageId, (d) =>
        finalize(d, iso(), lastError ?? { code: 'SB_CHANNEL_UNSUPPORTED', message: `no enabled provider for channels ${d.channels.join(', ')} to ${d.country}` }),
      );
      return;
    }
    if (step.channel === 'push') {
      if ((await runPushStep(deps, current, text, step)) === 'waiting') return;
      continue;
    }
    if ((await runCarrierStep(deps, current, step, text, code, hasRungAfter(ladder, step.channel), ctx)) === 'done') return;
  }
}

/**
 * One carrier rung (SMS, voice): route, then try the ranked providers in order within this job.
 * Returns `next_channel` when the channel refused the recipient and a later rung exists.
 */
async function runCarrierStep(
  deps: PipelineDeps,
  msg: MessageRecord,
  step: NextStep,
  text: string,
  code: string | undefined,
  hasNextRung: boolean,
  ctx: SendJobContext,
): Promise<'done' | 'next_channel'> {
  const { store, recorder, log } = deps;
  const messageId = msg.id;
  const channel = step.channel;
  const iso = (): string => new Date(deps.now()).toISOString();
  const open = msg.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined);
  const avoid = new Set<ProviderId>(msg.attempts.filter((a) => a.status === 'failed' || a.status === 'undelivered').map((a) => a.provider));
  const routed = await planRoute(deps, channel, msg.country, avoid);
  deps.metrics.routeDecisions.inc({ provider: routed.kind === 'ok' ? routed.decision.provider : 'none', reason: routed.decision.reason });
  if (routed.kind === 'none') {
    await recorder.update(messageId, (d) => {
      d.routing = routed.decision;
      finalize(d, iso(), { code: 'SB_ROUTE_NONE', message: `no provider is configured with a price for ${channel} to ${d.country}` });
    });
    return 'done';
  }
  if (routed.kind === 'all_open') {
    await waitForBreakers(deps, messageId, routed.retryInMs, ctx, iso);
    return 'done';
  }
  const ordered: ProviderId[] = open ? [open.provider, ...routed.ranked.filter((p) => p !== open.provider)] : routed.ranked;

  let lastError: ProviderError | undefined;
  let attempted = false;
  let earliestHalfOpen = Infinity;
  for (const provider of ordered) {
    const current = (await store.get(messageId))?.doc;
    if (!current || isTerminalMessageStatus(current.status)) return 'done';
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
      const firstOnChannel = !current.attempts.some((a) => a.channel === channel);
      const reason = firstOnChannel && step.fallback ? step.fallback.reason : fallbackReasonAfter(current);
      const skipped = firstOnChannel ? step.fallback?.skippedChannel : undefined;
      await recorder.update(messageId, (d) => {
        d.routing = routed.decision;
        startAttempt(d, n, channel, provider, iso(), reason, skipped);
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
        statusCallbackUrl: callbackUrlFor(deps, adapter, channel, messageId),
        ...(ttlLeft !== undefined ? { validitySeconds: ttlLeft } : {}),
        ...(msg.locale !== undefined ? { locale: msg.locale } : {}),
        ...(channel === 'voice' && code !== undefined ? { spokenCode: code } : {}),
      },
      (fn) => deps.breakers.execute(provider, channel, gate.probe, fn),
      { entry: prior },
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
      // The carrier's own price when it reports one, else the price book's effective price per segment.
      const booked = routed.decision.candidates.find((c) => c.provider === provider)?.effectivePrice;
      const cost = r.cost ?? (booked !== undefined && channel !== 'push' ? { amount: Math.round(booked * (r.segments ?? 1) * 1e6) / 1e6, currency: 'USD' } : undefined);
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
            ...(cost !== undefined ? { cost } : {}),
          },
          iso(),
        );
      });
      log.debug({ attempt: n, provider, replayed: outcome.replayed }, 'carrier accepted');
      return 'done';
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
      return 'done';
    }
    if (channel === 'rcs' && hasNextRung) {
      // RCS gets one try; every refusal goes down the ladder (SMS with the same code, `rcs_failed`).
      await recorder.update(messageId, (d) => {
        moveAttempt(d, n, 'failed', iso(), errorInfo(err.scope === 'channel' ? 'SB_RCS_NOT_CAPABLE' : 'SB_RCS_FAILED', err));
        d.timeline.push({ at: iso(), type: 'carrier_error', channel, provider, detail: `${err.kind}/${err.scope}${err.providerCode ? ` ${err.providerCode}` : ''}` });
        d.updatedAt = iso();
      });
      return 'next_channel';
    }
    const isRecipient = err.kind === 'permanent' && err.scope === 'recipient';
    const isChannel = err.kind === 'permanent' && err.scope === 'channel';
    await recorder.update(messageId, (d) => {
      moveAttempt(d, n, 'failed', iso(), errorInfo(isRecipient ? 'SB_CARRIER_REJECTED' : isChannel ? 'SB_CHANNEL_UNSUPPORTED' : 'SB_ROUTE_UNAVAILABLE', err));
      d.timeline.push({ at: iso(), type: 'carrier_error', channel, provider, detail: `${err.kind}/${err.scope}${err.providerCode ? ` ${err.providerCode}` : ''}` });
      if (isRecipient || (isChannel && !hasNextRung)) finalize(d, iso(), errorInfo(isRecipient ? 'SB_CARRIER_REJECTED' : 'SB_CHANNEL_UNSUPPORTED', err));
      else d.updatedAt = iso();
    });
    if (isRecipient && isOptOutError(provider, err)) await suppressAfterCarrierRefusal(deps, current.to, provider, err.providerCode ?? '');
    if (isRecipient) return 'done';
    if (isChannel) return hasNextRung ? 'next_channel' : 'done';
  }

  const after = (await store.get(messageId))?.doc;
  if (!after || isTerminalMessageStatus(after.status)) return 'done';
  if (!attempted && Number.isFinite(earliestHalfOpen) && after.attempts.length < deps.config.messages.maxAttempts) {
    await waitForBreakers(deps, messageId, earliestHalfOpen, ctx, iso);
    return 'done';
  }
  const exhausted = after.attempts.length >= deps.config.messages.maxAttempts || ctx.attemptsMade + 1 >= ctx.maxRuns;
  if (!exhausted) throw new SendRetryLaterError(lastError?.message ?? 'no provider accepted the message');
  await recorder.update(messageId, (d) =>
    finalize(d, iso(), lastError ? errorInfo('SB_ROUTE_UNAVAILABLE', lastError) : { code: 'SB_ROUTE_UNAVAILABLE', message: 'no provider accepted the message' }),
  );
  return 'done';
}

/**
 * Where the carrier posts this attempt's callbacks: `/webhooks/<provider>?sb=<id>`, or the
 * carrier's own endpoint for the channel when it has one (Sinch Conversation for RCS).
 */
function callbackUrlFor(deps: PipelineDeps, adapter: ProviderAdapter, channel: Channel, messageId: string): string {
  const sub = channel === 'rcs' && adapter.webhooks?.['conversation'] !== undefined ? '/conversation' : '';
  return `${deps.publicUrl}/webhooks/${adapter.id}${sub}?sb=${encodeURIComponent(messageId)}`;
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

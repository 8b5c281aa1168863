/**
 * One `send` job: the pipeline of DESIGN §6 for a message (expiry → code → lookup → pumping guard →
 * plan → route → send → record) as stages over one in-memory unit of work (send-context.ts).
 *
 * The job reads the message and its ledger once, and writes at the two points crash safety needs:
 * before a carrier call (attempt started + ledger `sending`, with every earlier change: the code,
 * the lookup, a failed attempt before it) and after it (outcome + ledger `sent` + health + tier +
 * events + audit). A job killed anywhere resumes where the last commit left it: an attempt that
 * exists is reused, a ledger at `sent` is not sent again, one at `sending` is resent as
 * `ambiguous_resend`.
 *
 * Failover happens inside the job, by error kind and scope (DESIGN §5, domain/send-outcome.ts): a
 * refused recipient ends the message; a provider-side failure moves to the next candidate; when
 * every candidate failed the job is retried with backoff; when every breaker is open the job waits
 * (no attempt burned) until the earliest half-open.
 */
import type { ProviderError } from '../../providers/errors.ts';
import type { Channel, ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { FallbackReason, LookupResult, MessageRecord } from '../domain/message.ts';
import {
  carrierOutcomeStep,
  exhaustedStep,
  reflectsOnProvider,
  type CarrierErrorInfo,
  type CarrierOutcome,
} from '../domain/send-outcome.ts';
import { expire, finalize, isTerminalMessageStatus, startAttempt } from '../domain/status.ts';
import { maskPhonesInText } from '../logger.ts';
import { codeHmac, decryptCode, encryptCode, generateCode, renderBody } from '../otp/otp-codec.ts';
import { isOptOutError, suppressAfterCarrierRefusal } from '../policy/opt-out.ts';
import { tierMonth } from '../routing/price-book.ts';
import { awaitsDlrTimeoutResend } from './dlr-timeout.stage.ts';
import { lookupNumber } from './lookup.stage.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { hasRungAfter, nextStep, planLadder, type NextStep } from './plan.stage.ts';
import { applyPumpingVerdict, assessPumping, reportPumpingVerdict } from './pumping.stage.ts';
import { applyPushSkip } from './push-skip.stage.ts';
import { runPushStep } from './push.stage.ts';
import { rcsCapability } from './rcs-capability.stage.ts';
import { knownNotOnWhatsApp, rememberNotOnWhatsApp } from './whatsapp-registration.stage.ts';
import { planRoute } from './route.stage.ts';
import { channelProviders } from '../routing/channel-providers.ts';
import { SendContext } from './send-context.ts';
import { callAdapter, RECORD_SENT_FOR_MS } from './send.stage.ts';

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

const SUPPORTED_CHANNELS: readonly Channel[] = ['push', 'whatsapp', 'rcs', 'sms', 'voice'];

/** A carrier refusal as the message records it: carriers quote the number in their messages, so it is masked. */
function carrierError(err: ProviderError): CarrierErrorInfo {
  return {
    kind: err.kind,
    scope: err.scope,
    ambiguous: err.ambiguous,
    message: maskPhonesInText(err.message),
    ...(err.providerCode !== undefined ? { providerCode: err.providerCode } : {}),
  };
}

function fallbackReasonAfter(msg: MessageRecord): FallbackReason | undefined {
  const previous = msg.attempts[msg.attempts.length - 1];
  if (previous?.dlrTimeout !== undefined) return 'dlr_timeout';
  if (previous?.status === 'failed') return 'provider_error';
  if (previous?.status === 'undelivered') return 'undelivered';
  return undefined;
}

/** What a successful lookup found, for the timeline: the line type (or `invalid`), and a recent SIM swap. */
function lookupFacts(looked: LookupResult): string {
  return `${looked.valid ? looked.lineType : 'invalid'}${looked.simSwapped ? ', recent SIM swap' : ''}`;
}

/** The lookup's timeline line and verdict, applied to the draft (a lost race re-applies it). */
function applyLookup(d: MessageRecord, looked: LookupResult, at: string): boolean {
  if (d.lookup !== undefined) return false;
  d.lookup = looked;
  d.timeline.push({
    at,
    type: 'lookup',
    detail: `${looked.provider} ${looked.cache}: ${looked.error ? 'unknown (lookup failed)' : lookupFacts(looked)}`,
  });
  if (!looked.valid) {
    finalize(d, at, { code: 'SB_RECIPIENT_INVALID', message: 'the number lookup says this number does not exist' });
  } else if (looked.simSwapped && d.policy?.simSwap === 'block') {
    finalize(d, at, { code: 'SB_POLICY_SIM_SWAP', message: 'the SIM of this number was swapped recently; the key policy blocks sending' });
  }
  return true;
}

export async function processSendJob(deps: PipelineDeps, messageId: string, job: SendJobContext): Promise<void> {
  const { log } = deps;
  const iso = (): string => new Date(deps.now()).toISOString();
  const ctx = await SendContext.load(deps, messageId, deps.config.messages.maxAttempts);
  if (!ctx) {
    log.warn('send job for a message that no longer exists; dropping');
    return;
  }
  const msg = ctx.doc;
  if (isTerminalMessageStatus(msg.status) || (msg.final && msg.attempts.every((a) => a.status !== 'queued'))) return;
  // A resend after a DLR timeout is void once the code was verified.
  if (msg.verifiedAt !== undefined && awaitsDlrTimeoutResend(msg)) return;

  if (msg.expiresAt !== undefined && Date.parse(msg.expiresAt) <= deps.now()) {
    ctx.mutate((d) => expire(d, iso()));
    await ctx.commit();
    return;
  }

  // One code for every step of the ladder, generated here (never in a job payload); it is written
  // with the first commit, before any carrier sees it.
  let fresh: { code: string; sealed: string } | undefined;
  if (msg.otp && msg.otp.codeEnc === undefined) {
    const made = generateCode(msg.otp.length);
    const sealed = encryptCode(deps.keyRing.subkey('otp-encryption'), messageId, made);
    const hmac = codeHmac(deps.keyRing.subkey('otp-hmac'), messageId, made);
    ctx.mutate((d) => {
      if (!d.otp || d.otp.codeEnc !== undefined) return false;
      d.otp.codeEnc = sealed;
      d.otp.codeHmac = hmac;
      return true;
    });
    fresh = { code: made, sealed };
  }
  const codeEnc = ctx.doc.otp?.codeEnc;
  // The code made just now is at hand (decrypting what was sealed from it would cost an AES-GCM pass).
  const code =
    codeEnc === undefined
      ? undefined
      : codeEnc === fresh?.sealed
        ? fresh.code
        : decryptCode(deps.keyRing.subkey('otp-encryption'), messageId, codeEnc);
  const text = renderBody(ctx.doc.body, code);

  if (ctx.doc.lookup === undefined) {
    const looked = await lookupNumber(deps, ctx.doc);
    if (looked) {
      const at = iso();
      if (ctx.mutate((d) => applyLookup(d, looked, at))) {
        if (!looked.valid) ctx.afterCommit(() => deps.metrics.policyBlocks.inc({ reason: 'invalid_number' }));
        else if (looked.simSwapped && ctx.doc.policy?.simSwap === 'block')
          ctx.afterCommit(() => deps.metrics.policyBlocks.inc({ reason: 'sim_swap' }));
      }
      if (isTerminalMessageStatus(ctx.doc.status)) {
        await ctx.commit();
        return;
      }
    }
  }

  const verdict = await assessPumping(deps, ctx.doc);
  if (verdict !== undefined) {
    const at = iso();
    if (ctx.mutate((d) => applyPumpingVerdict(d, verdict, at))) {
      // Blocked: saved now; shadow mode: saved with the first attempt. Reported once saved.
      const flagged = ctx.doc;
      ctx.afterCommit(() => reportPumpingVerdict(deps, flagged, verdict));
      if (isTerminalMessageStatus(ctx.doc.status)) {
        await ctx.commit();
        return;
      }
    }
  }

  const lookup = ctx.doc.lookup;
  const policy = ctx.doc.policy;
  const country = ctx.doc.country;
  const usable = (c: Channel): boolean =>
    SUPPORTED_CHANNELS.includes(c) && channelProviders(c, country, deps.config, deps.adapters).length > 0;
  if (ctx.doc.rcsCapability === undefined && planLadder(ctx.doc, usable).some((st) => st.channel === 'rcs' && st.skip === undefined)) {
    const status = await rcsCapability(deps, ctx.doc);
    ctx.mutate((d) => {
      if (d.rcsCapability !== undefined) return false;
      d.rcsCapability = status;
      return true;
    });
  }
  const rcsStatus = ctx.doc.rcsCapability;
  // WhatsApp: a number a carrier recently said has no WhatsApp goes to the next rung at once.
  const whatsappPlanned =
    ctx.doc.channels.includes('whatsapp') &&
    !ctx.doc.attempts.some((a) => a.channel === 'whatsapp') &&
    planLadder(ctx.doc, usable).some((st) => st.channel === 'whatsapp' && st.skip === undefined);
  const notOnWhatsApp = whatsappPlanned && (await knownNotOnWhatsApp(deps, ctx.doc.to));
  const restrict = (c: Channel): FallbackReason | undefined => {
    if (lookup?.lineType === 'landline' && (c === 'sms' || c === 'rcs')) return 'landline';
    if (c === 'rcs' && rcsStatus !== 'capable') return 'rcs_not_capable';
    if (c === 'whatsapp' && notOnWhatsApp) return 'whatsapp_not_registered';
    // Only an authentication template (which needs a code) may open a WhatsApp conversation.
    if (c === 'whatsapp' && ctx.doc.otp === undefined) return 'whatsapp_failed';
    if (lookup?.simSwapped && policy?.simSwap === 'push-only' && c !== 'push') return 'sim_swap_push_only';
    return undefined;
  };
  const ladder = await applyPushSkip(deps, ctx, planLadder(ctx.doc, usable, restrict));
  // Each rung either ends the job (waiting for a callback/ack, retry later, or final) or falls
  // through to the next rung at once (push failed, channel refused the recipient).
  for (let rung = 0; rung <= ladder.length; rung++) {
    if (isTerminalMessageStatus(ctx.doc.status)) {
      await ctx.commit();
      return;
    }
    const step = nextStep(ctx.doc, ladder);
    if (step === undefined) {
      const lastError = ctx.doc.attempts[ctx.doc.attempts.length - 1]?.error;
      const at = iso();
      ctx.mutate((d) =>
        finalize(
          d,
          at,
          lastError ?? {
            code: 'SB_CHANNEL_UNSUPPORTED',
            message: `no enabled provider for channels ${d.channels.join(', ')} to ${d.country}`,
          },
        ),
      );
      await ctx.commit();
      return;
    }
    if (step.channel === 'push') {
      // The push rung writes on its own (its ack races the fallback-check); hand it the saved message.
      const saved = await ctx.commit({ abortIfTerminal: true });
      if (saved === 'terminal' || saved === 'gone') return;
      if ((await runPushStep(deps, ctx.doc, text, step)) === 'waiting') return;
      if (!(await ctx.reload())) return;
      continue;
    }
    if ((await runCarrierStep(deps, ctx, step, text, code, hasRungAfter(ladder, step.channel), job)) === 'done') return;
    // A rung that handed over without an attempt ending it (WhatsApp behind open breakers) is
    // skipped for the rest of this job.
    const left = ladder.findIndex((st) => st.channel === step.channel && st.skip === undefined);
    if (step.channel === 'whatsapp' && left !== -1 && nextStep(ctx.doc, ladder)?.channel === 'whatsapp')
      ladder[left] = { channel: 'whatsapp', skip: 'whatsapp_failed' };
  }
}

/**
 * One carrier rung (SMS, voice, RCS): route, then try the ranked providers in order within this
 * job, a small state machine whose transitions are domain/send-outcome.ts. Returns `next_channel`
 * when the channel refused the recipient and a later rung exists.
 */
async function runCarrierStep(
  deps: PipelineDeps,
  ctx: SendContext,
  step: NextStep,
  text: string,
  code: string | undefined,
  hasNextRung: boolean,
  job: SendJobContext,
): Promise<'done' | 'next_channel'> {
  const { log } = deps;
  const channel = step.channel;
  const iso = (): string => new Date(deps.now()).toISOString();
  const canRetryJob = job.attemptsMade + 1 < job.maxRuns;
  const open = ctx.doc.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined);
  const avoid = new Set<ProviderId>(
    ctx.doc.attempts
      .filter((a) => a.status === 'failed' || a.status === 'undelivered' || a.dlrTimeout !== undefined)
      .map((a) => a.provider),
  );
  const routed = await planRoute(deps, channel, ctx.doc.country, avoid);
  deps.metrics.routeDecisions.inc({ provider: routed.kind === 'ok' ? routed.decision.provider : 'none', reason: routed.decision.reason });
  if (routed.kind === 'none') {
    const at = iso();
    ctx.mutate((d) => {
      d.routing = routed.decision;
      finalize(d, at, { code: 'SB_ROUTE_NONE', message: `no provider is configured with a price for ${channel} to ${d.country}` });
    });
    await ctx.commit();
    return 'done';
  }
  if (routed.kind === 'all_open') {
    // Every WhatsApp circuit is open: the code goes by the next rung now rather than after the wait.
    if (channel === 'whatsapp' && hasNextRung) return 'next_channel';
    await waitForBreakers(deps, ctx, routed.retryInMs, job);
    return 'done';
  }
  const ordered: ProviderId[] = open ? [open.provider, ...routed.ranked.filter((p) => p !== open.provider)] : routed.ranked;

  let lastError: CarrierErrorInfo | undefined;
  let attempted = false;
  let earliestHalfOpen = Infinity;
  for (const provider of ordered) {
    if (isTerminalMessageStatus(ctx.doc.status)) {
      await ctx.commit();
      return 'done';
    }
    const current = ctx.doc;
    const resuming = current.attempts.find((a) => a.status === 'queued' && a.providerMessageId === undefined && a.provider === provider);
    if (!resuming && current.attempts.length >= deps.config.messages.maxAttempts) break;
    const adapter = deps.adapters.get(provider);
    if (!adapter) continue;

    const gate = await deps.breakers.acquire(provider, channel);
    if (!gate.allowed) {
      const s = deps.breakers.status(provider, channel);
      earliestHalfOpen = Math.min(earliestHalfOpen, s.state === 'open' ? s.halfOpenInMs : 1_000);
      if (resuming)
        ctx.mutate(
          carrierOutcomeStep({ kind: 'breaker_open' }, { n: resuming.n, channel, provider, at: iso(), hasNextRung, canRetryJob }).mutate,
        );
      continue;
    }

    const n = resuming?.n ?? current.attempts.length + 1;
    if (!resuming) {
      const firstOnChannel = !current.attempts.some((a) => a.channel === channel);
      const reason = firstOnChannel && step.fallback ? step.fallback.reason : fallbackReasonAfter(current);
      const skipped = firstOnChannel ? step.fallback?.skippedChannel : undefined;
      const at = iso();
      ctx.mutate((d) => {
        d.routing = routed.decision;
        startAttempt(d, n, channel, provider, at, reason, skipped);
      });
    }
    const prior = ctx.ledger(n);
    if (prior?.state === 'sending') {
      const at = iso();
      ctx.mutate((d) => {
        d.timeline.push({ at, type: 'ambiguous_resend', channel, provider, detail: `attempt ${n}` });
      });
    }

    const started = performance.now();
    const call = await callCarrier(deps, ctx, {
      adapter,
      provider,
      channel,
      n,
      text,
      code,
      probe: gate.probe,
      bookedPrice: routed.decision.candidates.find((c) => c.provider === provider)?.effectivePrice,
    });
    if (call === 'aborted') return 'done';
    const { outcome } = call;
    const result = carrierOutcomeStep(outcome, { n, channel, provider, at: iso(), hasNextRung, canRetryJob });
    ctx.mutate(result.mutate);
    if (outcome.kind === 'breaker_open') {
      // The breaker closed the door between routing and the call: nothing left this worker.
      ctx.carry({ ledger: { attempt: n, value: null } });
      continue;
    }
    deps.metrics.sendDuration.observe({ provider, channel }, (performance.now() - started) / 1000);
    if (outcome.kind === 'accepted') {
      await commitAccepted(deps, ctx, {
        provider,
        channel,
        n,
        providerMessageId: outcome.providerMessageId,
        segments: outcome.segments ?? 1,
        replayed: call.replayed,
      });
      log.debug({ attempt: n, provider, replayed: call.replayed }, 'carrier accepted');
      return 'done';
    }
    attempted = true;
    const err = outcome.error;
    lastError = err;
    noteRefusal(deps, ctx, provider, n, err);
    if (result.next === 'next_provider') continue;
    await ctx.commit();
    if (result.next === 'retry_job') throw new SendRetryLaterError(err.message);
    if (err.kind === 'permanent' && err.scope === 'recipient' && isOptOutError(provider, err)) {
      await suppressAfterCarrierRefusal(deps, ctx.doc.to, provider, err.providerCode ?? '');
    }
    if (channel === 'whatsapp' && err.kind === 'permanent' && err.scope === 'channel') await rememberNotOnWhatsApp(deps, ctx.doc.to);
    return result.next === 'next_channel' ? 'next_channel' : 'done';
  }

  if (isTerminalMessageStatus(ctx.doc.status)) {
    await ctx.commit();
    return 'done';
  }
  if (
    !attempted &&
    Number.isFinite(earliestHalfOpen) &&
    ctx.doc.attempts.length < deps.config.messages.maxAttempts &&
    !(channel === 'whatsapp' && hasNextRung)
  ) {
    await waitForBreakers(deps, ctx, earliestHalfOpen, job);
    return 'done';
  }
  const end = exhaustedStep(ctx.doc, {
    maxAttempts: deps.config.messages.maxAttempts,
    canRetryJob,
    at: iso(),
    channel,
    hasNextRung,
    ...(lastError !== undefined ? { lastError } : {}),
  });
  if (end.mutate) ctx.mutate(end.mutate);
  await ctx.commit();
  if (end.next === 'next_channel') return 'next_channel';
  if (end.next === 'retry_job') throw new SendRetryLaterError(lastError?.message ?? 'no provider accepted the message');
  return 'done';
}

/** What one carrier call needs besides the context. */
interface CarrierCall {
  adapter: ProviderAdapter;
  provider: ProviderId;
  channel: Channel;
  n: number;
  text: string;
  code: string | undefined;
  /** This call is the fleet's half-open probe of the provider's breaker. */
  probe: boolean;
  /** The price book's effective price per segment, the cost when the carrier reports none. */
  bookedPrice: number | undefined;
}

/**
 * Durability point 1 and the call: commits the attempt (and everything before it: the code, the
 * lookup, an earlier failed attempt) with the ledger at `sending`, then calls the carrier. An
 * attempt whose ledger already says `sent` (an earlier run's record was lost) is not sent again.
 * `aborted`: the message went terminal or disappeared meanwhile, and nothing was sent.
 */
async function callCarrier(
  deps: PipelineDeps,
  ctx: SendContext,
  c: CarrierCall,
): Promise<{ outcome: CarrierOutcome; replayed: boolean } | 'aborted'> {
  const prior = ctx.ledger(c.n);
  if (prior?.state === 'sent') {
    return {
      outcome: { kind: 'accepted', providerMessageId: prior.providerMessageId, acceptedAt: new Date(deps.now()).toISOString() },
      replayed: true,
    };
  }
  const pre = await ctx.commit({ ledger: [{ attempt: c.n, value: { state: 'sending' } }], abortIfTerminal: true });
  if (pre === 'terminal' || pre === 'gone') return 'aborted';
  const ttlLeft = remainingValiditySeconds(ctx.doc, deps.now());
  const call = await callAdapter(
    c.adapter,
    {
      messageId: ctx.id,
      attempt: c.n,
      channel: c.channel,
      to: ctx.doc.to,
      body: c.text,
      statusCallbackUrl: callbackUrlFor(deps, c.adapter, c.channel, ctx.id),
      ...(ttlLeft !== undefined ? { validitySeconds: ttlLeft } : {}),
      ...(ctx.doc.locale !== undefined ? { locale: ctx.doc.locale } : {}),
      ...(c.channel === 'voice' && c.code !== undefined ? { spokenCode: c.code } : {}),
      ...(c.channel === 'whatsapp' && c.code !== undefined ? { otpCode: c.code } : {}),
    },
    (fn) => deps.breakers.execute(c.provider, c.channel, c.probe, fn),
  );
  if (call.kind === 'breaker_open') return { outcome: call, replayed: false };
  if (call.kind === 'error') return { outcome: { kind: 'error', error: carrierError(call.error) }, replayed: false };
  const r = call.result;
  // The carrier's own price when it reports one, else the price book's effective price per segment.
  const cost =
    r.cost ??
    (c.bookedPrice !== undefined ? { amount: Math.round(c.bookedPrice * (r.segments ?? 1) * 1e6) / 1e6, currency: 'USD' } : undefined);
  return {
    outcome: {
      kind: 'accepted',
      providerMessageId: r.providerMessageId,
      acceptedAt: r.acceptedAt.toISOString(),
      ...(r.segments !== undefined ? { segments: r.segments } : {}),
      ...(cost !== undefined ? { cost } : {}),
    },
    replayed: false,
  };
}

/**
 * Durability point 2 after an acceptance: the ledger mark `sent`, volume tier and health go first in
 * the same round trip as the outcome's commit, applied whatever the commit's fate (the carrier has
 * the message either way); Redis trouble is ridden out for about a send lock.
 */
async function commitAccepted(
  deps: PipelineDeps,
  ctx: SendContext,
  a: { provider: ProviderId; channel: Channel; n: number; providerMessageId: string; segments: number; replayed: boolean },
): Promise<void> {
  const country = ctx.doc.country;
  const now = deps.now();
  await ctx.commit({
    persistForMs: RECORD_SENT_FOR_MS,
    before: (p) => {
      if (!a.replayed) {
        p.set(deps.store.keys.ledger(ctx.id, a.n), `sent:${a.providerMessageId}`, 'EX', deps.config.messages.retentionSeconds);
        // The volume tiers are the SMS contracts' (segments); WhatsApp is priced per message.
        if (a.channel !== 'whatsapp') deps.tiers.queueAdd(p, a.provider, tierMonth(now), a.segments);
      }
      deps.health.queueSend(p, a.provider, country, false, now);
    },
  });
}

/** A refusal's metrics and logs, and the writes it carries into the next commit (ledger, health). */
function noteRefusal(deps: PipelineDeps, ctx: SendContext, provider: ProviderId, n: number, err: CarrierErrorInfo): void {
  deps.metrics.providerErrors.inc({ provider, kind: err.kind });
  // Only a call that certainly did not reach the carrier may be forgotten; an ambiguous one
  // keeps `sending` so the retry is marked as a possible duplicate.
  if (!err.ambiguous) ctx.carry({ ledger: { attempt: n, value: null } });
  if (reflectsOnProvider(err)) {
    const country = ctx.doc.country;
    const now = deps.now();
    ctx.carry({ before: (p) => deps.health.queueSend(p, provider, country, true, now) });
  }
  deps.log.warn(
    { attempt: n, provider, kind: err.kind, scope: err.scope, providerCode: err.providerCode, ambiguous: err.ambiguous },
    'carrier refused',
  );
  if (err.kind === 'permanent' && err.scope === 'provider') {
    deps.log.error(
      { provider, providerCode: err.providerCode },
      'provider refused by configuration (geo permission, sender, registration): ops action needed',
    );
  }
}

/**
 * Where the carrier posts this attempt's callbacks: `/webhooks/<provider>?sb=<id>`, or the
 * carrier's own endpoint for the channel when it has one (Sinch Conversation for RCS and WhatsApp).
 */
function callbackUrlFor(deps: PipelineDeps, adapter: ProviderAdapter, channel: Channel, messageId: string): string {
  const sub = (channel === 'rcs' || channel === 'whatsapp') && adapter.webhooks?.['conversation'] !== undefined ? '/conversation' : '';
  return `${deps.publicUrl}/webhooks/${adapter.id}${sub}?sb=${encodeURIComponent(messageId)}`;
}

/** Every breaker is open: wait for the earliest half-open, unless the message would expire first. */
async function waitForBreakers(deps: PipelineDeps, ctx: SendContext, retryInMs: number, job: SendJobContext): Promise<void> {
  const wakeAt = deps.now() + Math.max(250, retryInMs);
  const expiresAt = ctx.doc.expiresAt;
  if (expiresAt !== undefined && wakeAt >= Date.parse(expiresAt)) {
    const at = new Date(deps.now()).toISOString();
    ctx.mutate((d) =>
      finalize(d, at, { code: 'SB_ROUTE_UNAVAILABLE', message: 'every provider circuit stayed open until the message expired' }),
    );
    await ctx.commit();
    return;
  }
  // What this run learnt (a breaker-failed attempt, the code) is kept before the job sleeps.
  await ctx.commit();
  deps.log.warn({ retryInMs }, 'every provider circuit is open; waiting for a half-open probe');
  await job.delay(wakeAt - deps.now());
}

/** Seconds the carrier may keep trying: the OTP TTL (or `expiresAt`) still left. */
function remainingValiditySeconds(msg: MessageRecord, now: number): number | undefined {
  if (msg.expiresAt === undefined) return undefined;
  return Math.max(1, Math.floor((Date.parse(msg.expiresAt) - now) / 1000));
}

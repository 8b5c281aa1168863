/**
 * Applies verified carrier callbacks (the `dlr` queue) to their attempts. A callback can beat
 * the send's own record of the carrier id (the carrier answers, then calls back before our write
 * lands): such a job throws, BullMQ retries it with backoff for about ten minutes, then parks it.
 */
import { forEachKeyedLane } from '../queues/keyed-lanes.ts';
import type { DlrJobData } from '../queues/queue-names.ts';
import type { AttemptStatus } from '../domain/message.ts';
import { jobIds } from '../domain/ids.ts';
import { applyCallback, finalize, noteRead } from '../domain/status.ts';
import { countsAsOtpDelivery } from '../routing/conversion-credit.ts';
import type { DlrSample } from '../routing/health.store.ts';
import { channelProviders } from '../routing/channel-providers.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { rememberNotOnWhatsApp } from './whatsapp-registration.stage.ts';

/** The callback's message or attempt is not recorded yet; retry later. */
export class CallbackNotYetMatchedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackNotYetMatchedError';
  }
}

const TERMINAL: ReadonlySet<AttemptStatus> = new Set(['delivered', 'undelivered', 'failed']);

export interface DlrOutcome {
  applied: number;
  absorbed: number;
  ignored: number;
}

/**
 * `source: 'reconciled'`: the events come from the carrier's status API (a callback that never
 * came); they are applied exactly like callbacks, with a `reconciled` timeline entry.
 */
type DlrDeps = Pick<PipelineDeps, 'redis' | 'store' | 'recorder' | 'log' | 'now' | 'health' | 'queues' | 'config' | 'adapters'> &
  /** With the key ring, a "not on WhatsApp" callback is remembered for the number (whatsapp-registration.stage.ts). */
  Partial<Pick<PipelineDeps, 'keyRing'>>;
type DlrEvent = DlrJobData['events'][number];

/** How many messages' callbacks one job applies at once (a batch of callbacks holds many messages). */
const PARALLEL_MESSAGES = 16;

/**
 * `source: 'reconciled'`: the events come from the carrier's status API (a callback that never
 * came); they are applied exactly like callbacks, with a `reconciled` timeline entry. A job may
 * hold the callbacks of many messages (the API queues them in batches): each message's are applied
 * in order, messages side by side, and a callback that cannot be matched yet fails the job only
 * after the others are applied (its retry finds them applied and absorbs them).
 */
export async function processDlrJob(deps: DlrDeps, data: DlrJobData, source: 'callback' | 'reconciled' = 'callback'): Promise<DlrOutcome> {
  const out: DlrOutcome = { applied: 0, absorbed: 0, ignored: 0 };
  const unmatched: CallbackNotYetMatchedError[] = [];
  // Delivery outcomes for provider health, written together after the job's callbacks.
  const samples: DlrSample[] = [];
  await forEachKeyedLane(
    data.events,
    (ev) => ev.messageId ?? '',
    PARALLEL_MESSAGES,
    async (group) => {
      for (const ev of group) {
        try {
          await applyOne(deps, ev, source, out, samples);
        } catch (err) {
          if (!(err instanceof CallbackNotYetMatchedError)) throw err;
          unmatched.push(err);
          return; // this message's later callbacks wait for the retry, in order
        }
      }
    },
  );
  // Health is statistics: a failed write never fails (or repeats) the callbacks it describes.
  await deps.health
    .recordDlrBatch(samples, deps.now())
    .catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'provider health samples not recorded'));
  const first = unmatched[0];
  if (first !== undefined)
    throw unmatched.length === 1
      ? first
      : new CallbackNotYetMatchedError(`${unmatched.length} callbacks not matched (yet), e.g. ${first.message}`);
  return out;
}

async function applyOne(
  deps: DlrDeps,
  ev: DlrEvent,
  source: 'callback' | 'reconciled',
  out: DlrOutcome,
  samples: DlrSample[],
): Promise<void> {
  if (ev.status === 'unknown') {
    out.ignored++;
    return;
  }
  const status: AttemptStatus = ev.status;
  if (ev.messageId === undefined) {
    deps.log.warn({ provider: ev.provider, providerMessageId: ev.providerMessageId }, 'callback without our message id; ignored');
    out.ignored++;
    return;
  }
  const stored = await deps.store.get(ev.messageId);
  if (!stored) throw new CallbackNotYetMatchedError(`message ${ev.messageId} not found (yet)`);
  if (!stored.doc.attempts.some((a) => a.providerMessageId === ev.providerMessageId)) {
    throw new CallbackNotYetMatchedError(`message ${ev.messageId} has no attempt with ${ev.provider} id ${ev.providerMessageId} (yet)`);
  }
  let retryAttempt: number | undefined;
  let readOnly = false;
  const res = await deps.recorder.update(
    ev.messageId,
    (d) => {
      retryAttempt = undefined;
      readOnly = false;
      const r = applyCallback(d, {
        providerMessageId: ev.providerMessageId,
        status,
        rawStatus: ev.rawStatus,
        at: ev.occurredAt,
        source,
        ...(ev.errorCode !== undefined ? { errorCode: ev.errorCode } : {}),
      });
      if (
        !r.applied &&
        ev.read === true &&
        r.attempt !== undefined &&
        noteRead(d, { providerMessageId: ev.providerMessageId, at: ev.occurredAt, source })
      ) {
        // A read receipt after `delivered`: a timeline line, nothing else moves.
        readOnly = true;
        return r.attempt;
      }
      if (!r.applied || !r.attempt) return false;
      if ((status === 'undelivered' || status === 'failed') && r.attempt.channel === 'whatsapp' && !d.final) {
        // Switchboard owns WhatsApp's fallback: not on WhatsApp, or every other failure, goes to the
        // next rung (SMS, same code) — unless a later attempt already runs (a DLR timeout moved on).
        const failedAttempt = d.attempts.find((a) => a.n === r.attempt?.n);
        if (failedAttempt?.error)
          failedAttempt.error = {
            ...failedAttempt.error,
            code: ev.recipientNotCapable === true ? 'SB_WHATSAPP_NOT_REGISTERED' : 'SB_WHATSAPP_FAILED',
          };
        if (r.attempt.n === d.attempts.length) retryAttempt = d.attempts.length + 1;
      } else if ((status === 'undelivered' || status === 'failed') && r.attempt.channel === 'rcs' && !d.final) {
        // RCS was asked for RCS only; Switchboard owns the fallback: the next rung (SMS, same code).
        const failedAttempt = d.attempts.find((a) => a.n === r.attempt?.n);
        if (failedAttempt?.error)
          failedAttempt.error = { ...failedAttempt.error, code: ev.recipientNotCapable === true ? 'SB_RCS_NOT_CAPABLE' : 'SB_RCS_FAILED' };
        retryAttempt = d.attempts.length + 1;
      } else if (status === 'undelivered' || status === 'failed') {
        // A transient carrier code (Twilio 30003, Sinch 404) gets one more try on another provider
        // of the same channel (DESIGN §6); anything else ends the message here.
        const others = channelProviders(r.attempt.channel, d.country, deps.config, deps.adapters).filter(
          (p) => !d.attempts.some((a) => a.provider === p),
        );
        const retriedBefore = d.attempts.some((a) => a.fallback?.reason === 'undelivered');
        if (
          status === 'undelivered' &&
          ev.transient === true &&
          !retriedBefore &&
          others.length > 0 &&
          d.attempts.length < deps.config.messages.maxAttempts &&
          !d.final
        ) {
          retryAttempt = d.attempts.length + 1;
        } else {
          finalize(d, new Date(deps.now()).toISOString());
        }
      }
      return r.attempt;
    },
    stored,
  );
  if (res && readOnly) {
    out.applied++;
    return;
  }
  if (res) {
    out.applied++;
    const attempt = res.result;
    if (attempt.channel === 'whatsapp' && ev.recipientNotCapable === true && deps.keyRing !== undefined) {
      await rememberNotOnWhatsApp({ config: deps.config, keyRing: deps.keyRing, redis: deps.redis, log: deps.log }, res.after.to);
    }
    // "Not on WhatsApp" says nothing about the carrier's delivery: it must not lower its health.
    const notTheCarriers = attempt.channel === 'whatsapp' && ev.recipientNotCapable === true;
    if (TERMINAL.has(status) && attempt.acceptedAt !== undefined && !notTheCarriers) {
      const latency = status === 'delivered' ? Date.parse(ev.occurredAt) - Date.parse(attempt.acceptedAt) : undefined;
      const otpDelivered = status === 'delivered' && countsAsOtpDelivery(res.before, res.after);
      samples.push({
        provider: attempt.provider,
        country: res.after.country,
        delivered: status === 'delivered',
        latencyMs: latency,
        otpDelivered,
      });
    }
    if (retryAttempt !== undefined) await deps.queues.addSend(ev.messageId, jobIds.attempt(ev.messageId, retryAttempt));
  } else out.absorbed++;
}

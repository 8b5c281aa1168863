/**
 * What a carrier call's outcome does to a message, and where the send job goes next (DESIGN §5's
 * error table). Pure: the send job applies the mutation to its in-memory draft (and again to a
 * fresh copy after a lost compare-and-set), so these rules are tested without Redis or a carrier.
 */
import type { ProviderErrorKind, ProviderErrorScope } from '../../providers/errors.ts';
import type { Channel, ErrorInfo, MessageRecord, Money, ProviderId } from './message.ts';
import { finalize, markAccepted, moveAttempt } from './status.ts';

/** A carrier refusal as the message records it; `message` already has numbers masked. */
export interface CarrierErrorInfo {
  kind: ProviderErrorKind;
  scope: ProviderErrorScope;
  ambiguous: boolean;
  providerCode?: string;
  message: string;
}

export type CarrierOutcome =
  | { kind: 'accepted'; providerMessageId: string; acceptedAt: string; segments?: number; cost?: Money }
  | { kind: 'error'; error: CarrierErrorInfo }
  /** The breaker refused the call before it left this worker: nothing was sent. */
  | { kind: 'breaker_open' };

/** Where the job goes after an outcome. */
export type CarrierNext =
  /** The attempt is out (or the message is final): the job ends. */
  | 'done'
  /** Try the next ranked provider of the channel in this job. */
  | 'next_provider'
  /** The channel refused the recipient (or RCS failed): the next rung of the ladder. */
  | 'next_channel'
  /** The outcome is unknown (the carrier may have it): retry the same attempt in a later run. */
  | 'retry_job';

export interface OutcomeContext {
  n: number;
  channel: Channel;
  provider: ProviderId;
  at: string;
  /** A usable rung follows this channel on the ladder. */
  hasNextRung: boolean;
  /** BullMQ will run the job again if this run throws. */
  canRetryJob: boolean;
}

export interface OutcomeStep {
  next: CarrierNext;
  /** The change to the message; re-appliable (monotonic). */
  mutate: (draft: MessageRecord) => void;
}

function errorInfo(code: string, err: CarrierErrorInfo): ErrorInfo {
  return { code, message: err.message, ...(err.providerCode !== undefined ? { providerCode: err.providerCode } : {}) };
}

function errorDetail(err: CarrierErrorInfo): string {
  return `${err.kind}/${err.scope}${err.providerCode ? ` ${err.providerCode}` : ''}`;
}

/** Whether a send error says something about the provider's health (not about the recipient or channel). */
export function reflectsOnProvider(err: Pick<CarrierErrorInfo, 'kind' | 'scope'>): boolean {
  return !(err.kind === 'permanent' && (err.scope === 'recipient' || err.scope === 'channel'));
}

/** The message change and next step of one carrier outcome for attempt `c.n`. */
export function carrierOutcomeStep(outcome: CarrierOutcome, c: OutcomeContext): OutcomeStep {
  const { n, channel, provider, at } = c;
  if (outcome.kind === 'accepted') {
    return {
      next: 'done',
      mutate: (d) =>
        markAccepted(
          d,
          n,
          {
            providerMessageId: outcome.providerMessageId,
            acceptedAt: outcome.acceptedAt,
            ...(outcome.segments !== undefined ? { segments: outcome.segments } : {}),
            ...(outcome.cost !== undefined ? { cost: outcome.cost } : {}),
          },
          at,
        ),
    };
  }
  if (outcome.kind === 'breaker_open') {
    return {
      next: 'next_provider',
      mutate: (d) => {
        moveAttempt(d, n, 'failed', at, { code: 'SB_ROUTE_UNAVAILABLE', message: `${provider} circuit open` });
        d.updatedAt = at;
      },
    };
  }
  const err = outcome.error;
  if (err.ambiguous) {
    // The carrier may have it: keep the attempt open and retry the same attempt (same code, same reference).
    const note = (d: MessageRecord): void => {
      d.timeline.push({ at, type: 'carrier_error', channel, provider, detail: `${err.kind}: outcome unknown` });
    };
    if (c.canRetryJob) return { next: 'retry_job', mutate: note };
    if (channel === 'whatsapp' && c.hasNextRung) {
      // Out of runs on WhatsApp: the next rung (SMS) with the same code beats failing the message.
      return {
        next: 'next_channel',
        mutate: (d) => {
          note(d);
          moveAttempt(d, n, 'failed', at, errorInfo('SB_WHATSAPP_FAILED', err));
          d.updatedAt = at;
        },
      };
    }
    return {
      next: 'done',
      mutate: (d) => {
        note(d);
        finalize(d, at, errorInfo('SB_ROUTE_UNAVAILABLE', err));
      },
    };
  }
  if (channel === 'rcs' && c.hasNextRung) {
    // RCS gets one try; every refusal goes down the ladder (SMS with the same code, `rcs_failed`).
    return {
      next: 'next_channel',
      mutate: (d) => {
        moveAttempt(d, n, 'failed', at, errorInfo(err.scope === 'channel' ? 'SB_RCS_NOT_CAPABLE' : 'SB_RCS_FAILED', err));
        d.timeline.push({ at, type: 'carrier_error', channel, provider, detail: errorDetail(err) });
        d.updatedAt = at;
      },
    };
  }
  const isRecipient = err.kind === 'permanent' && err.scope === 'recipient';
  const isChannel = err.kind === 'permanent' && err.scope === 'channel';
  if (channel === 'whatsapp' && isChannel) {
    // Not on WhatsApp (or WhatsApp cannot carry this message): no other WhatsApp provider will
    // help; the next rung at once (`whatsapp_not_registered`), or the message fails with that code.
    return {
      next: c.hasNextRung ? 'next_channel' : 'done',
      mutate: (d) => {
        moveAttempt(d, n, 'failed', at, errorInfo('SB_WHATSAPP_NOT_REGISTERED', err));
        d.timeline.push({ at, type: 'carrier_error', channel, provider, detail: errorDetail(err) });
        if (c.hasNextRung) d.updatedAt = at;
        else finalize(d, at, errorInfo('SB_WHATSAPP_NOT_REGISTERED', err));
      },
    };
  }
  const final = isRecipient || (isChannel && !c.hasNextRung);
  return {
    next: isRecipient ? 'done' : isChannel ? (c.hasNextRung ? 'next_channel' : 'done') : 'next_provider',
    mutate: (d) => {
      moveAttempt(
        d,
        n,
        'failed',
        at,
        errorInfo(isRecipient ? 'SB_CARRIER_REJECTED' : isChannel ? 'SB_CHANNEL_UNSUPPORTED' : 'SB_ROUTE_UNAVAILABLE', err),
      );
      d.timeline.push({ at, type: 'carrier_error', channel, provider, detail: errorDetail(err) });
      if (final) finalize(d, at, errorInfo(isRecipient ? 'SB_CARRIER_REJECTED' : 'SB_CHANNEL_UNSUPPORTED', err));
      else d.updatedAt = at;
    },
  };
}

/**
 * The end of a carrier rung whose candidates all failed: retry the job later (backoff), or, once
 * out of attempts or runs, fail the message with the last error. WhatsApp with a later rung goes
 * there at once instead (`whatsapp_failed`): an OTP by SMS now beats WhatsApp after a backoff.
 */
export function exhaustedStep(
  draft: Pick<MessageRecord, 'attempts'>,
  c: { maxAttempts: number; canRetryJob: boolean; at: string; lastError?: CarrierErrorInfo; channel?: Channel; hasNextRung?: boolean },
): { next: 'retry_job' | 'done' | 'next_channel'; mutate?: (draft: MessageRecord) => void } {
  if (c.channel === 'whatsapp' && c.hasNextRung === true) {
    return {
      next: 'next_channel',
      mutate: (d) => {
        // The rung's last failed attempt carries the code that ends it (plan.stage.ts).
        const last = [...d.attempts].reverse().find((a) => a.channel === 'whatsapp' && a.status === 'failed');
        if (last !== undefined)
          last.error = { ...(last.error ?? { message: 'every WhatsApp provider failed' }), code: 'SB_WHATSAPP_FAILED' };
        d.updatedAt = c.at;
      },
    };
  }
  const exhausted = draft.attempts.length >= c.maxAttempts || !c.canRetryJob;
  if (!exhausted) return { next: 'retry_job' };
  const error = c.lastError
    ? errorInfo('SB_ROUTE_UNAVAILABLE', c.lastError)
    : { code: 'SB_ROUTE_UNAVAILABLE', message: 'no provider accepted the message' };
  return { next: 'done', mutate: (d) => finalize(d, c.at, error) };
}

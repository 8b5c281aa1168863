/**
 * Plan stage (DESIGN §6.3): the channel ladder of a message — push (if enabled and a token is
 * given), then the listed channels in order — and where the message stands on it. Pure: the send
 * job asks "what next?" after every step, so a crash anywhere resumes on the right rung.
 */
import type { Channel } from '../../providers/provider.ts';
import type { Attempt, FallbackReason, MessageRecord } from '../domain/message.ts';

export interface LadderStep {
  channel: Channel;
  /** Set when the channel is listed but cannot be used for this message (it still fires a fallback event). */
  skip?: FallbackReason;
}

export interface NextStep {
  channel: Channel;
  /** Why this channel is used instead of an earlier one (first attempt on this channel only). */
  fallback?: { reason: FallbackReason; skippedChannel?: Channel };
}

/** Error codes recorded on a failed push attempt, and the fallback reason each one gives. */
export const PUSH_FAILURE_REASONS: Readonly<Record<string, FallbackReason>> = {
  SB_PUSH_UNREGISTERED: 'push_unregistered',
  SB_PUSH_ACK_TIMEOUT: 'ack_timeout',
  SB_PUSH_FAILED: 'push_error',
};

/** Error codes recorded on a failed RCS attempt, and the fallback reason each one gives. */
export const RCS_FAILURE_REASONS: Readonly<Record<string, FallbackReason>> = {
  SB_RCS_NOT_CAPABLE: 'rcs_not_capable',
};

/**
 * Error codes that end the WhatsApp rung (recorded on a WhatsApp attempt by the send job or the
 * callback that failed it), and the fallback reason each one gives. Other WhatsApp failures
 * (a provider's 5xx, a refused sender) fail over to the other WhatsApp provider first.
 */
export const WHATSAPP_FAILURE_REASONS: Readonly<Record<string, FallbackReason>> = {
  SB_WHATSAPP_NOT_REGISTERED: 'whatsapp_not_registered',
  SB_WHATSAPP_FAILED: 'whatsapp_failed',
};

/** Channels that get one attempt each: a failure moves down the ladder instead of to another provider. */
const SINGLE_SHOT: ReadonlySet<Channel> = new Set(['push', 'rcs']);

/** Codes that end a channel for this message (a permanent channel-level refusal). */
const CHANNEL_ENDING = new Set(['SB_CHANNEL_UNSUPPORTED']);

/**
 * @param restrict why a usable channel must not be used for this number (a landline cannot take
 *   SMS; a recent SIM swap under a `push-only` policy allows push alone) — it still fires a fallback.
 */
export function planLadder(
  msg: Pick<MessageRecord, 'channels' | 'push' | 'policy'>,
  usable: (c: Channel) => boolean,
  restrict: (c: Channel) => FallbackReason | undefined = () => undefined,
): LadderStep[] {
  const steps: LadderStep[] = [];
  // A key with `autoUpgradeRcs` tries RCS before SMS even when the request listed only SMS.
  const channels: Channel[] =
    msg.policy?.autoUpgradeRcs === true && msg.channels.includes('sms') && !msg.channels.includes('rcs')
      ? msg.channels.flatMap((c): Channel[] => (c === 'sms' ? ['rcs', 'sms'] : [c]))
      : msg.channels;
  for (const channel of channels) {
    const restricted = restrict(channel);
    if (restricted !== undefined) {
      steps.push({ channel, skip: restricted });
      continue;
    }
    if (channel === 'push') {
      if (msg.push?.enabled === false) steps.push({ channel, skip: 'push_disabled' });
      else if (msg.push?.token === undefined) steps.push({ channel, skip: 'push_no_token' });
      else if (!usable('push')) steps.push({ channel, skip: 'push_error' });
      else steps.push({ channel });
    } else if (usable(channel)) steps.push({ channel });
  }
  return steps;
}

function pushFailureReason(a: Attempt): FallbackReason {
  return PUSH_FAILURE_REASONS[a.error?.code ?? ''] ?? 'push_error';
}

/**
 * The channel the next (or current) attempt belongs on, or undefined when the ladder is exhausted.
 * Push gets one attempt; a failed or unacknowledged push moves on. Other channels keep going
 * (provider failover) until a channel-ending refusal; WhatsApp until one of
 * {@link WHATSAPP_FAILURE_REASONS} or once a later rung has an attempt.
 */
export function nextStep(msg: Pick<MessageRecord, 'attempts'>, ladder: readonly LadderStep[]): NextStep | undefined {
  let pending: NextStep['fallback'];
  for (const step of ladder) {
    if (step.skip) {
      pending ??= { reason: step.skip, skippedChannel: step.channel };
      continue;
    }
    const atts = msg.attempts.filter((a) => a.channel === step.channel);
    const last = atts[atts.length - 1];
    if (SINGLE_SHOT.has(step.channel)) {
      if (!last || last.status === 'queued' || (last.status === 'sent' && last.dlrTimeout === undefined) || last.status === 'delivered') {
        return atts.length === 0 && pending ? { channel: step.channel, fallback: pending } : { channel: step.channel };
      }
      pending = {
        reason:
          last.dlrTimeout !== undefined
            ? 'dlr_timeout'
            : step.channel === 'push'
              ? pushFailureReason(last)
              : (RCS_FAILURE_REASONS[last.error?.code ?? ''] ?? 'rcs_failed'),
      };
      continue;
    }
    if (step.channel === 'whatsapp') {
      // Ended by a not-on-WhatsApp answer or a failure, or already left for a later rung (a breaker
      // wall, a job that went on): WhatsApp is not tried again for this message.
      const ended = atts.find((a) => WHATSAPP_FAILURE_REASONS[a.error?.code ?? ''] !== undefined);
      const later = new Set(ladder.slice(ladder.indexOf(step) + 1).map((st) => st.channel));
      if (ended !== undefined || msg.attempts.some((a) => later.has(a.channel))) {
        pending = {
          reason: ended !== undefined ? (WHATSAPP_FAILURE_REASONS[ended.error?.code ?? ''] ?? 'whatsapp_failed') : 'whatsapp_failed',
        };
        continue;
      }
    }
    if (atts.some((a) => CHANNEL_ENDING.has(a.error?.code ?? ''))) {
      pending = { reason: 'landline' };
      continue;
    }
    // No delivery report in time and no other provider of the channel: the code goes to the next channel.
    if (atts.some((a) => a.dlrTimeout?.next === 'channel')) {
      pending = { reason: 'dlr_timeout' };
      continue;
    }
    return atts.length === 0 && pending ? { channel: step.channel, fallback: pending } : { channel: step.channel };
  }
  return undefined;
}

/** Whether a usable rung follows `channel` on the ladder (so a channel-level refusal is not final). */
export function hasRungAfter(ladder: readonly LadderStep[], channel: Channel): boolean {
  const i = ladder.findIndex((s) => s.channel === channel);
  return i !== -1 && ladder.slice(i + 1).some((s) => s.skip === undefined);
}

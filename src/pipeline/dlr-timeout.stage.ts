/**
 * DLR-timeout failover (CONTRACTS §4 "Never stuck"): an OTP attempt the carrier accepted but never
 * reported `delivered` within the message's delivery timeout — not verified, not expired — has the
 * same code sent once more through the next provider of its channel, or the next channel, with
 * fallback reason `dlr_timeout`. The decision is a mark on the attempt (one compare-and-set, so a
 * verify or a `delivered` that lands first wins) and a follow-up send job; the send job itself
 * starts the new attempt like any other.
 */
import type { Channel } from '../../providers/provider.ts';
import { jobIds } from '../domain/ids.ts';
import type { FallbackReason, MessageRecord } from '../domain/message.ts';
import { dlrTimeoutCandidate } from '../domain/watch-plan.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { planLadder } from './plan.stage.ts';
import { channelProviders } from '../routing/channel-providers.ts';

/**
 * Channels whose timeout moves to the next channel rather than another provider: push and RCS get
 * one attempt each (plan.stage.ts); an undelivered WhatsApp message usually means the handset is
 * offline or without data, which the other WhatsApp provider cannot change — SMS can.
 */
const SINGLE_SHOT: ReadonlySet<Channel> = new Set(['push', 'rcs', 'whatsapp']);

export type DlrTimeoutDeps = Pick<PipelineDeps, 'config' | 'adapters' | 'recorder' | 'queues' | 'log' | 'now'>;

/**
 * Where the code goes after attempt `n` timed out: another provider of the channel not tried yet,
 * else a later usable rung of the ladder; undefined when there is nowhere else (then nothing is
 * resent: the same carrier again would only duplicate what it is still trying to deliver).
 */
export function dlrFailoverTarget(
  deps: Pick<DlrTimeoutDeps, 'config' | 'adapters'>,
  msg: MessageRecord,
  n: number,
): 'provider' | 'channel' | undefined {
  const attempt = msg.attempts.find((a) => a.n === n);
  if (attempt === undefined) return undefined;
  const channel = attempt.channel;
  if (!SINGLE_SHOT.has(channel)) {
    const untried = channelProviders(channel, msg.country, deps.config, deps.adapters).filter(
      (p) => !msg.attempts.some((a) => a.channel === channel && a.provider === p),
    );
    if (untried.length > 0) return 'provider';
  }
  const usable = (c: Channel): boolean => c !== 'push' && channelProviders(c, msg.country, deps.config, deps.adapters).length > 0;
  const restrict = (c: Channel): FallbackReason | undefined => {
    if (msg.lookup?.lineType === 'landline' && (c === 'sms' || c === 'rcs')) return 'landline';
    if (c === 'rcs' && msg.rcsCapability !== 'capable') return 'rcs_not_capable';
    if (msg.lookup?.simSwapped === true && msg.policy?.simSwap === 'push-only' && c !== 'push') return 'sim_swap_push_only';
    return undefined;
  };
  const ladder = planLadder(msg, usable, restrict);
  const at = ladder.findIndex((s) => s.channel === channel);
  return at !== -1 && ladder.slice(at + 1).some((s) => s.skip === undefined) ? 'channel' : undefined;
}

/** Whether the latest attempt timed out and its follow-up attempt has not started yet. */
export function awaitsDlrTimeoutResend(msg: Pick<MessageRecord, 'attempts'>): boolean {
  return msg.attempts[msg.attempts.length - 1]?.dlrTimeout !== undefined;
}

/**
 * Marks attempt `n` timed out and queues the follow-up send, unless in the meantime it was
 * delivered, the code verified, the message expired, or there is nowhere else to send. Returns
 * whether a resend was queued.
 */
export async function failOverAfterDlrTimeout(deps: DlrTimeoutDeps, messageId: string, n: number): Promise<boolean> {
  const at = new Date(deps.now()).toISOString();
  const settings = { deliveryTimeoutMs: deps.config.otp.deliveryTimeoutMs, maxAttempts: deps.config.messages.maxAttempts };
  const res = await deps.recorder.update(messageId, (d) => {
    const candidate = dlrTimeoutCandidate(d, settings);
    if (candidate === undefined || candidate.attempt.n !== n) return false;
    if (d.expiresAt !== undefined && Date.parse(d.expiresAt) <= deps.now()) return false;
    const next = dlrFailoverTarget(deps, d, n);
    if (next === undefined) return false;
    candidate.attempt.dlrTimeout = { at, next };
    return next;
  });
  if (res === undefined) return false;
  await deps.queues.addSend(messageId, jobIds.attempt(messageId, n + 1));
  deps.log.info(
    { messageId, attempt: n, next: res.result },
    'no delivery report within the delivery timeout; sending the code once more elsewhere',
  );
  return true;
}

/**
 * Queues the follow-up send of a timed-out attempt again (a no-op while that job exists): a crash
 * between mark and add must not lose it.
 */
export async function ensureDlrTimeoutResend(deps: Pick<DlrTimeoutDeps, 'queues'>, msg: MessageRecord): Promise<void> {
  if (!awaitsDlrTimeoutResend(msg) || msg.verifiedAt !== undefined) return;
  await deps.queues.addSend(msg.id, jobIds.attempt(msg.id, msg.attempts.length + 1));
}

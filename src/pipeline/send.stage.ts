/**
 * Send stage (DESIGN §6.5): one carrier call behind the send ledger. The ledger is checked first
 * so a retried or stalled job that finds `sent` does not resend; `sending` left behind by a crash
 * means the outcome is unknown, and the resend is recorded as `ambiguous_resend`.
 */
import { classifyNetworkError, isProviderError, ProviderError } from '../../providers/index.ts';
import type { Channel, ProviderAdapter, SendRequest, SendResult } from '../../providers/provider.ts';
import { BreakerOpenError } from '../resilience/breaker-registry.ts';
import type { MessageStore } from '../store/message.store.ts';

export type SendOutcome =
  | { kind: 'accepted'; result: Pick<SendResult, 'providerMessageId' | 'acceptedAt' | 'segments' | 'cost'>; replayed: boolean }
  | { kind: 'error'; error: ProviderError }
  /** The breaker refused the call before it left: nothing was sent. */
  | { kind: 'breaker_open' };

/** Wraps the carrier call (the circuit breaker); the identity by default. */
export type CallWrapper = <T>(fn: () => Promise<T>) => Promise<T>;
const direct: CallWrapper = (fn) => fn();

export interface SendAttemptInput {
  messageId: string;
  attempt: number;
  channel: Channel;
  to: string;
  body: string;
  statusCallbackUrl: string;
  validitySeconds?: number;
  push?: SendRequest['push'];
  locale?: string;
  spokenCode?: string;
  /** WhatsApp: the code, the authentication template's variable. */
  otpCode?: string;
}

/** Returns whether the ledger says the previous run of this attempt may have reached the carrier. */
export async function ledgerState(store: MessageStore, messageId: string, attempt: number): Promise<'none' | 'sending' | { sent: string }> {
  const l = await store.ledger(messageId, attempt);
  if (l === undefined) return 'none';
  if (l.state === 'sending') return 'sending';
  return { sent: l.providerMessageId };
}

/**
 * How long a worker keeps trying to write down a carrier's acceptance while Redis is away (a blip,
 * a restart) before it gives up and lets the job retry as an ambiguous resend: about one send lock,
 * after which another worker would take the job over anyway.
 */
export const RECORD_SENT_FOR_MS = 10_000;

async function recordSent(store: MessageStore, messageId: string, attempt: number, providerMessageId: string): Promise<void> {
  const deadline = Date.now() + RECORD_SENT_FOR_MS;
  for (let pause = 100; ; pause = Math.min(pause * 2, 1_000)) {
    try {
      await store.ledgerSent(messageId, attempt, providerMessageId);
      return;
    } catch (err) {
      if (Date.now() + pause > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** The outcome of one adapter call, before anything is written: what the ledger and the message then record. */
export type CallOutcome =
  | { kind: 'accepted'; result: SendResult }
  | { kind: 'error'; error: ProviderError }
  /** The breaker refused the call before it left: nothing was sent. */
  | { kind: 'breaker_open' };

/**
 * One adapter call through `wrap` (the breaker), with every failure turned into a
 * `ProviderError`: an unclassified one counts as retryable and ambiguous (it may have reached the
 * carrier), so the retry is marked as a possible duplicate rather than silently sent twice.
 */
export async function callAdapter(adapter: ProviderAdapter, input: SendAttemptInput, wrap: CallWrapper = direct): Promise<CallOutcome> {
  try {
    const result = await wrap(() =>
      adapter.send({
        messageId: input.messageId,
        attempt: input.attempt,
        channel: input.channel,
        to: input.to,
        body: input.body,
        statusCallbackUrl: input.statusCallbackUrl,
        ...(input.validitySeconds !== undefined ? { validitySeconds: input.validitySeconds } : {}),
        ...(input.push !== undefined ? { push: input.push } : {}),
        ...(input.locale !== undefined ? { locale: input.locale } : {}),
        ...(input.spokenCode !== undefined ? { spokenCode: input.spokenCode } : {}),
        ...(input.otpCode !== undefined ? { otpCode: input.otpCode } : {}),
      }),
    );
    return { kind: 'accepted', result };
  } catch (err) {
    if (err instanceof BreakerOpenError) return { kind: 'breaker_open' };
    const error = isProviderError(err)
      ? err
      : (classifyNetworkError(adapter.id, err) ??
        new ProviderError(`${adapter.id}: unexpected adapter failure: ${(err as Error).message}`, {
          kind: 'retryable',
          provider: adapter.id,
          ambiguous: true,
          cause: err,
        }));
    return { kind: 'error', error };
  }
}

/**
 * The carrier call behind the ledger, each ledger write its own round trip (the push rung; the
 * carrier rungs fold the ledger into the send job's two commits instead, send-context.ts).
 * @param known the ledger entry the caller already read for this attempt (saves a round trip);
 *   read here when not given.
 */
export async function sendThroughLedger(
  store: MessageStore,
  adapter: ProviderAdapter,
  input: SendAttemptInput,
  wrap: CallWrapper = direct,
  known?: { entry: Awaited<ReturnType<MessageStore['ledger']>> },
): Promise<SendOutcome> {
  const prior = known ? known.entry : await store.ledger(input.messageId, input.attempt);
  if (prior?.state === 'sent') {
    return { kind: 'accepted', result: { providerMessageId: prior.providerMessageId, acceptedAt: new Date() }, replayed: true };
  }
  await store.ledgerSending(input.messageId, input.attempt);
  const outcome = await callAdapter(adapter, input, wrap);
  if (outcome.kind === 'breaker_open') {
    await store.ledgerClear(input.messageId, input.attempt);
    return outcome;
  }
  if (outcome.kind === 'error') {
    // Only a call that certainly did not reach the carrier may be forgotten; an ambiguous one
    // keeps `sending` so the retry is marked as a possible duplicate.
    if (!outcome.error.ambiguous) await store.ledgerClear(input.messageId, input.attempt);
    return outcome;
  }
  // The carrier has it. Failing to write that down is the store's failure, not the carrier's: it
  // must neither clear the ledger nor fail over (a second, unmarked send). If Redis stays away, the
  // error fails the job, whose retry finds `sending` and resends as `ambiguous_resend`.
  await recordSent(store, input.messageId, input.attempt, outcome.result.providerMessageId);
  return { kind: 'accepted', result: outcome.result, replayed: false };
}

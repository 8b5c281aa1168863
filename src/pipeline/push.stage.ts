/**
 * The push rung (DESIGN §6.3): one FCM attempt carrying `{sb_message_id, sb_ack_token, sb_ack_url}`.
 * The delayed `fallback-check` is queued BEFORE the FCM call (firebase-admin itself retries a 503
 * for about 7 s), so an unacknowledged push falls back at `ackTimeoutMs` whatever FCM does; an FCM
 * error falls back at once. Ack and fallback-check then race on one compare-and-set of the attempt.
 */
import type { ProviderError } from '../../providers/errors.ts';
import type { MessageRecord } from '../domain/message.ts';
import { markAccepted, moveAttempt, settle, startAttempt } from '../domain/status.ts';
import { maskPhonesInText } from '../logger.ts';
import { ACK_GRACE_MS, createAckToken } from '../security/push-ack-token.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import type { NextStep } from './plan.stage.ts';
import { channelProviders } from '../routing/channel-providers.ts';
import { sendThroughLedger } from './send.stage.ts';

/**
 * FCM's token-level refusals (unregistered, invalid, another project's token) tell upstream to
 * drop the token (`push_unregistered`); anything else is a push error.
 */
function pushErrorCode(err: ProviderError): 'SB_PUSH_UNREGISTERED' | 'SB_PUSH_FAILED' {
  return err.kind === 'permanent' && err.scope === 'channel' ? 'SB_PUSH_UNREGISTERED' : 'SB_PUSH_FAILED';
}

/** `waiting`: the push is out (or acked) and the message waits for its ack or the fallback-check; `failed`: go on down the ladder now. */
export async function runPushStep(deps: PipelineDeps, msg: MessageRecord, text: string, step: NextStep): Promise<'waiting' | 'failed'> {
  const { recorder, log } = deps;
  const iso = (): string => new Date(deps.now()).toISOString();
  const last = [...msg.attempts].reverse().find((a) => a.channel === 'push');
  if (last && (last.status === 'sent' || last.status === 'delivered' || (last.status === 'queued' && last.providerMessageId !== undefined)))
    return 'waiting';
  const provider = channelProviders('push', msg.country, deps.config, deps.adapters)[0];
  const adapter = provider ? deps.adapters.get(provider) : undefined;
  const token = msg.push?.token;
  if (!provider || !adapter || token === undefined) return 'failed';

  const n = last?.status === 'queued' ? last.n : msg.attempts.length + 1;
  if (!last || last.status !== 'queued') {
    await recorder.update(msg.id, (d) => {
      startAttempt(d, n, 'push', provider, iso(), step.fallback?.reason, step.fallback?.skippedChannel);
    });
  }
  const ackTimeoutMs = msg.push?.ackTimeoutMs ?? 5_000;
  await deps.queues.addFallbackCheck(msg.id, n, ackTimeoutMs);
  const ackToken = createAckToken(deps.keyRing.subkey('push-ack'), msg.id, deps.now() + ackTimeoutMs + ACK_GRACE_MS);
  const started = performance.now();
  const gate = await deps.breakers.acquire(provider, 'push');
  const outcome = gate.allowed
    ? await sendThroughLedger(
        deps.store,
        adapter,
        {
          messageId: msg.id,
          attempt: n,
          channel: 'push',
          to: msg.to,
          body: text,
          statusCallbackUrl: `${deps.publicUrl}/v1/push/ack`,
          push: { token, data: { sb_message_id: msg.id, sb_ack_token: ackToken, sb_ack_url: `${deps.publicUrl}/v1/push/ack` } },
        },
        (fn) => deps.breakers.execute(provider, 'push', gate.probe, fn),
      )
    : ({ kind: 'breaker_open' } as const);
  deps.metrics.sendDuration.observe({ provider, channel: 'push' }, (performance.now() - started) / 1000);

  if (outcome.kind === 'accepted') {
    const r = outcome.result;
    await recorder.update(msg.id, (d) => {
      markAccepted(d, n, { providerMessageId: r.providerMessageId, acceptedAt: r.acceptedAt.toISOString() }, iso());
      // FCM acceptance is `sent`; `delivered` only comes with the device's ack (CONTRACTS §2).
      moveAttempt(d, n, 'sent', iso());
      settle(d, iso());
    });
    log.info({ attempt: n, provider }, 'push accepted; waiting for the ack');
    return 'waiting';
  }
  const error =
    outcome.kind === 'breaker_open'
      ? { code: 'SB_PUSH_FAILED', message: `${provider} circuit open` }
      : {
          code: pushErrorCode(outcome.error),
          message: maskPhonesInText(outcome.error.message),
          ...(outcome.error.providerCode ? { providerCode: outcome.error.providerCode } : {}),
        };
  if (outcome.kind === 'error') deps.metrics.providerErrors.inc({ provider, kind: outcome.error.kind });
  await recorder.update(msg.id, (d) => {
    moveAttempt(d, n, 'failed', iso(), error);
    d.timeline.push({ at: iso(), type: 'carrier_error', channel: 'push', provider, detail: error.code });
    settle(d, iso());
  });
  log.warn({ attempt: n, provider, code: error.code }, 'push failed; falling back');
  return 'failed';
}

/**
 * The delayed check of push attempt `n`: if it is still unacknowledged, it becomes `undelivered`
 * (`ack_timeout`) and the next rung is queued. Runs as one compare-and-set against the ack.
 */
export async function processFallbackCheck(
  deps: Pick<PipelineDeps, 'recorder' | 'queues' | 'now'>,
  messageId: string,
  n: number,
  ackTimeoutMs: number,
): Promise<boolean> {
  const at = new Date(deps.now()).toISOString();
  const res = await deps.recorder.update(messageId, (d) => {
    const a = d.attempts.find((x) => x.n === n);
    if (!a || a.channel !== 'push' || (a.status !== 'queued' && a.status !== 'sent') || d.final) return false;
    if (d.status === 'delivered' || d.status === 'expired' || d.status === 'failed' || d.status === 'undelivered') return false;
    moveAttempt(d, n, 'undelivered', at, { code: 'SB_PUSH_ACK_TIMEOUT', message: `no acknowledgement within ${ackTimeoutMs} ms` });
    settle(d, at);
    return true;
  });
  if (!res) return false;
  await deps.queues.addSend(messageId, `${messageId}.attempt.${n + 1}`);
  return true;
}

/**
 * Reconcile stage (CONTRACTS §4 "Never stuck"): asks the carrier's status API about an attempt
 * whose final callback never came — the gateway was down when it was posted, or the carrier
 * dropped it — and applies the answer exactly as the callback would have been applied (the `dlr`
 * path: monotonic, absorbed when nothing is new, a transient failure retried elsewhere), with a
 * `reconciled` timeline entry. Runs only from the message's watch, never on the send path.
 */
import { isProviderError } from '../../providers/index.ts';
import type { DeliveryEvent } from '../../providers/provider.ts';
import type { MessageRecord } from '../domain/message.ts';
import type { METRIC_RECONCILIATION_RESULTS } from '../metrics/metrics.ts';
import { processDlrJob } from './dlr-job.processor.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

export type ReconcileResult = (typeof METRIC_RECONCILIATION_RESULTS)[number];

export type ReconcileDeps = Pick<
  PipelineDeps,
  'redis' | 'store' | 'recorder' | 'log' | 'now' | 'health' | 'queues' | 'config' | 'adapters' | 'metrics'
>;

/** Reads attempt `n` of `msg` at its carrier and applies what it says; returns what was found (also counted). */
export async function reconcileAttempt(deps: ReconcileDeps, msg: MessageRecord, n: number): Promise<ReconcileResult> {
  const attempt = msg.attempts.find((a) => a.n === n);
  if (attempt?.providerMessageId === undefined) return 'pending';
  const provider = attempt.provider;
  const count = (result: ReconcileResult): ReconcileResult => {
    deps.metrics.reconciliations.inc({ provider, result });
    return result;
  };
  const adapter = deps.adapters.get(provider);
  if (adapter?.readStatus === undefined) return count('unsupported');
  let read;
  try {
    read = await adapter.readStatus({
      providerMessageId: attempt.providerMessageId,
      channel: attempt.channel,
      to: msg.to,
      messageId: msg.id,
      signal: AbortSignal.timeout(deps.config.send.carrierTimeoutMs),
    });
  } catch (err) {
    deps.log.warn(
      { attempt: n, provider, kind: isProviderError(err) ? err.kind : 'unknown', err: err instanceof Error ? err.message : String(err) },
      'carrier status read failed; read again later',
    );
    return count('error');
  }
  if (read === 'not_found' || read === 'unsupported') return count(read);
  if (read.status === 'unknown' || read.status === 'queued' || read.status === 'sent') {
    // Not final at the carrier: still applied (queued → sent moves the attempt), nothing settles.
    if (read.status !== 'unknown') await applyRead(deps, read);
    return count('pending');
  }
  const applied = await applyRead(deps, read);
  deps.log.info({ attempt: n, provider, status: read.status, rawStatus: read.rawStatus, applied }, 'carrier status read');
  return count(applied ? read.status : 'pending');
}

/** Applies a read through the callback path; whether it changed the attempt. */
async function applyRead(deps: ReconcileDeps, ev: DeliveryEvent): Promise<boolean> {
  const out = await processDlrJob(
    deps,
    { receivedAt: new Date(deps.now()).toISOString(), events: [{ ...ev, occurredAt: ev.occurredAt.toISOString() }] },
    'reconciled',
  );
  return out.applied > 0;
}

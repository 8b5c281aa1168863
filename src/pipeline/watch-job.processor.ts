/**
 * The watch of one message (CONTRACTS §4 "Never stuck"): the one deadline each message gets at
 * admission, kept in the watch schedule (`src/store/watch-schedule.store.ts`) and fired by the
 * worker's watch poller. Each time it fires it loads the message once and does whatever is due —
 * read the carrier's status of attempts whose final callback never came (reconcile.stage.ts), send
 * an OTP once more elsewhere after its delivery timeout (dlr-timeout.stage.ts), expire it — then
 * names the next deadline, until the message is terminal. Its back-off state travels with the
 * schedule entry, in Redis, so a worker crash or a restart loses nothing; the commit that makes a
 * message final (a callback, usually) ends its watch in the same step.
 */
import type { MessageRecord } from '../domain/message.ts';
import { expire } from '../domain/status.ts';
import { isTerminalMessageStatus } from '../domain/status.ts';
import { planWatch, stuckSince, type ReadSchedule, type WatchSettings } from '../domain/watch-plan.ts';
import type { WatchJobData } from '../queues/queue-names.ts';
import { StuckIndex } from '../store/stuck-index.store.ts';
import { ensureDlrTimeoutResend, failOverAfterDlrTimeout } from './dlr-timeout.stage.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { reconcileAttempt } from './reconcile.stage.ts';

/** What the job does next: fire again at `nextAt` with `data`, or end. */
export type WatchOutcome = { kind: 'done' } | { kind: 'again'; nextAt: number; data: WatchJobData };

/** The settings of the watch, from the config. */
export function watchSettings(deps: Pick<PipelineDeps, 'config' | 'now'>): WatchSettings {
  return {
    now: deps.now(),
    reconcileAfterMs: deps.config.dlr.reconcileAfterMs,
    deliveryTimeoutMs: deps.config.otp.deliveryTimeoutMs,
    maxAttempts: deps.config.messages.maxAttempts,
  };
}

export async function processWatchJob(deps: PipelineDeps, data: WatchJobData): Promise<WatchOutcome> {
  const stuck = new StuckIndex(deps.redis, deps.store.keys);
  const outcome = await watchOnce(deps, data);
  // The stuck index holds only messages a watch put there: each leaves it when its watch ends or it settles.
  if (outcome.kind === 'done') {
    if (data.stuck === true) await stuck.remove(data.messageId);
    return outcome;
  }
  if (outcome.stuckSince !== undefined && data.stuck !== true) await stuck.add(data.messageId, outcome.stuckSince);
  if (outcome.stuckSince === undefined && data.stuck === true) await stuck.remove(data.messageId);
  return { kind: 'again', nextAt: outcome.nextAt, data: { ...outcome.data, ...(outcome.stuckSince !== undefined ? { stuck: true } : {}) } };
}

type WatchStep = { kind: 'done' } | { kind: 'again'; nextAt: number; data: WatchJobData; stuckSince?: number };

async function watchOnce(deps: PipelineDeps, data: WatchJobData): Promise<WatchStep> {
  const id = data.messageId;
  const stored = await deps.store.get(id);
  if (!stored) return { kind: 'done' };
  let msg: MessageRecord = stored.doc;
  const plan = planWatch(msg, data.reads ?? {}, watchSettings(deps));
  if (plan.done) return { kind: 'done' };

  let changed = false;
  for (const n of plan.reads) {
    const result = await reconcileAttempt(deps, msg, n);
    if (result !== 'error' && result !== 'not_found' && result !== 'unsupported') changed = true;
  }
  if (changed) {
    const fresh = await deps.store.get(id);
    if (!fresh) return { kind: 'done' };
    msg = fresh.doc;
  }

  if (plan.expire) {
    await deps.recorder.update(id, (d) => expire(d, new Date(deps.now()).toISOString()));
    return { kind: 'done' };
  }
  if (isTerminalMessageStatus(msg.status)) return { kind: 'done' };
  if (plan.dlrTimeout !== undefined && (await failOverAfterDlrTimeout(deps, id, plan.dlrTimeout))) {
    const fresh = await deps.store.get(id);
    if (!fresh) return { kind: 'done' };
    msg = fresh.doc;
  } else {
    await ensureDlrTimeoutResend(deps, msg);
  }

  // The next deadline, from the message as it now stands and the read slots just used.
  const now = deps.now();
  const after = planWatch(msg, plan.schedule, { ...watchSettings(deps), now });
  if (after.done || after.nextAt === undefined) return { kind: 'done' };
  const reads: ReadSchedule = { ...plan.schedule };
  const since = stuckSince(msg, now);
  return { kind: 'again', nextAt: after.nextAt, data: { messageId: id, reads }, ...(since !== undefined ? { stuckSince: since } : {}) };
}

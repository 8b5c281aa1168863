/**
 * Applies verified carrier callbacks (the `dlr` queue) to their attempts. A callback can beat
 * the send's own record of the carrier id (the carrier answers, then calls back before our write
 * lands): such a job throws, BullMQ retries it with backoff for about ten minutes, then parks it.
 */
import type { DlrJobData } from '../queues/queue-names.ts';
import type { AttemptStatus } from '../domain/message.ts';
import { applyCallback, finalize } from '../domain/status.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

/** The callback's message or attempt is not recorded yet; retry later. */
export class CallbackNotYetMatchedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackNotYetMatchedError';
  }
}

export interface DlrOutcome {
  applied: number;
  absorbed: number;
  ignored: number;
}

export async function processDlrJob(deps: Pick<PipelineDeps, 'store' | 'recorder' | 'log' | 'now'>, data: DlrJobData): Promise<DlrOutcome> {
  const out: DlrOutcome = { applied: 0, absorbed: 0, ignored: 0 };
  for (const ev of data.events) {
    if (ev.status === 'unknown') {
      out.ignored++;
      continue;
    }
    const status: AttemptStatus = ev.status;
    if (ev.messageId === undefined) {
      deps.log.warn({ provider: ev.provider, providerMessageId: ev.providerMessageId }, 'callback without our message id; ignored');
      out.ignored++;
      continue;
    }
    const stored = await deps.store.get(ev.messageId);
    if (!stored) throw new CallbackNotYetMatchedError(`message ${ev.messageId} not found (yet)`);
    if (!stored.doc.attempts.some((a) => a.providerMessageId === ev.providerMessageId)) {
      throw new CallbackNotYetMatchedError(`message ${ev.messageId} has no attempt with ${ev.provider} id ${ev.providerMessageId} (yet)`);
    }
    const res = await deps.recorder.update(ev.messageId, (d) => {
      const r = applyCallback(d, {
        providerMessageId: ev.providerMessageId,
        status,
        rawStatus: ev.rawStatus,
        at: ev.occurredAt,
        ...(ev.errorCode !== undefined ? { errorCode: ev.errorCode } : {}),
      });
      if (!r.applied) return false;
      // This slice has no next step after a failed delivery: the message ends here.
      // (The retry on another provider for transient codes comes with routing.)
      if (status === 'undelivered' || status === 'failed') finalize(d, new Date(deps.now()).toISOString());
      return true;
    });
    if (res) out.applied++;
    else out.absorbed++;
  }
  return out;
}

/**
 * One `send-batch` job (queues/send-batcher.ts): the send pipeline of each member message, run
 * side by side inside one BullMQ job so the job cycle is paid once for the batch.
 *
 * A member never makes the batch retry: one that must wait (every breaker open) or try again
 * later (every candidate failed, or the job itself failed) continues in a `send` job of its own
 * (job id = message id) with the tries it has left, and the batch goes on. Only a continuation
 * that cannot be queued fails the batch; its re-run (and a stalled batch's) leaves out the members
 * that already have their own job, and the rest resume where their last commit left them (a
 * ledger at `sent` is not sent again), as every re-run send job does.
 */
import type { PipelineDeps } from './pipeline-deps.ts';
import { processSendJob, SendRetryLaterError } from './send-job.processor.ts';

/** A member asked to be re-scheduled `ms` from now (its `SendJobContext.delay`). */
class MemberDelayed extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`re-scheduled in ${ms} ms`);
    this.name = 'MemberDelayed';
    this.ms = ms;
  }
}

/** What became of one member in this run. */
export type BatchMemberOutcome = 'done' | 'delayed' | 'retry' | 'skipped';

export interface SendBatchRun {
  /** This is not the batch's first run (a retry, or a stalled batch picked up again). */
  rerun: boolean;
  /** Bounds how many members (of every batch in this worker) run at once. */
  gate: { run<T>(task: () => Promise<T>): Promise<T> };
}

/**
 * Runs the members; resolves with each member's outcome, or rejects (so BullMQ retries the batch)
 * when a member's continuation could not be queued — after every member has finished.
 */
export async function processSendBatch(
  deps: PipelineDeps,
  messageIds: readonly string[],
  run: SendBatchRun,
): Promise<Map<string, BatchMemberOutcome>> {
  const outcomes = new Map<string, BatchMemberOutcome>();
  let members = messageIds;
  if (run.rerun) {
    // A member handed to a job of its own is that job's now: running it here too could send it twice.
    const own = await Promise.all(messageIds.map(async (id) => deps.queues.send.getJob(id)));
    members = messageIds.filter((id, i) => {
      if (own[i] === undefined) return true;
      outcomes.set(id, 'skipped');
      return false;
    });
  }
  const maxRuns = deps.config.send.jobAttempts;
  const settled = await Promise.allSettled(
    members.map(async (messageId) =>
      run.gate.run(async () => {
        const log = deps.log.child({ queue: 'send', messageId });
        try {
          await processSendJob({ ...deps, log }, messageId, {
            attemptsMade: 0,
            maxRuns,
            async delay(ms: number): Promise<never> {
              throw new MemberDelayed(ms);
            },
          });
          outcomes.set(messageId, 'done');
        } catch (err) {
          if (err instanceof MemberDelayed) {
            // Waiting for a breaker costs no try, as a delayed send job's does not.
            await deps.queues.addSendContinuation(messageId, err.ms, 0);
            outcomes.set(messageId, 'delayed');
            return;
          }
          if (!(err instanceof SendRetryLaterError))
            log.warn({ err: err instanceof Error ? err.message : String(err) }, 'send failed inside a batch; retrying in its own job');
          await deps.queues.addSendContinuation(messageId, deps.config.send.backoffMs, 1);
          outcomes.set(messageId, 'retry');
        }
      }),
    ),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  return outcomes;
}

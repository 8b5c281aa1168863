/**
 * Feeds each push token's ack posterior (store/push-ack-posterior.store.ts) from saved changes:
 * a push attempt that becomes `delivered` (the app's ack won the race) is an ack; one that
 * becomes `undelivered` with `SB_PUSH_ACK_TIMEOUT` (the fallback-check won) is a miss. A late
 * ack is not counted: the model is of acks within the timeout, the only ones that save an SMS.
 * Runs after the compare-and-set of the ack route and the fallback-check, so each outcome counts
 * once; on other changes it only looks at the attempts (no Redis call).
 */
import type { MessageRecord } from '../domain/message.ts';
import type { Logger } from '../logger.ts';
import type { PushAckPosteriorStore } from '../store/push-ack-posterior.store.ts';
import type { ChangeObserver } from '../store/message-recorder.ts';

/** Whether the change acked (true) or timed out (false) a push attempt; undefined for anything else. */
export function pushOutcomeOf(before: MessageRecord, after: MessageRecord): boolean | undefined {
  for (const a of after.attempts) {
    if (a.channel !== 'push') continue;
    const prev = before.attempts.find((p) => p.n === a.n);
    if (prev?.status === a.status) continue;
    if (a.status === 'delivered') return true;
    if (a.status === 'undelivered' && a.error?.code === 'SB_PUSH_ACK_TIMEOUT') return false;
  }
  return undefined;
}

export class PushAckLearner implements ChangeObserver {
  private readonly store: Pick<PushAckPosteriorStore, 'recordOutcome'>;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(store: Pick<PushAckPosteriorStore, 'recordOutcome'>, log: Logger, now: () => number) {
    this.store = store;
    this.log = log;
    this.now = now;
  }

  async record(before: MessageRecord, after: MessageRecord): Promise<void> {
    const token = after.push?.token;
    if (token === undefined) return;
    const acked = pushOutcomeOf(before, after);
    if (acked === undefined) return;
    await this.store.recordOutcome(token, acked, this.now()).catch((err: unknown) => {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not record a push outcome in the token posterior');
    });
  }
}

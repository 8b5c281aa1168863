/**
 * Coalesces the send jobs of messages admitted at the same moment into one `send-batch` job.
 *
 * Why: BullMQ's own cycle of one job (add, move to active, lock, move to completed) is about 33
 * Redis commands and a third of the worker's CPU a message; a batch pays it once for all its
 * members. A request reserves a slot *before* its intake call, so the record it writes already names
 * the batch job (`MessageRecord.sendJob`) and the intake sweeper can tell a message whose batch is
 * still queued from one whose job was lost. The batch opens with its first reservation, takes no
 * more after that tick (or at `maxSize`), and is queued once every reserved request has either
 * been admitted or refused. A batch of one is queued as the message's own `send` job (job id =
 * message id), so a lone request looks exactly as before.
 */
import { newBatchId } from '../domain/ids.ts';

/** One request's place in the batch being formed; exactly one of `admit` or `release` is called. */
export interface SendSlot {
  /** The batch job's id, recorded in the message before it is written. */
  readonly jobId: string;
  /** The message was written: it joins the batch. */
  admit(messageId: string): void;
  /** The request was refused (or failed) before a message was written. */
  release(): void;
}

/** Queues what a batch holds: one member as its own job, more as one batch job. */
export type SendBatchFlush = (jobId: string, messageIds: readonly string[]) => Promise<void>;

interface OpenBatch {
  jobId: string;
  ids: string[];
  reserved: number;
  settled: number;
  sealed: boolean;
  sealing: boolean;
  done: () => void;
}

export class SendBatcher {
  private open: OpenBatch | undefined;
  private readonly flush: SendBatchFlush;
  private readonly maxSize: number;
  private readonly onError: (err: unknown, messageIds: readonly string[]) => void;
  /** Batches not yet queued (forming, or their add in flight); {@link drain} waits for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(flush: SendBatchFlush, maxSize: number, onError: (err: unknown, messageIds: readonly string[]) => void) {
    this.flush = flush;
    this.maxSize = Math.max(1, Math.floor(maxSize));
    this.onError = onError;
  }

  reserve(): SendSlot {
    const batch = this.open !== undefined && this.open.reserved < this.maxSize ? this.open : this.start();
    batch.reserved++;
    if (batch.reserved >= this.maxSize) this.seal(batch);
    let used = false;
    const settle = (id: string | undefined): void => {
      if (used) return;
      used = true;
      if (id !== undefined) batch.ids.push(id);
      batch.settled++;
      if (!batch.sealing) {
        // The first intake answer closes the batch: requests whose intake calls went out while it
        // was in flight (one Redis round trip) share it; later ones start the next.
        batch.sealing = true;
        setImmediate(() => this.seal(batch));
      }
      this.maybeFlush(batch);
    };
    return { jobId: batch.jobId, admit: (id) => settle(id), release: () => settle(undefined) };
  }

  /** Waits until every batch formed so far is queued (or its failure reported). */
  async drain(): Promise<void> {
    if (this.open) this.seal(this.open);
    await Promise.allSettled([...this.pending]);
  }

  private start(): OpenBatch {
    let done: () => void = () => undefined;
    const queued = new Promise<void>((resolve) => (done = resolve));
    const batch: OpenBatch = { jobId: newBatchId(), ids: [], reserved: 0, settled: 0, sealed: false, sealing: false, done };
    this.pending.add(queued);
    void queued.then(() => this.pending.delete(queued));
    this.open = batch;
    return batch;
  }

  private seal(batch: OpenBatch): void {
    if (batch.sealed) return;
    batch.sealed = true;
    if (this.open === batch) this.open = undefined;
    this.maybeFlush(batch);
  }

  private maybeFlush(batch: OpenBatch): void {
    if (!batch.sealed || batch.settled < batch.reserved) return;
    if (batch.ids.length === 0) return batch.done();
    const ids = batch.ids;
    this.flush(batch.jobId, ids)
      .catch((err: unknown) => this.onError(err, ids))
      .finally(batch.done);
  }
}

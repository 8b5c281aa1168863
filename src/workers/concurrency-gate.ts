/**
 * At most `limit` tasks at once; the rest wait in arrival order. The send worker's concurrency
 * counts BullMQ jobs, and a `send-batch` job holds up to `intake.sendBatchMax` messages: without a
 * gate, 50 batch jobs would run 1,600 pipelines at once (and as many carrier calls and their
 * buffers). Through one gate the worker keeps about as many messages in flight as it did with one
 * job a message.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Tasks running now (for tests and ops logs). */
  get running(): number {
    return this.active;
  }
}

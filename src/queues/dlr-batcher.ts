/**
 * Carrier callbacks queued in batches. Under load carriers post many callbacks a second (two or
 * three a message), and a BullMQ job each made them the largest part of a message's queue work.
 * Callbacks that arrive within `windowMs` of each other go into one `dlr` job; each request is
 * answered only once that job is queued (a callback is never acknowledged before it is durable),
 * and a failure to queue fails every request of the batch (the carriers retry). A callback that
 * arrives alone keeps its own de-duplicating job id, as before.
 */
import type { DlrJobData } from './queue-names.ts';

export interface DlrBatcherOptions {
  /** How long the first callback of a batch waits for others (ms). */
  windowMs: number;
  /** Queued at once when this many events are waiting. */
  maxEvents: number;
}

interface Pending {
  events: DlrJobData['events'];
  dedupeId: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class DlrBatcher {
  private pending: Pending[] = [];
  private events = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly add: (data: DlrJobData, dedupeId: string) => Promise<void>;
  private readonly opts: DlrBatcherOptions;
  private readonly now: () => number;

  constructor(add: (data: DlrJobData, dedupeId: string) => Promise<void>, opts: DlrBatcherOptions, now: () => number = Date.now) {
    this.add = add;
    this.opts = opts;
    this.now = now;
  }

  /** Resolves once the events are in a queued `dlr` job; rejects when that job could not be queued. */
  enqueue(events: DlrJobData['events'], dedupeId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ events, dedupeId, resolve, reject });
      this.events += events.length;
      if (this.events >= this.opts.maxEvents || this.opts.windowMs <= 0) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  /** Queues what is waiting now (also on shutdown, so nothing waits for the timer). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.events = 0;
    const first = batch[0];
    if (first === undefined) return;
    const receivedAt = new Date(this.now()).toISOString();
    const data: DlrJobData = { receivedAt, events: batch.flatMap((p) => p.events) };
    const id = batch.length === 1 ? first.dedupeId : `batch.${first.dedupeId}.${batch.length}`;
    this.add(data, id).then(
      () => batch.forEach((p) => p.resolve()),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }
}

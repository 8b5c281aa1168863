/**
 * The producer side of the queues, shared by the API and workers. One connection for all of
 * them; the API's fails fast (`enableOfflineQueue: false`) so intake answers 503 instead of hanging.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../store/redis-client.ts';
import { jobIds } from '../domain/ids.ts';
import { SendBatcher, type SendSlot } from './send-batcher.ts';
import type { OutboxItem } from '../domain/events.ts';
import {
  QUEUE_NAMES,
  type DlrJobData,
  type EventJobData,
  type EventJobName,
  type SendQueueJobData,
  type SendQueueJobName,
} from './queue-names.ts';

export interface QueueSetOptions {
  prefix: string;
  sendJobAttempts: number;
  sendBackoffMs: number;
  /** How long a callback for a not-yet-recorded message keeps being retried. */
  dlrUnknownRetryForMs: number;
  /** Tries of one webhook event: the retry schedule's length + 1. */
  webhookAttempts: number;
  /** Most messages one `send-batch` job carries (1: one job per message). */
  sendBatchMax?: number;
  /** Told of a send job (or batch) the API could not queue; the intake sweeper queues it later. */
  onSendAddError?: (err: unknown, messageIds: readonly string[]) => void;
}

const DLR_ATTEMPTS = 10;

export class QueueSet {
  readonly send: Queue<SendQueueJobData, void, SendQueueJobName>;
  readonly dlr: Queue<DlrJobData, void, 'dlr'>;
  readonly events: Queue<EventJobData, string, EventJobName>;
  private readonly opts: QueueSetOptions;
  /** Send jobs of admitted messages, coalesced per tick; queued after the answers went out. */
  private readonly batcher: SendBatcher;

  constructor(connection: RedisClient, opts: QueueSetOptions) {
    this.opts = opts;
    this.batcher = new SendBatcher(
      (jobId, ids) => this.addSendBatch(jobId, ids),
      opts.sendBatchMax ?? 32,
      (err, ids) => opts.onSendAddError?.(err, ids),
    );
    this.send = new Queue(QUEUE_NAMES.send, { connection, prefix: opts.prefix, skipWaitingForReady: true });
    this.dlr = new Queue(QUEUE_NAMES.dlr, { connection, prefix: opts.prefix, skipWaitingForReady: true });
    this.events = new Queue(QUEUE_NAMES.events, { connection, prefix: opts.prefix, skipWaitingForReady: true });
  }

  /** Queues webhook events; job id = event id, so a re-relayed event is not delivered twice. */
  async addEvents(items: readonly OutboxItem[], jobIdSuffix = ''): Promise<void> {
    if (items.length === 0) return;
    await this.events.addBulk(
      items.map((data) => ({
        name: 'deliver' as const,
        data,
        opts: {
          jobId: `${data.event.id}${jobIdSuffix}`,
          attempts: this.opts.webhookAttempts,
          backoff: { type: 'webhook' },
          removeOnComplete: { age: 3_600, count: 10_000 },
          removeOnFail: { age: 86_400 },
        },
      })),
    );
  }

  /**
   * Queues a relay batch of events as one job (the worker makes each event's first try), or a lone
   * event as its own job. The batch's job id names its first event and its size, so the same batch
   * relayed twice (a crash between queueing and trimming the outbox) is queued once.
   */
  async addEventBatch(items: readonly OutboxItem[]): Promise<void> {
    const first = items[0];
    if (first === undefined) return;
    if (items.length === 1) return this.addEvents(items);
    await this.events.add(
      'deliver-batch',
      { items: [...items] },
      {
        jobId: `${first.event.id}.batch.${items.length}`,
        attempts: 3,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: true,
        removeOnFail: { age: 86_400 },
      },
    );
  }

  /** Queues the remaining tries of an event whose first try (in a batch) failed; the next in `delayMs`. */
  async addEventRetry(item: OutboxItem, priorTries: number, delayMs: number): Promise<void> {
    const attempts = this.opts.webhookAttempts - priorTries;
    if (attempts < 1) return;
    await this.events.add(
      'deliver',
      { ...item, priorTries },
      {
        jobId: `${item.event.id}.retry`,
        delay: delayMs,
        attempts,
        backoff: { type: 'webhook' },
        removeOnComplete: { age: 3_600, count: 10_000 },
        removeOnFail: { age: 86_400 },
      },
    );
  }

  /** Job options of a send job: bounded retries with backoff, completed jobs trimmed, failed kept for ops. */
  sendJobOptions(messageId: string, jobId: string = jobIds.send(messageId)): JobsOptions {
    return {
      jobId,
      attempts: this.opts.sendJobAttempts,
      backoff: { type: 'exponential', delay: this.opts.sendBackoffMs },
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    };
  }

  /** Queues the pipeline for a message; follow-up attempts pass their own job id (`<id>.attempt.<n>`). */
  async addSend(messageId: string, jobId?: string): Promise<void> {
    await this.send.add('send', { messageId }, this.sendJobOptions(messageId, jobId));
  }

  /**
   * A place in the send batch being formed, taken before a new message's intake call (its id goes
   * into the record). Once the record is written, `admit` it: its job is queued without holding up
   * the API's answer — a lost add loses nothing, the intake sweeper queues every message left
   * `accepted` — and with the other messages admitted in the same tick as one job. A failed add is
   * reported to `onSendAddError`; {@link close} waits for the adds still in flight.
   */
  reserveSend(): SendSlot {
    return this.batcher.reserve();
  }

  /** Queues one member as its own `send` job, more as one `send-batch` job. */
  async addSendBatch(jobId: string, messageIds: readonly string[]): Promise<void> {
    const [only] = messageIds;
    if (only === undefined) return;
    if (messageIds.length === 1) return this.addSend(only);
    await this.send.add('send-batch', { messageIds: [...messageIds] }, { ...this.sendJobOptions(only, jobId), removeOnComplete: true });
  }

  /**
   * Continues a batch member in a send job of its own (job id = message id): it must wait (`delayMs`,
   * every breaker open) or retry (the batch run counted as its first try, so `priorRuns` = 1).
   */
  async addSendContinuation(messageId: string, delayMs: number, priorRuns: number): Promise<void> {
    const attempts = Math.max(1, this.opts.sendJobAttempts - priorRuns);
    await this.send.add('send', { messageId }, { ...this.sendJobOptions(messageId), delay: Math.max(0, delayMs), attempts });
  }

  /** Schedules the ack-timeout check of push attempt `n`; added before the FCM call so a crash cannot lose it. */
  async addFallbackCheck(messageId: string, attempt: number, ackTimeoutMs: number): Promise<void> {
    await this.send.add(
      'fallback-check',
      { messageId, attempt, ackTimeoutMs },
      {
        jobId: jobIds.fallback(messageId, attempt),
        delay: ackTimeoutMs,
        attempts: 5,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: true,
        removeOnFail: { age: 86_400 },
      },
    );
  }

  /**
   * Queues verified callbacks. The job id de-duplicates a carrier's retries while the job exists;
   * the monotonic attempt status absorbs the rest.
   */
  async addDlr(data: DlrJobData, dedupeId: string): Promise<void> {
    // Exponential backoff summing to about `dlrUnknownRetryForMs` over DLR_ATTEMPTS tries, then parked.
    const delay = Math.max(50, Math.round(this.opts.dlrUnknownRetryForMs / (2 ** DLR_ATTEMPTS - 1)));
    await this.dlr.add('dlr', data, {
      jobId: dedupeId,
      attempts: DLR_ATTEMPTS,
      backoff: { type: 'exponential', delay },
      removeOnComplete: { age: 600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  async close(): Promise<void> {
    await this.batcher.drain();
    await Promise.all([this.send.close(), this.dlr.close(), this.events.close()]);
  }
}

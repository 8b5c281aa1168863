/**
 * The `events` queue consumer: delivers each webhook with its own retry schedule
 * (`webhooks.retrySchedule`, jittered; a receiver's `Retry-After` wins, capped), and parks an
 * event that exhausted its tries as a dead letter for replay.
 */
import { Worker, type Job, type MinimalJob } from 'bullmq';
import type { RedisClient } from '../store/redis-client.ts';
import type { OutboxItem } from '../domain/events.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { forEachKeyedLane } from '../queues/keyed-lanes.ts';
import { QUEUE_NAMES, type EventJobData, type EventJobName } from '../queues/queue-names.ts';
import type { RedisKeys } from '../store/redis-keys.ts';
import type { DeadLetterStore } from './dead-letter.store.ts';
import type { EndpointCheck, EndpointRegistryStore } from './endpoint-registry.store.ts';
import type { SsrfGuard } from '../security/ssrf-guard.ts';
import { createWebhookTransport, deliverWebhook } from './webhook-delivery.ts';
import type { DeliveryLogEntry, WebhookDeliveryLog } from './webhook-delivery-log.store.ts';

/** A failed try; the worker's backoff reads `retryAfterMs`. */
export class WebhookDeliveryError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'WebhookDeliveryError';
    this.retryAfterMs = retryAfterMs;
  }
}

export interface WebhookWorkerOptions {
  prefix: string;
  concurrency: number;
  retryScheduleMs: readonly number[];
  jitter: number;
  timeoutMs: number;
  retryAfterCapMs: number;
  secrets: readonly string[];
  /** The secrets of the event's API key, when it has its own (else `secrets` sign). */
  secretsFor?: (keyName: string) => readonly string[] | undefined;
  /** SSRF guard applied to every try; a refused target is dead-lettered at once (retrying cannot help). */
  guard: SsrfGuard;
}

/** The delay before try `attemptsMade + 1`: the schedule's step, ± jitter. */
export function webhookBackoffMs(
  attemptsMade: number,
  schedule: readonly number[],
  jitter: number,
  random: () => number = Math.random,
): number {
  const step = schedule[Math.min(attemptsMade - 1, schedule.length - 1)] ?? 0;
  return Math.max(0, Math.round(step * (1 + jitter * (2 * random() - 1))));
}

/** What one try of one event came to: settled (delivered or dead-lettered), or worth another try. */
type TryOutcome = { kind: 'settled'; summary: string } | { kind: 'retry'; error: WebhookDeliveryError };

/** How many messages' events a relay batch delivers at once (they often share an endpoint). */
const BATCH_PARALLELISM = 16;

export function createWebhookWorker(
  deps: {
    redis: RedisClient;
    keys: RedisKeys;
    deadLetters: DeadLetterStore;
    endpoints: EndpointRegistryStore;
    metrics: Metrics;
    log: Logger;
    now: () => number;
    /** Where each try's answer is kept for the ops console; absent, nothing is kept. */
    deliveryLog?: WebhookDeliveryLog;
    /** Queues the remaining tries of an event whose first try, made from a batch, failed. */
    retry: (item: OutboxItem, priorTries: number, delayMs: number) => Promise<void>;
  },
  connection: RedisClient,
  opts: WebhookWorkerOptions,
): Worker<EventJobData, string, EventJobName> {
  const { metrics, log } = deps;
  const transport = createWebhookTransport();
  const maxTries = opts.retryScheduleMs.length + 1;

  /**
   * Try `tries` of `item`, of at most `allowed`: delivers, dead-letters, or says to try again. In a
   * batch, `batch` gathers the message's delivery-log entries (written once per message after its
   * events) and remembers each endpoint's state for the batch (read once, not once per event).
   */
  async function tryOnce(item: OutboxItem, tries: number, allowed: number, batch?: BatchContext): Promise<TryOutcome> {
    // The log is for humans: a failed write never fails or repeats a delivery.
    const note = async (entry: {
      outcome: DeliveryLogEntry['outcome'];
      status?: number | undefined;
      reason?: string | undefined;
    }): Promise<void> => {
      if (!deps.deliveryLog) return;
      const logged: DeliveryLogEntry = {
        eventId: item.event.id,
        type: item.event.type,
        url: item.url,
        at: new Date(deps.now()).toISOString(),
        try: tries,
        outcome: entry.outcome,
        ...(entry.status !== undefined ? { status: entry.status } : {}),
        ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      };
      if (batch !== undefined) {
        batch.log.push(logged);
        return;
      }
      await deps.deliveryLog
        .record(item.event.data.messageId, logged)
        .catch((err: unknown) => log.warn({ err: (err as Error).message, eventId: item.event.id }, 'webhook delivery log write failed'));
    };
    let endpoint = batch?.endpoints.get(item.url);
    if (endpoint === undefined) {
      endpoint = await deps.endpoints.check(item.url, deps.now());
      batch?.endpoints.set(item.url, endpoint);
    }
    if (endpoint.state === 'disabled') {
      metrics.webhookDeliveries.inc({ result: 'disabled' });
      await note({ outcome: 'disabled', reason: `endpoint disabled since ${endpoint.disabledAt} (${endpoint.reason}): dead-lettered` });
      await deps.deadLetters.add(
        item,
        tries - 1,
        `endpoint disabled since ${endpoint.disabledAt} (${endpoint.reason}); enable it with POST /v1/webhooks/endpoints/enable`,
        deps.now(),
      );
      metrics.webhookDeliveries.inc({ result: 'dead_letter' });
      return { kind: 'settled', summary: 'dead letter (endpoint disabled)' };
    }
    const result = await deliverWebhook(item.url, item.event, {
      secrets: opts.secretsFor?.(item.keyName) ?? opts.secrets,
      timeoutMs: opts.timeoutMs,
      retryAfterCapMs: opts.retryAfterCapMs,
      nowMs: deps.now,
      guard: opts.guard,
      transport,
    });
    if (result.kind === 'success') {
      metrics.webhookDeliveries.inc({ result: 'success' });
      await note({ outcome: 'success', status: result.status });
      return { kind: 'settled', summary: `delivered (${result.status})` };
    }
    if (result.kind === 'gone') {
      batch?.endpoints.delete(item.url);
      await deps.endpoints.disable(item.url, `HTTP ${result.status} Gone`, deps.now());
      metrics.webhookDeliveries.inc({ result: 'disabled' });
      await note({ outcome: 'gone', status: result.status, reason: 'endpoint answered 410 Gone: disabled, event dead-lettered' });
      await deps.deadLetters.add(item, tries, `HTTP ${result.status} Gone: endpoint disabled`, deps.now());
      metrics.webhookDeliveries.inc({ result: 'dead_letter' });
      log.warn({ eventId: item.event.id, keyName: item.keyName }, 'webhook endpoint answered 410 Gone: disabled, event dead-lettered');
      return { kind: 'settled', summary: 'dead letter (endpoint gone)' };
    }
    metrics.webhookDeliveries.inc({ result: 'failure' });
    const status = result.kind === 'failure' ? result.status : undefined;
    if (result.kind === 'forbidden' || tries >= allowed) {
      await note({ outcome: 'dead_letter', status, reason: result.reason });
      await deps.deadLetters.add(item, tries, result.reason, deps.now());
      metrics.webhookDeliveries.inc({ result: 'dead_letter' });
      log.warn({ eventId: item.event.id, messageId: item.event.data.messageId, tries, reason: result.reason }, 'webhook dead-lettered');
      return { kind: 'settled', summary: 'dead letter' };
    }
    await note({ outcome: result.kind, status, reason: result.reason });
    return { kind: 'retry', error: new WebhookDeliveryError(result.reason, result.retryAfterMs) };
  }

  /**
   * First tries of a relay batch; an event that needs another try gets a job of its own. A
   * message's events go out one after another, in the order they were made (receivers still order
   * by `data.sequence`: retries can overtake); different messages' go out side by side.
   */
  async function deliverBatch(items: readonly OutboxItem[]): Promise<string> {
    let settled = 0;
    const endpoints = new Map<string, EndpointCheck>();
    await forEachKeyedLane(
      items,
      (item) => item.event.data.messageId,
      BATCH_PARALLELISM,
      async (group) => {
        const batch: BatchContext = { endpoints, log: [] };
        try {
          for (const item of group) {
            const outcome = await tryOnce(item, 1, maxTries, batch);
            if (outcome.kind === 'settled') settled++;
            else await deps.retry(item, 1, outcome.error.retryAfterMs ?? webhookBackoffMs(1, opts.retryScheduleMs, opts.jitter));
          }
        } finally {
          const messageId = group[0]?.event.data.messageId;
          if (deps.deliveryLog && messageId !== undefined && batch.log.length > 0) {
            await deps.deliveryLog
              .recordAll(messageId, batch.log)
              .catch((err: unknown) => log.warn({ err: (err as Error).message, messageId }, 'webhook delivery log write failed'));
          }
        }
      },
    );
    return `${settled} of ${items.length} settled at the first try`;
  }

  /** What the first tries of one message's events in a batch share. */
  interface BatchContext {
    /** Endpoint states read in this batch (the disabled list changes rarely; a 410 drops its entry). */
    endpoints: Map<string, EndpointCheck>;
    /** The message's delivery-log entries, oldest first, written together after its events. */
    log: DeliveryLogEntry[];
  }

  const worker = new Worker<EventJobData, string, EventJobName>(
    QUEUE_NAMES.events,
    async (job: Job<EventJobData, string, EventJobName>) => {
      const data = job.data;
      if ('items' in data) return deliverBatch(data.items);
      const prior = data.priorTries ?? 0;
      const outcome = await tryOnce(data, prior + job.attemptsMade + 1, prior + (job.opts.attempts ?? 1));
      if (outcome.kind === 'retry') throw outcome.error;
      return outcome.summary;
    },
    {
      connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob) => {
          const data: unknown = job?.data;
          const prior =
            typeof data === 'object' && data !== null && 'priorTries' in data && typeof data.priorTries === 'number' ? data.priorTries : 0;
          return err instanceof WebhookDeliveryError && err.retryAfterMs !== undefined
            ? err.retryAfterMs
            : webhookBackoffMs(prior + attemptsMade, opts.retryScheduleMs, opts.jitter);
        },
      },
    },
  );
  worker.on('closed', () => transport.close());
  return worker;
}

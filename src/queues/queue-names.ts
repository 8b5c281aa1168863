/**
 * Queue names and job payloads (DESIGN §2). Names carry no `:` (BullMQ's key separator); every
 * key lives under the configured prefix. Payloads carry ids, never codes or message text.
 */
import type { DeliveryEvent } from '../../providers/provider.ts';
import type { OutboxItem } from '../domain/events.ts';

export const QUEUE_NAMES = { send: 'send', dlr: 'dlr', events: 'events' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** The pipeline job of one message (job id = message id). */
export interface SendJobData {
  messageId: string;
}

/**
 * The message's deadline watch (pipeline/watch-job.processor.ts): one delayed job per message that
 * reconciles attempts without a final callback, fails an OTP over after its delivery timeout and
 * expires the message, re-delaying itself until the message is terminal. `reads`: the back-off of
 * each attempt's status reads (set by the job itself). Jobs named `expire` (queued by earlier
 * versions) are run the same way.
 */
export interface WatchJobData {
  messageId: string;
  reads?: Record<string, { nextAt: number; gapMs: number }>;
  /** Set while the message is in the stuck index (so only those messages are removed from it). */
  stuck?: boolean;
}

/** The delayed check that falls back from an unacknowledged push (DESIGN §6.3). */
export interface FallbackCheckJobData {
  messageId: string;
  attempt: number;
  ackTimeoutMs: number;
}

/**
 * The send jobs of messages the API admitted at the same moment (queues/send-batcher.ts), run as
 * one job: each member's pipeline runs inside it, and a member that must wait or retry continues
 * in a `send` job of its own (job id = message id).
 */
export interface SendBatchJobData {
  messageIds: string[];
}

export type SendQueueJobName = 'send' | 'send-batch' | 'watch' | 'expire' | 'fallback-check';
export type SendQueueJobData = SendJobData | SendBatchJobData | WatchJobData | FallbackCheckJobData;

/** Verified carrier callbacks, parsed; dates travel as ISO strings. */
export interface DlrJobData {
  receivedAt: string;
  events: Array<Omit<DeliveryEvent, 'occurredAt'> & { occurredAt: string }>;
}

/**
 * An `events` job: one event (`deliver`), or a relay batch of events (`deliver-batch`) whose
 * first tries the worker makes inline, queueing a `deliver` job only for an event that needs
 * another try (`priorTries` = the tries already made). A message makes three or four events; one
 * job per relay batch instead of one per event is most of the lifecycle's queue work saved.
 */
export type EventJobName = 'deliver' | 'deliver-batch';
export type EventJobData = (OutboxItem & { priorTries?: number }) | { items: OutboxItem[] };

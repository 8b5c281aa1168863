/**
 * Queue names and job payloads (DESIGN §2). Names carry no `:` (BullMQ's key separator); every
 * key lives under the configured prefix. Payloads carry ids, never codes or message text.
 */
import type { DeliveryEvent } from '../../providers/provider.ts';

export const QUEUE_NAMES = { send: 'send', dlr: 'dlr', events: 'events' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** The pipeline job of one message (job id = message id). */
export interface SendJobData {
  messageId: string;
}

/** A delayed job that expires the message if nothing was delivered by then. */
export interface ExpireJobData {
  messageId: string;
}

/** The delayed check that falls back from an unacknowledged push (DESIGN §6.3). */
export interface FallbackCheckJobData {
  messageId: string;
  attempt: number;
  ackTimeoutMs: number;
}

export type SendQueueJobName = 'send' | 'expire' | 'fallback-check';
export type SendQueueJobData = SendJobData | ExpireJobData | FallbackCheckJobData;

/** Verified carrier callbacks, parsed; dates travel as ISO strings. */
export interface DlrJobData {
  receivedAt: string;
  events: Array<Omit<DeliveryEvent, 'occurredAt'> & { occurredAt: string }>;
}

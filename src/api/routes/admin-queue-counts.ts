/**
 * Queue depth by state, as `GET /v1/admin/queues` answers it. Kept apart from the Bull Board
 * routes so the CLI and the OpenAPI schemas can use the names without loading the board.
 */
import type { Queue } from 'bullmq';

/**
 * Job states reported per queue: the same set as `switchboard_queue_jobs{state}`. BullMQ 6 keeps
 * the jobs of a paused queue in `waiting`, so "paused" is a flag of the queue, not a state.
 */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** One queue's depth by state (`GET /v1/admin/queues`). */
export interface QueueCounts {
  name: string;
  paused: boolean;
  counts: Record<QueueState, number>;
}

/** Reads every queue's counts and paused flag. */
export async function readQueueCounts(queues: readonly Queue[]): Promise<QueueCounts[]> {
  return Promise.all(
    queues.map(async (q) => {
      const [raw, paused] = await Promise.all([q.getJobCounts(...QUEUE_STATES), q.isPaused()]);
      const counts = Object.fromEntries(QUEUE_STATES.map((s) => [s, raw[s] ?? 0])) as Record<QueueState, number>;
      return { name: q.name, paused, counts };
    }),
  );
}

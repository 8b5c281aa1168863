/**
 * Identifiers (CONTRACTS §1). ULIDs sort by creation time, which the store relies on to list
 * messages newest-first with a lexicographic index and a cursor that never skips ties.
 */
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const POOL_BYTES = 4_096;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/**
 * Cryptographic random bytes, one at a time, from a pool refilled 4 KiB at once. ulid's own
 * generator asks the system for one byte per character (16 `getRandomValues` calls an id), which
 * the API paid for twice a message; the bytes are the same quality, the calls 1/256th as many.
 */
export function pooledRandom(): number {
  if (poolAt >= POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return (pool[poolAt++] as number) / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

export const MESSAGE_ID_RE = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;
export const EVENT_ID_RE = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;

export function newMessageId(now: number = Date.now()): string {
  return `msg_${nextUlid(now)}`;
}

export function newEventId(now: number = Date.now()): string {
  return `evt_${nextUlid(now)}`;
}

/** The job id of a `send-batch` job (queues/send-batcher.ts); no `:`, which BullMQ rejects. */
export function newBatchId(now: number = Date.now()): string {
  return `batch_${nextUlid(now)}`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The smallest (or largest) message id that could have been created at `ms`, for time-bounded
 * range queries over the lexicographic index.
 */
export function messageIdBoundAt(ms: number, edge: 'low' | 'high'): string {
  let t = Math.max(0, Math.floor(ms));
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = (CROCKFORD[t % 32] as string) + time;
    t = Math.floor(t / 32);
  }
  return `msg_${time}${(edge === 'low' ? '0' : 'Z').repeat(16)}`;
}

/** Follow-up job ids (CONTRACTS §1): BullMQ rejects `:` in ids, so parts are joined with dots. */
export const jobIds = {
  send: (messageId: string): string => messageId,
  attempt: (messageId: string, n: number): string => `${messageId}.attempt.${n}`,
  fallback: (messageId: string, n: number): string => `${messageId}.fallback.${n}`,
};

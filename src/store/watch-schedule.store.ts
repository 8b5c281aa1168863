/**
 * Each open message's next deadline (CONTRACTS §4 "Never stuck"), as one sorted-set entry instead of
 * one delayed BullMQ job a message. A delayed job costs about twelve Redis commands to add, and as
 * many again to fire and to remove; the entry costs one ZADD inside the intake call, and a firing
 * shares one claim call with every other watch due in the same poll.
 *
 * Claiming is a lease, not a removal: the claim moves a due entry's score to `leaseUntil`, so a
 * worker killed mid-firing leaves the entry to come due again when the lease ends, and two workers
 * never fire the same watch at once. Each firing then sets the next deadline or removes the entry;
 * the message commit that makes a message final removes it too (lua/commit.lua).
 */
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';

/**
 * A watch due this long ago and not fired is overdue (`switchboard_watches{state="overdue"}`): a
 * poll runs every 100 ms, so this means no worker is firing watches.
 */
export const WATCH_OVERDUE_MS = 30_000;

/** What a watch carries from one firing to the next (read back-off per attempt, stuck flag, failed tries). */
export interface WatchState {
  reads?: Record<string, { nextAt: number; gapMs: number }>;
  /** Set while the message is in the stuck index (so only those messages are removed from it). */
  stuck?: boolean;
  /** Firings in a row that threw (Redis trouble): the next try backs off. */
  failures?: number;
}

/** One claimed watch: the message and its carried state. */
export interface ClaimedWatch {
  messageId: string;
  state: WatchState;
}

// KEYS 1 due ZSET, 2 state HASH; ARGV 1 now, 2 lease until, 3 limit.
const CLAIM_LUA = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
if #ids == 0 then return {} end
local out = {}
local states = redis.call('HMGET', KEYS[2], unpack(ids))
for i, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  out[#out + 1] = id
  out[#out + 1] = states[i] or ''
end
return out
`;

// KEYS 1 due ZSET, 2 state HASH; ARGV 1 message id, 2 next due, 3 state JSON ('' for none).
// Only a watch still scheduled is moved: one ended meanwhile (its message settled) stays ended.
const RESCHEDULE_LUA = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[1]) else redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
return 1
`;

type ScheduleRedis = RedisClient & {
  sbWatchClaim(due: string, state: string, now: number, leaseUntil: number, limit: number): Promise<string[]>;
  sbWatchReschedule(due: string, state: string, messageId: string, at: number, stateJson: string): Promise<number>;
};

export class WatchSchedule {
  private readonly redis: ScheduleRedis;
  private readonly keys: Pick<RedisKeys, 'watchDue' | 'watchState'>;

  constructor(redis: RedisClient, keys: Pick<RedisKeys, 'watchDue' | 'watchState'>) {
    const r = redis as ScheduleRedis;
    if (typeof r.sbWatchClaim !== 'function') {
      r.defineCommand('sbWatchClaim', { numberOfKeys: 2, lua: CLAIM_LUA });
      r.defineCommand('sbWatchReschedule', { numberOfKeys: 2, lua: RESCHEDULE_LUA });
    }
    this.redis = r;
    this.keys = keys;
  }

  /**
   * Sets a watch due at `atMs` unless the message has one already (the sweeper re-adds watches of
   * messages it re-queues; an existing deadline, or a lease, stays as it is).
   */
  async ensure(messageId: string, atMs: number): Promise<void> {
    await this.redis.zadd(this.keys.watchDue, 'NX', Math.round(atMs), messageId);
  }

  /**
   * Claims up to `limit` watches due by `now`, each leased until `leaseUntil` (then it comes due
   * again unless its firing reschedules or ends it).
   */
  async claimDue(now: number, leaseUntil: number, limit: number): Promise<ClaimedWatch[]> {
    const flat = await this.redis.sbWatchClaim(this.keys.watchDue, this.keys.watchState, Math.round(now), Math.round(leaseUntil), limit);
    const out: ClaimedWatch[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const text = flat[i + 1] ?? '';
      out.push({ messageId: String(flat[i]), state: text === '' ? {} : (JSON.parse(text) as WatchState) });
    }
    return out;
  }

  /**
   * The next deadline of a claimed watch, with the state its next firing needs. A watch that was
   * ended meanwhile (the message settled) is not brought back, and keeps no state.
   */
  async reschedule(messageId: string, atMs: number, state: WatchState): Promise<void> {
    const text = Object.keys(state).length > 0 ? JSON.stringify(state) : '';
    await this.redis.sbWatchReschedule(this.keys.watchDue, this.keys.watchState, messageId, Math.round(atMs), text);
  }

  /** Ends a message's watch (its firing found it final, or a callback settled it). */
  async end(messageId: string): Promise<void> {
    await Promise.all([this.redis.zrem(this.keys.watchDue, messageId), this.redis.hdel(this.keys.watchState, messageId)]);
  }

  /** Watches scheduled in all, and those due before `overdueBefore` (leased ones count as not due). */
  async counts(overdueBefore: number): Promise<{ scheduled: number; overdue: number }> {
    const [scheduled, overdue] = await Promise.all([
      this.redis.zcard(this.keys.watchDue),
      this.redis.zcount(this.keys.watchDue, '-inf', Math.round(overdueBefore)),
    ]);
    return { scheduled, overdue };
  }

  /** When the message's watch is next due (or leased until), ms; undefined when it has none. */
  async dueAt(messageId: string): Promise<number | undefined> {
    const score = await this.redis.zscore(this.keys.watchDue, messageId);
    return score === null ? undefined : Number(score);
  }
}

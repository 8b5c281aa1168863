/**
 * The ack evidence of each push token (domain/ack-posterior.ts), one small hash per token:
 * `t` last update (ms), `a` decayed acks, `m` decayed misses (ack timeouts), `s` pushes skipped
 * since the last push. The key holds an HMAC of the token under its own HKDF subkey, never the
 * token: a registration token identifies a device.
 *
 * Costs: the push-skip stage reads it (one HMGET) only for a message whose next rung is push; a
 * predicted skip adds one HINCRBY to the send's next commit (no round trip of its own); acks and
 * ack timeouts write it after their own compare-and-set, off the send path.
 */
import { createHmac } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { AckEvidence } from '../domain/ack-posterior.ts';
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';

/** Decays a token's evidence to now, adds one ack (ARGV[3]) or miss (ARGV[4]), and ends the run of skips. */
const OUTCOME_LUA = `
local now = tonumber(ARGV[1]); local hl = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 't', 'a', 'm')
local t = tonumber(v[1]) or now
local d = math.pow(0.5, math.max(0, now - t) / hl)
local a = (tonumber(v[2]) or 0) * d + tonumber(ARGV[3])
local m = (tonumber(v[3]) or 0) * d + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 't', math.max(now, t), 'a', tostring(a), 'm', tostring(m), 's', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1`;

type RedisWithOutcome = RedisClient & {
  sbPushOutcome(key: string, now: number, halfLifeMs: number, ack: number, miss: number, ttlSeconds: number): Promise<number>;
};

export interface PushAckPosteriorOptions {
  /** Half-life of the evidence (`push.prediction.halfLifeMs`). */
  halfLifeMs: number;
  /** Key lifetime after the last write (`push.prediction.retentionSeconds`). */
  retentionSeconds: number;
}

export class PushAckPosteriorStore {
  private readonly redis: RedisWithOutcome;
  private readonly keys: RedisKeys;
  private readonly tokenKey: Buffer;
  private readonly opts: PushAckPosteriorOptions;

  /** `tokenKey`: the `push-token-hmac` subkey. */
  constructor(redis: RedisClient, keys: RedisKeys, tokenKey: Buffer, opts: PushAckPosteriorOptions) {
    const r = redis as RedisWithOutcome;
    if (typeof r.sbPushOutcome !== 'function') r.defineCommand('sbPushOutcome', { lua: OUTCOME_LUA, numberOfKeys: 1 });
    this.redis = r;
    this.keys = keys;
    this.tokenKey = tokenKey;
    this.opts = opts;
  }

  /** The Redis key of a token's evidence. */
  keyOf(token: string): string {
    return this.keys.pushAckPosterior(createHmac('sha256', this.tokenKey).update(token).digest('base64url'));
  }

  /** The token's evidence as stored (undecayed), or undefined when it has none. One HMGET. */
  async read(token: string): Promise<AckEvidence | undefined> {
    const [t, a, m, s] = await this.redis.hmget(this.keyOf(token), 't', 'a', 'm', 's');
    if (t === null || t === undefined) return undefined;
    return { at: Number(t), acks: Number(a ?? 0), misses: Number(m ?? 0), skips: Number(s ?? 0) };
  }

  /** One more predicted skip, queued into a caller's pipeline (the send's next commit). */
  queueSkip(p: ChainableCommander, token: string): void {
    const key = this.keyOf(token);
    p.hincrby(key, 's', 1).expire(key, this.opts.retentionSeconds);
  }

  /** A push to this token was acknowledged (`acked`) or timed out. */
  async recordOutcome(token: string, acked: boolean, now: number): Promise<void> {
    await this.redis.sbPushOutcome(this.keyOf(token), now, this.opts.halfLifeMs, acked ? 1 : 0, acked ? 0 : 1, this.opts.retentionSeconds);
  }
}

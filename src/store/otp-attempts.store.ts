/**
 * Verification attempts of OTP codes (CONTRACTS §3 `POST /v1/messages/:id/verify`). The count of
 * wrong codes and the "already verified" flag live in one Redis hash per message, moved by one Lua
 * call per guess: with many API processes and concurrent guesses, the lock still falls after
 * exactly `max` wrong codes, and a code is accepted at most once.
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';

const OTP_ATTEMPT_LUA = readFileSync(new URL('./lua/otp-attempt.lua', import.meta.url), 'utf8');

/** The outcome of one guess: `attemptsLeft` is how many more wrong codes are accepted. */
export type OtpAttemptOutcome =
  { result: 'valid' } | { result: 'invalid'; attemptsLeft: number } | { result: 'locked' } | { result: 'already' };

type RedisWithScript = RedisClient & {
  sbOtpAttempt(key: string, matched: string, max: number, expireAtMs: number): Promise<[string, number]>;
};

/** Attempt counting per message code, one Lua call per guess. */
export class OtpAttemptStore {
  private readonly redis: RedisWithScript;
  private readonly keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    const r = redis as RedisWithScript;
    if (typeof r.sbOtpAttempt !== 'function') r.defineCommand('sbOtpAttempt', { lua: OTP_ATTEMPT_LUA, numberOfKeys: 1 });
    this.redis = r;
    this.keys = keys;
  }

  /**
   * Records one guess whose match was decided by the caller (constant-time, over HMACs).
   * `expireAtMs`: when the state may go (after the code's expiry; the message keeps `verifiedAt`).
   */
  async attempt(messageId: string, matched: boolean, max: number, expireAtMs: number): Promise<OtpAttemptOutcome> {
    const [result, left] = await this.redis.sbOtpAttempt(this.keys.otpAttempts(messageId), matched ? '1' : '0', max, Math.ceil(expireAtMs));
    if (result === 'valid' || result === 'locked' || result === 'already') return { result };
    return { result: 'invalid', attemptsLeft: Math.max(0, Number(left)) };
  }
}

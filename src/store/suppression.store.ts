/**
 * The opt-out suppression list: numbers that replied STOP (or that a carrier refused as
 * unsubscribed, Twilio 21610) are refused at admission with `422 SB_POLICY_OPTED_OUT` until they
 * reply START.
 *
 * Keyed by the phone's HMAC token (src/security/hmac.ts `phoneToken`), never the number: the list
 * outlives every message, so it must not hold numbers in clear (PII at rest). One key per number
 * (`<prefix>:optout:<token>`) so admission checks it inside the intake Lua call with one `EXISTS`,
 * atomically with the other admission checks.
 *
 * Scope: per number, across every API key and sender. Switchboard sends every key's traffic from
 * the same carrier senders, and carriers enforce a STOP per sender for all traffic from it (Twilio
 * then refuses with 21610), so a per-key list would only let other keys burn attempts into that
 * refusal; and "stop texting me" from a person is not addressed to one upstream service.
 */
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';

/** What put a number on the list (no number in it). */
export interface SuppressionEntry {
  /** `inbound` (a STOP keyword) or `carrier` (a send refused as unsubscribed). */
  source: 'inbound' | 'carrier';
  provider: string;
  /** The keyword, or the carrier's error code. */
  detail: string;
  at: string;
}

/** The suppression list, one Redis string per suppressed phone token. */
export class SuppressionStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** The key admission checks for `token` (see intake.lua). */
  keyOf(token: string): string {
    return this.keys.optOut(token);
  }

  /** Adds (or refreshes) the number's entry. No expiry: an opt-out lasts until START. */
  async suppress(token: string, entry: SuppressionEntry): Promise<void> {
    await this.redis.set(this.keys.optOut(token), JSON.stringify(entry));
  }

  /** Lifts the opt-out (START). Resolves whether the number was suppressed. */
  async lift(token: string): Promise<boolean> {
    return (await this.redis.del(this.keys.optOut(token))) === 1;
  }

  async get(token: string): Promise<SuppressionEntry | undefined> {
    const raw = await this.redis.get(this.keys.optOut(token));
    return raw === null ? undefined : (JSON.parse(raw) as SuppressionEntry);
  }
}

/**
 * Where the signing secrets come from: `SWITCHBOARD_WEBHOOK_SECRET` when set; in sandbox mode,
 * a secret generated once and stored in Redis (`SET NX`) so every api and worker process signs
 * with the same one — printed once, by the process that created it.
 */
import type { Redis } from 'ioredis';
import { generateWebhookSecret, parseWebhookSecrets } from './webhook-signer.ts';

export interface ResolvedSecrets {
  secrets: string[];
  /** True when this process generated the sandbox secret (so it should print it). */
  generated: boolean;
}

export async function resolveWebhookSecrets(opts: { configured?: string; mode: 'sandbox' | 'live'; redis: Redis; redisKey: string }): Promise<ResolvedSecrets> {
  if (opts.configured !== undefined) return { secrets: parseWebhookSecrets(opts.configured), generated: false };
  const created = await opts.redis.set(opts.redisKey, generateWebhookSecret(), 'NX');
  const stored = await opts.redis.get(opts.redisKey);
  if (stored === null) throw new Error('could not read the sandbox webhook secret back from Redis');
  return { secrets: [stored], generated: created === 'OK' };
}

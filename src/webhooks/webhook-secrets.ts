/**
 * Where the signing secrets come from: `SWITCHBOARD_WEBHOOK_SECRET` when set; in sandbox mode,
 * a secret generated once and stored in Redis (`SET NX`) so every api and worker process signs
 * with the same one — printed once, by the process that created it. Live mode never generates
 * one (the config loader refuses to start without it).
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { ApiKeyRecord } from '../config/config.schema.ts';
import { generateWebhookSecret, parseWebhookSecrets } from './webhook-signer.ts';

export interface ResolvedSecrets {
  secrets: string[];
  /** True when this process generated the sandbox secret (so it should print it). */
  generated: boolean;
}

export async function resolveWebhookSecrets(opts: {
  configured?: string;
  mode: 'sandbox' | 'live';
  redis: RedisClient;
  redisKey: string;
}): Promise<ResolvedSecrets> {
  if (opts.configured !== undefined) return { secrets: parseWebhookSecrets(opts.configured), generated: false };
  if (opts.mode === 'live')
    throw new Error('SWITCHBOARD_WEBHOOK_SECRET is required in live mode; set it to a whsec_… secret your receivers know');
  const created = await opts.redis.set(opts.redisKey, generateWebhookSecret(), 'NX');
  const stored = await opts.redis.get(opts.redisKey);
  if (stored === null) throw new Error('could not read the sandbox webhook secret back from Redis');
  return { secrets: [stored], generated: created === 'OK' };
}

/**
 * Per-key signing secrets (config/keys.yaml `webhookSecretsEnv`): each upstream verifies with its
 * own secret, so one leaked receiver secret cannot forge another tenant's events. Keys without
 * their own secrets answer undefined and are signed with the global ones.
 */
export function webhookSecretsByKey(keys: readonly ApiKeyRecord[]): (keyName: string) => readonly string[] | undefined {
  const byName = new Map(keys.filter((k) => k.webhookSecrets !== undefined).map((k) => [k.name, k.webhookSecrets as readonly string[]]));
  return (keyName) => byName.get(keyName);
}

/**
 * Lookup stage (DESIGN §6.2): what kind of number this is, before anything is sent. Cached per
 * phone token (line type for days, SIM swap for an hour) and governed by the key's policy
 * (`always | first-contact | never`), because a lookup costs about as much as an SMS. A lookup
 * that fails degrades to "unknown" and the message goes on: a lost OTP is worse than an unchecked one.
 */
import { isProviderError } from '../../providers/index.ts';
import type { NumberInfo, ProviderId } from '../../providers/provider.ts';
import { maskPhonesInText } from '../domain/mask.ts';
import type { LookupResult, MessageRecord } from '../domain/message.ts';
import { phoneToken } from '../security/hmac.ts';
import type { LookupCache } from '../store/lookup-cache.store.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

export type LookupDeps = Pick<PipelineDeps, 'config' | 'adapters' | 'keyRing' | 'metrics' | 'log' | 'now'> & { lookupCache: LookupCache };

function swappedWithin(info: NumberInfo['simSwap'] | null | undefined, windowSeconds: number, now: number): boolean {
  if (!info) return false;
  if (info.swappedWithinSeconds !== undefined) return info.swappedWithinSeconds <= windowSeconds;
  if (info.lastSwapAt !== undefined) return now - Date.parse(info.lastSwapAt) <= windowSeconds * 1000;
  return false;
}

function resultLabel(r: Pick<LookupResult, 'valid' | 'lineType'>): 'valid' | 'invalid' | 'landline' | 'unknown' {
  if (!r.valid) return 'invalid';
  if (r.lineType === 'landline') return 'landline';
  if (r.lineType === 'unknown') return 'unknown';
  return 'valid';
}

/** Looks the message's number up (or reads the cache); undefined when the policy says never or no provider can. */
export async function lookupNumber(deps: LookupDeps, msg: MessageRecord): Promise<LookupResult | undefined> {
  const policy = msg.policy?.lookup ?? 'first-contact';
  if (policy === 'never') return undefined;
  const provider: ProviderId = deps.config.lookup.provider;
  const adapter = deps.adapters.get(provider);
  if (!adapter?.lookup) return undefined;
  const now = deps.now();
  const token = phoneToken(deps.keyRing, msg.to);
  const cached = await deps.lookupCache.get(token);
  const window = deps.config.lookup.simSwapWindowSeconds;
  const fresh = policy === 'first-contact' ? cached.line !== undefined : cached.line !== undefined && cached.swap !== undefined;
  if (fresh && cached.line) {
    const r: LookupResult = {
      provider: cached.line.provider,
      cache: 'hit',
      valid: cached.line.info.valid,
      lineType: cached.line.info.lineType,
      ...(cached.line.info.ported !== undefined ? { ported: cached.line.info.ported } : {}),
      ...(cached.line.info.roaming !== undefined ? { roaming: cached.line.info.roaming } : {}),
      simSwapped: swappedWithin(cached.swap?.simSwap, window, now),
    };
    deps.metrics.lookups.inc({ provider: r.provider, result: resultLabel(r), cache: 'hit' });
    return r;
  }
  let info: NumberInfo;
  try {
    info = await withTimeout(adapter.lookup(msg.to), deps.config.lookup.timeoutMs);
  } catch (err) {
    deps.metrics.lookups.inc({ provider, result: 'error', cache: 'miss' });
    // Carrier messages may quote the number (a lookup URL holds it): masked before it is logged or kept.
    const reason = maskPhonesInText(isProviderError(err) ? `${err.kind}: ${err.message}` : (err as Error).message);
    deps.log.warn({ provider, err: reason }, 'lookup failed; sending without it');
    return { provider, cache: 'miss', valid: true, lineType: 'unknown', error: reason.slice(0, 200) };
  }
  await deps.lookupCache.put(token, provider, info, now);
  const r: LookupResult = {
    provider,
    cache: 'miss',
    valid: info.valid,
    lineType: info.lineType,
    ...(info.ported !== undefined ? { ported: info.ported } : {}),
    ...(info.roaming !== undefined ? { roaming: info.roaming } : {}),
    simSwapped: swappedWithin(info.simSwap, window, now),
  };
  deps.metrics.lookups.inc({ provider, result: resultLabel(r), cache: 'miss' });
  const cost = info.cost?.currency === 'USD' ? info.cost.amount : deps.config.lookup.costUsd;
  deps.metrics.costUsd.inc({ provider, country: msg.country || 'ZZ', kind: 'lookup' }, cost);
  return r;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`lookup timed out after ${ms} ms`)), ms))),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

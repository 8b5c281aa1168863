/**
 * Route stage (DESIGN §6.4): gathers the router's inputs — candidates from routing.yaml, prices
 * and volume tiers, live health, breaker states — and asks the pure router for a ranking. The
 * decision with all its inputs is stored on the message.
 */
import type { Channel, ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { Config } from '../config/config.schema.ts';
import type { BreakerRegistry } from '../resilience/breaker-registry.ts';
import type { HealthStore, TierCounter } from '../routing/health.store.ts';
import { isPricedChannel, listPrice, tierDiscount, tierMonth } from '../routing/price-book.ts';
import { route, type RouteResult } from '../routing/router.ts';
import { channelProviders } from '../routing/channel-providers.ts';

export interface RouteStageDeps {
  config: Config;
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  health: HealthStore;
  tiers: TierCounter;
  breakers: BreakerRegistry;
  now: () => number;
}

export async function planRoute(
  deps: RouteStageDeps,
  channel: Channel,
  country: string,
  avoid: ReadonlySet<ProviderId> = new Set(),
): Promise<RouteResult> {
  const now = deps.now();
  const order = channelProviders(channel, country, deps.config, deps.adapters);
  const [health, counts] = await Promise.all([deps.health.snapshot(order, country, now), deps.tiers.counts(order, tierMonth(now), now)]);
  await deps.breakers.refresh();
  const result = route({
    channel,
    country,
    order,
    minSamples: deps.config.health.minSamples,
    // SMS per segment, WhatsApp per message (pricing.yaml `channels`); push, voice (per minute) and
    // RCS (per conversation) are not modelled yet and route by health and order alone.
    priced: isPricedChannel(deps.config.pricing, channel),
    conversion: deps.config.routing.conversion,
    candidates: order.map((provider) => {
      const b = deps.breakers.status(provider, channel);
      return {
        provider,
        price: listPrice(deps.config.pricing, provider, country, channel),
        // Volume tiers are the SMS contracts' (segments); other channels' prices are per message.
        discount: channel === 'sms' ? tierDiscount(deps.config.pricing.tiers[provider], counts.get(provider) ?? 0) : 0,
        health: health.get(provider) ?? { errorRate: 0, dlrSuccess: 1, dlrP50Ms: 0, samples: 0 },
        breakerOpen: b.state === 'open',
        ...(b.state === 'open' ? { halfOpenInMs: b.halfOpenInMs } : {}),
      };
    }),
  });
  if (result.kind !== 'ok') return result;
  // A half-open provider goes first so the probe that can close its breaker is actually sent
  // (one at a time across workers; if it fails the job fails over at once). Providers that
  // already failed this message go last: another carrier first, the same one only as a last resort.
  const halfOpen = (p: ProviderId): boolean => deps.breakers.status(p, channel).state === 'half_open';
  const fresh = result.ranked.filter((p) => !avoid.has(p));
  const ranked = [...fresh.filter(halfOpen), ...fresh.filter((p) => !halfOpen(p)), ...result.ranked.filter((p) => avoid.has(p))];
  return { ...result, ranked };
}

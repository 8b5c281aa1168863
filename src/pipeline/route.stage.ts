/**
 * Route stage (DESIGN §6.4), first slice: candidates for a channel in the configured order,
 * skipping providers that are not enabled. Price and health scoring replace the order later;
 * the decision is already recorded in the CONTRACTS §3 `routing` shape.
 */
import type { Channel, ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { Config } from '../config/config.schema.ts';
import type { RoutingDecision } from '../domain/message.ts';

export function routeCandidates(channel: Channel, config: Config, adapters: ReadonlyMap<ProviderId, ProviderAdapter>): ProviderId[] {
  const order: readonly ProviderId[] = channel === 'sms' ? config.routing.sms : [];
  return order.filter((id) => adapters.get(id)?.channels.includes(channel) === true);
}

export function routingDecision(channel: Channel, config: Config, adapters: ReadonlyMap<ProviderId, ProviderAdapter>): RoutingDecision | undefined {
  const order: readonly ProviderId[] = channel === 'sms' ? config.routing.sms : [];
  const usable = routeCandidates(channel, config, adapters);
  const first = usable[0];
  if (first === undefined) return undefined;
  return {
    provider: first,
    reason: 'configured_order',
    candidates: order.map((provider) => (usable.includes(provider) ? { provider } : { provider, excluded: 'disabled' })),
  };
}

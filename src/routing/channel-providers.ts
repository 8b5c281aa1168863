/**
 * Which carriers may carry a channel to a country: routing.yaml's list for the country (or the
 * channel's default list), in tie-break order, kept to the carriers enabled in this process.
 *
 * In routing/ rather than the route stage, because admission (is the channel routable at all?),
 * the console and several pipeline stages ask it, and none of them may import a peer stage's
 * module for it (layering, DESIGN §3).
 */
import type { Channel, ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { Config } from '../config/config.schema.ts';

type RoutedChannel = keyof Config['routing']['channels'];

function isRoutedChannel(config: Config, channel: Channel): channel is Channel & RoutedChannel {
  return Object.hasOwn(config.routing.channels, channel);
}

/** The providers routing.yaml allows for a channel and country, in tie-break order, that are enabled here. */
export function channelProviders(
  channel: Channel,
  country: string,
  config: Config,
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>,
): ProviderId[] {
  if (!isRoutedChannel(config, channel)) return [];
  const route = config.routing.channels[channel];
  const order = route.countries[country] ?? route.providers;
  return order.filter((id) => adapters.get(id)?.channels.includes(channel) === true);
}

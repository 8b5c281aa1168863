/**
 * The configuration a provider's adapter is built with, read from the gateway configuration
 * through the registry: one rule for every carrier, so an option a provider's schema declares can
 * never be dropped on its way to the adapter (src/config/provider-settings.test.ts checks each).
 */
import { adapterConfigOf, providerRegistry } from '../../providers/index.ts';
import type { AnyProviderModule, ProviderId } from '../../providers/provider.ts';
import type { Config } from './config.schema.ts';

/**
 * `id`'s section of `config`, without `enabled`, validated by the provider's own schema (defaults
 * applied): exactly what `createProviders` hands its adapter. Throws naming the section when the
 * provider's schema refuses it.
 */
export function providerConfigOf(config: Config, id: ProviderId): unknown {
  const module: AnyProviderModule = providerRegistry.require(id);
  return adapterConfigOf(module, config.providers[id]);
}

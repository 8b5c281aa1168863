/**
 * Prices per segment (USD) by provider and country, with regional defaults, and monthly volume
 * tiers (DESIGN §6.4). Pure: the tier counter is read by the caller.
 */
import type { Channel, ProviderId } from '../../providers/provider.ts';

export type Region = 'na' | 'eu' | 'apac' | 'default';

export interface ProviderPrices {
  na?: number;
  eu?: number;
  apac?: number;
  default?: number;
  countries?: Record<string, number>;
}

export interface TierStep {
  /** Accepted segments this UTC month from which the discount applies (to the marginal message). */
  from: number;
  discount: number;
}

export interface PricingTable {
  regions: Record<string, Region>;
  /** SMS: USD per segment. */
  prices: Partial<Record<ProviderId, ProviderPrices>>;
  tiers: Partial<Record<ProviderId, TierStep[]>>;
  /**
   * Other channels priced per message (USD), per provider, in the same shape as `prices`: WhatsApp
   * (Meta's authentication rate per country plus the carrier's fee). A channel not listed routes by
   * health and order alone.
   */
  channels?: Partial<Record<Channel, Partial<Record<ProviderId, ProviderPrices>>>>;
}

/** Whether a channel's sends are priced: SMS always, others when the price book lists them. */
export function isPricedChannel(pricing: PricingTable, channel: Channel): boolean {
  return channel === 'sms' || (pricing.channels !== undefined && Object.hasOwn(pricing.channels, channel));
}

export function regionOf(pricing: PricingTable, country: string): Region {
  return pricing.regions[country] ?? 'default';
}

/**
 * The list price of one SMS segment (or one message of another priced channel), or undefined when
 * the provider has no price for the channel and country.
 */
export function listPrice(pricing: PricingTable, provider: ProviderId, country: string, channel: Channel = 'sms'): number | undefined {
  const p = channel === 'sms' ? pricing.prices[provider] : pricing.channels?.[channel]?.[provider];
  if (!p) return undefined;
  return p.countries?.[country] ?? p[regionOf(pricing, country)] ?? p.default;
}

/**
 * The discount on the next (marginal) segment: once `from` segments were accepted this month,
 * every further one gets the step's discount.
 */
export function tierDiscount(steps: readonly TierStep[] | undefined, acceptedThisMonth: number): number {
  let discount = 0;
  for (const s of steps ?? []) if (acceptedThisMonth >= s.from && s.discount > discount) discount = s.discount;
  return discount;
}

/** The tier counter's month key: UTC `YYYY-MM`. */
export function tierMonth(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 7);
}

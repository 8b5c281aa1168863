/**
 * What the console's carriers page shows, read live: each provider×channel breaker as the fleet
 * sees it (the shared open signal in Redis), the health routing scores with per provider×country,
 * the route each country takes right now (the route stage itself, so the page cannot disagree
 * with the workers), and today's spend.
 *
 * Spend is summed from the attempts of the messages created today (UTC), reading at most
 * {@link SPEND_SCAN_LIMIT} of them: the gateway keeps no daily spend counter (the send path would
 * have to write one), and `switchboard_cost_usd_total` lives in each worker's memory.
 */
import type { Channel, ProviderAdapter, ProviderId } from '../../../providers/provider.ts';
import type { Config } from '../../config/config.schema.ts';
import type { MessageRecord } from '../../domain/message.ts';
import { planRoute } from '../../pipeline/route.stage.ts';
import type { BreakerRegistry, BreakerStatus } from '../../resilience/breaker-registry.ts';
import type { HealthStore, ObservedHealth, TierCounter } from '../../routing/health.store.ts';
import type { RouteResult } from '../../routing/router.ts';
import type { MessageStore } from '../../store/message.store.ts';

/** Most of today's messages read to sum spend (newest first). */
export const SPEND_SCAN_LIMIT = 5_000;

export interface CarriersDeps {
  config: Config;
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  health: HealthStore;
  tiers: TierCounter;
  breakers: BreakerRegistry;
  store: MessageStore;
  now: () => number;
}

export interface BreakerRow {
  provider: ProviderId;
  channel: Channel;
  status: BreakerStatus;
}

export interface RouteRow {
  channel: Channel;
  country: string;
  result: RouteResult;
}

export interface SpendRow {
  provider: string;
  country: string;
  currency: string;
  amount: number;
  attempts: number;
}

export interface CarriersView {
  at: number;
  countries: string[];
  breakers: BreakerRow[];
  health: ObservedHealth[];
  routes: RouteRow[];
  spend: { since: number; rows: SpendRow[]; totals: Array<{ currency: string; amount: number }>; messages: number; capped: boolean };
}

/** Midnight UTC of the day of `ms`. */
export function utcDayStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** Sums attempt costs per provider×country×currency (pure). */
export function sumSpend(messages: readonly MessageRecord[]): SpendRow[] {
  const rows = new Map<string, SpendRow>();
  for (const m of messages) {
    for (const a of m.attempts) {
      if (!a.cost) continue;
      const country = m.country || 'ZZ';
      const k = `${a.provider}|${country}|${a.cost.currency}`;
      const row = rows.get(k) ?? { provider: a.provider, country, currency: a.cost.currency, amount: 0, attempts: 0 };
      row.amount += a.cost.amount;
      row.attempts += 1;
      rows.set(k, row);
    }
  }
  return [...rows.values()]
    .map((r) => ({ ...r, amount: Math.round(r.amount * 1e6) / 1e6 }))
    .sort((a, b) => b.amount - a.amount || a.provider.localeCompare(b.provider) || a.country.localeCompare(b.country));
}

function routedChannels(config: Config): Channel[] {
  return Object.keys(config.routing.channels) as Channel[];
}

/** Reads everything the carriers page shows. `extraCountries` come from the page's query. */
export async function readCarriers(deps: CarriersDeps, extraCountries: readonly string[]): Promise<CarriersView> {
  const now = deps.now();
  const since = utcDayStart(now);
  await deps.breakers.refresh(true);
  const today = await deps.store.list({ sinceMs: since, limit: SPEND_SCAN_LIMIT, maxScan: SPEND_SCAN_LIMIT });
  const spendRows = sumSpend(today.items);
  const totals = new Map<string, number>();
  for (const r of spendRows) totals.set(r.currency, (totals.get(r.currency) ?? 0) + r.amount);

  const providers = [...deps.adapters.values()];
  const countries = new Set<string>(extraCountries);
  for (const m of today.items) countries.add(m.country || 'ZZ');
  for (const ch of routedChannels(deps.config))
    for (const c of Object.keys(deps.config.routing.channels[ch as keyof Config['routing']['channels']].countries)) countries.add(c);
  for (const p of providers) for (const c of await deps.health.countriesWithErrors(p.id)) countries.add(c);
  if (countries.size === 0) countries.add('US');
  const countryList = [...countries].sort();

  const breakers: BreakerRow[] = providers.flatMap((a) =>
    a.channels.map((channel) => ({ provider: a.id, channel, status: deps.breakers.status(a.id, channel) })),
  );
  // Health is kept per provider×country for carriers that send (every channel but lookups).
  const senders = providers.filter((a) => a.channels.length > 0).map((a) => a.id);
  const health = await deps.health.observed(
    senders.flatMap((provider) => countryList.map((country) => ({ provider, country }))),
    now,
  );
  const routes: RouteRow[] = [];
  for (const channel of routedChannels(deps.config)) {
    for (const country of countryList) {
      const result = await planRoute(
        { config: deps.config, adapters: deps.adapters, health: deps.health, tiers: deps.tiers, breakers: deps.breakers, now: deps.now },
        channel,
        country,
      );
      if (result.decision.candidates.length > 0) routes.push({ channel, country, result });
    }
  }
  return {
    at: now,
    countries: countryList,
    breakers,
    health,
    routes,
    spend: {
      since,
      rows: spendRows,
      totals: [...totals].map(([currency, amount]) => ({ currency, amount: Math.round(amount * 1e6) / 1e6 })),
      messages: today.items.length,
      capped: today.nextCursor !== null && today.items.length >= SPEND_SCAN_LIMIT,
    },
  };
}
